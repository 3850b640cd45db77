import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import type { SysPaths } from '../sys/paths';

/** One component's version on this host, and where it was read. */
export interface ReadVersion {
  version: string;
  /** The command or file it came from, e.g. `/usr/bin/qemu-system-x86_64 --version`. */
  from: string;
}

export interface HostVersions {
  /** null: no QEMU binary under the root. */
  qemu: ReadVersion | null;
  /** null: no libvirt daemon binary under the root. */
  libvirt: (ReadVersion & { daemon: 'virtqemud' | 'libvirtd' }) | null;
  /** `uname -r`, from /proc/sys/kernel/osrelease; null when that cannot be read. */
  kernel: ReadVersion | null;
}

/** Where Debian and Fedora put them; the root prefix is the host's (a simulated host's scripts print their version the same way). */
const QEMU = ['usr/bin/qemu-system-x86_64', 'usr/libexec/qemu-kvm', 'usr/local/bin/qemu-system-x86_64'];
/** virtqemud first: where both exist, the modular daemons are the ones current libvirt runs. */
const LIBVIRT: [string, 'virtqemud' | 'libvirtd'][] = [
  ['usr/sbin/virtqemud', 'virtqemud'],
  ['usr/sbin/libvirtd', 'libvirtd'],
  ['usr/local/sbin/virtqemud', 'virtqemud'],
  ['usr/local/sbin/libvirtd', 'libvirtd'],
];

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `BIN --version`, bounded: a binary that hangs or floods is no answer. */
function versionOf(bin: string, re: RegExp): string | null {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 5000, maxBuffer: 64 * 1024, env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } });
  if (r.status !== 0 || typeof r.stdout !== 'string') return null;
  return re.exec(r.stdout)?.[1] ?? null;
}

/**
 * This host's QEMU, libvirt and kernel, as an admin would ask: `qemu-system-x86_64 --version`
 * ("QEMU emulator version 7.2.13 (Debian …)"), `virtqemud --version` or `libvirtd --version`
 * ("libvirtd (libvirt) 9.0.0"), and `uname -r`.
 */
export function readHostVersions(sys: SysPaths): HostVersions {
  let qemu: HostVersions['qemu'] = null;
  for (const rel of QEMU) {
    const bin = sys.at(rel);
    if (!executable(bin)) continue;
    const v = versionOf(bin, /QEMU emulator version (\d+\.\d+(?:\.\d+)?)/);
    if (v) qemu = { version: v, from: `${bin} --version` };
    break;
  }
  let libvirt: HostVersions['libvirt'] = null;
  for (const [rel, daemon] of LIBVIRT) {
    const bin = sys.at(rel);
    if (!executable(bin)) continue;
    const v = versionOf(bin, /\(libvirt\) (\d+\.\d+(?:\.\d+)?)/);
    if (v) libvirt = { version: v, daemon, from: `${bin} --version` };
    break;
  }
  let kernel: HostVersions['kernel'] = null;
  const osrelease = sys.at('proc/sys/kernel/osrelease');
  try {
    const r = readFileSync(osrelease, 'utf8').trim();
    if (r) kernel = { version: r, from: osrelease };
  } catch {
    // not readable: unknown
  }
  return { qemu, libvirt, kernel };
}
