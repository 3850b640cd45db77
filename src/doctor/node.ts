import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import type { CheckResult, DoctorContext } from './types';
import { fail, ok, warn } from './types';
import { HOOK_PATH } from './hook';

/** AppArmor's libvirtd profile lets hooks exec only from these (design §1). */
const APPARMOR_EXEC = /^\/(usr\/)?s?bin\/[^/]+$/;
const NODE_MAJOR = 20;

/** The node the installed hook starts (the shim's NODE= line), else the one running doctor. */
export function hookNode(ctx: DoctorContext): { path: string; from: string } {
  const hook = ctx.sys.at(HOOK_PATH);
  try {
    const m = /^NODE="\$\{DIRECTFLIP_NODE:-([^}]+)\}"/m.exec(readFileSync(hook, 'utf8'));
    if (m && !m[1].startsWith('@')) return { path: m[1], from: `/${HOOK_PATH}` };
  } catch {
    // no hook yet: the node install would write in
  }
  return { path: process.execPath, from: 'this process (install writes it into the hook)' };
}

function apparmorOn(ctx: DoctorContext): boolean {
  try {
    return readFileSync(ctx.sys.at('sys/module/apparmor/parameters/enabled'), 'utf8').trim() === 'Y';
  } catch {
    return false;
  }
}

/** What `NODE --version` says, bounded; null when it does not run. */
function versionOf(node: string): string | null {
  if (node === process.execPath) return process.version;
  const r = spawnSync(node, ['--version'], { encoding: 'utf8', timeout: 5000, maxBuffer: 4096, env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } });
  return r.status === 0 ? (/^v\d+\.\d+\.\d+/.exec(r.stdout.trim())?.[0] ?? null) : null;
}

export function nodeChecks(ctx: DoctorContext): CheckResult[] {
  const out: CheckResult[] = [];
  // node is a program of the machine running directflip, not of a test root: its path is checked as is.
  const node = hookNode(ctx);
  // The version that matters is the hook's node's, which may not be the one running doctor.
  const version = versionOf(node.path);
  const major = Number(/^v(\d+)/.exec(version ?? '')?.[1] ?? 0);
  if (version) {
    out.push(major >= NODE_MAJOR
      ? ok('node.version', `node ${version} at ${node.path} (directflip needs ≥ ${NODE_MAJOR})`)
      : fail('node.version', `node ${version} at ${node.path} is older than ${NODE_MAJOR}`, `install node ≥ ${NODE_MAJOR} (Debian 12's nodejs is 18: use NodeSource's 20.x), then run \`directflip install\` again`));
  }
  let runnable = existsSync(node.path);
  try {
    accessSync(node.path, constants.X_OK);
  } catch {
    runnable = false;
  }
  if (!runnable) {
    out.push(fail('node.path', `the hook's node ${node.path} (from ${node.from}) is missing or not executable`, 'install node there, or run `directflip install` again with the node you want'));
  } else if (!APPARMOR_EXEC.test(node.path)) {
    out.push(apparmorOn(ctx)
      ? fail('node.path', `the hook's node ${node.path} is outside /bin, /sbin and /usr/bin, where AppArmor lets libvirt's hooks exec`, 'install node as /usr/bin/node and run `directflip install` again (or allow it in /etc/apparmor.d/local/usr.sbin.libvirtd)')
      : warn('node.path', `the hook's node ${node.path} is outside /bin, /sbin and /usr/bin; AppArmor is off here, but where it is on it refuses the hook`, 'install node as /usr/bin/node before turning AppArmor on'));
  } else {
    out.push(ok('node.path', `the hook runs ${node.path} (an absolute path, so libvirt's empty environment is no problem${apparmorOn(ctx) ? '; AppArmor allows it' : ''})`));
  }
  return out;
}
