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

export function nodeChecks(ctx: DoctorContext): CheckResult[] {
  const out: CheckResult[] = [];
  const major = Number(/^v(\d+)/.exec(process.version)?.[1] ?? 0);
  out.push(major >= NODE_MAJOR
    ? ok('node.version', `node ${process.version} (directflip needs ≥ ${NODE_MAJOR})`)
    : fail('node.version', `node ${process.version} is older than ${NODE_MAJOR}`, `install node ≥ ${NODE_MAJOR} (Debian 12: \`apt install nodejs\` gives 18; use NodeSource's 20.x), then \`directflip install\` again`));
  // node is a program of the machine running directflip, not of a test root: its path is checked as is.
  const node = hookNode(ctx);
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
