import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** One file `install` writes: where, with what, and its mode. */
export interface InstallFile {
  path: string;
  content: Buffer;
  mode: number;
  what: string;
}

export const MANIFEST = 'var/lib/directflip/install-manifest.json';

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** The package root: where bin/, dist/, hooks/ and data/ are. */
export function packageRoot(): string {
  for (const up of ['../..', '../../..']) {
    const d = resolve(__dirname, up);
    if (existsSync(join(d, 'hooks', 'qemu')) && existsSync(join(d, 'data'))) return d;
  }
  throw new Error(`cannot find directflip's hooks/ and data/ above ${__dirname}`);
}

/**
 * What `install` would write under `prefix` (mdevctl-style plan/apply split): the hook shim,
 * the systemd unit, the D-Bus policy and the activation file, with this node's and this
 * package's absolute paths filled in.
 */
export function installPlan(prefix: string, node = process.execPath, home = packageRoot()): InstallFile[] {
  const fill = (f: string) =>
    Buffer.from(readFileSync(join(home, f), 'utf8').replace(/@NODE@/g, node).replace(/@HOME@/g, home).replace(/@PROTECT_HOME@/g, protectHome(node, home)));
  return [
    { path: join(prefix, 'etc/libvirt/hooks/qemu.d/50-directflip'), content: fill('hooks/qemu'), mode: 0o755, what: 'libvirt qemu hook' },
    { path: join(prefix, 'etc/systemd/system/directflipd.service'), content: fill('data/directflipd.service'), mode: 0o644, what: 'systemd unit' },
    { path: join(prefix, 'etc/dbus-1/system.d/io.github.directflip1.conf'), content: fill('data/io.github.directflip1.conf'), mode: 0o644, what: 'D-Bus policy (root only)' },
    { path: join(prefix, 'usr/share/dbus-1/system-services/io.github.directflip1.service'), content: fill('data/io.github.directflip1.service'), mode: 0o644, what: 'D-Bus activation' },
  ];
}

/**
 * The unit hides home directories (ProtectHome=yes) unless node or this package lives in one
 * (a clone in /root, node from nvm): then it may only read them.
 */
export function protectHome(node: string, home: string): 'yes' | 'read-only' {
  return [node, home].some((p) => /^\/(home|root|run\/user)(\/|$)/.test(p)) ? 'read-only' : 'yes';
}

/** What an admin needs to know after installing: each is a sentence with the fix. */
export function installWarnings(prefix: string, node: string): string[] {
  const w = [
    'libvirt looks for hooks only when it starts: restart libvirtd/virtqemud (or send it SIGHUP) before the hook is run for a brand-new hook file',
  ];
  if (!/^\/(usr\/)?bin\//.test(node)) w.push(`node is ${node}: AppArmor lets libvirt hooks exec only from /bin, /sbin and /usr/bin; install node there or adjust the libvirtd AppArmor profile`);
  if (existsSync(join(prefix, 'etc/apparmor.d'))) w.push('AppArmor is present: the libvirtd profile must allow the hook to run node and read this package');
  if (existsSync('/sys/fs/selinux')) w.push('SELinux is present: the hook runs in virtd_t and needs to exec node and connect to the system bus');
  return w;
}
