import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { atLeast, fact, short } from '../versions/facts';
import type { CheckResult, DoctorContext } from './types';
import { fail, ok, onRoot } from './types';

export const HOOK_PATH = 'etc/libvirt/hooks/qemu.d/50-directflip';
/** USER_HZ: /proc/<pid>/stat counts its start in these after boot (100 on every Linux architecture libvirt runs on). */
const CLK_TCK = 100;

interface Daemon {
  pid: number;
  comm: 'libvirtd' | 'virtqemud';
  /** Seconds since the epoch. */
  startedAt: number;
}

/** The running libvirt daemons, from /proc/<pid>/comm and stat (its start) plus /proc/stat's btime. */
export function libvirtDaemons(ctx: DoctorContext): Daemon[] {
  const proc = ctx.sys.at('proc');
  let btime = 0;
  try {
    btime = Number(/^btime (\d+)$/m.exec(readFileSync(join(proc, 'stat'), 'utf8'))?.[1] ?? 0);
  } catch {
    return [];
  }
  const out: Daemon[] = [];
  for (const pid of existsSync(proc) ? readdirSync(proc).filter((d) => /^\d+$/.test(d)) : []) {
    try {
      const comm = readFileSync(join(proc, pid, 'comm'), 'utf8').trim();
      if (comm !== 'libvirtd' && comm !== 'virtqemud') continue;
      // comm may hold spaces and parentheses: the fields start after the last ')'.
      const stat = readFileSync(join(proc, pid, 'stat'), 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(pid), comm, startedAt: btime + Number(fields[19]) / CLK_TCK });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

const when = (sec: number) => new Date(sec * 1000).toISOString().replace('.000Z', 'Z');

/** The hook file, libvirt's drop-in support, and whether the running libvirt daemon has looked since it was installed. */
export function hookChecks(ctx: DoctorContext): CheckResult[] {
  const out: CheckResult[] = [];
  const lv = ctx.versions.libvirt;
  const need = fact('hook-dropins').needs.libvirt!;
  if (!lv) out.push(fail('libvirt.installed', 'libvirt is not installed (no virtqemud or libvirtd under /usr/sbin)', 'install it: `apt install libvirt-daemon-system`'));
  else if (!atLeast(lv.version, need)) out.push(fail('hook.dropins', `libvirt ${lv.version} runs only /etc/libvirt/hooks/qemu, not the qemu.d/ drop-ins (libvirt ≥ ${short(need)})`, `upgrade libvirt to ${short(need)} or later (Debian 11 and 12 have it)`));
  else out.push(ok('hook.dropins', `libvirt ${lv.version} runs hook drop-ins from qemu.d/ (≥ ${short(need)})`));

  const path = ctx.sys.at(HOOK_PATH);
  let st;
  try {
    st = statSync(path);
  } catch {
    out.push(fail('hook.installed', `the hook /${HOOK_PATH} is not installed`, `run \`${onRoot(ctx.sys, 'install')}\``));
    return out;
  }
  if (!st.isFile() || (st.mode & 0o111) !== 0o111) {
    out.push(fail('hook.installed', `the hook /${HOOK_PATH} is not an executable file (mode ${(st.mode & 0o7777).toString(8)}); libvirt skips it`, `run \`chmod 755 /${HOOK_PATH}\``));
    return out;
  }
  out.push(ok('hook.installed', `the hook /${HOOK_PATH} is installed and executable`));
  out.push(noticed(ctx, st.mtimeMs / 1000));
  return out;
}

/**
 * libvirt looks for hooks once, when its daemon starts (virHookInitialize; docs/hooks.rst: "If a
 * hook script is added to a host after the libvirt daemon is already running, it won't be used
 * until the libvirt daemon next starts"): a daemon that found
 * no qemu hook then never runs one until it restarts. It runs every qemu.d entry at call time
 * once it found any, so the oldest qemu hook is the one that counts.
 */
function noticed(ctx: DoctorContext, hookMtime: number): CheckResult {
  const daemons = libvirtDaemons(ctx);
  const oldest = Math.min(hookMtime, ...otherQemuHooks(ctx));
  if (!daemons.length) {
    // Both daemons look for hooks as they start, and systemd starts either on the first connection.
    const d = ctx.versions.libvirt?.daemon ?? 'virtqemud';
    return ok('hook.noticed', `${d} is not running: it finds the hook when it next starts (socket activation, on the first connection)`);
  }
  const late = daemons.filter((d) => d.startedAt < oldest);
  if (!late.length) return ok('hook.noticed', `${daemons.map((d) => `${d.comm} (pid ${d.pid})`).join(' and ')} started after the hook was installed: it runs it`);
  const d = late[0];
  return fail('hook.noticed', `${d.comm} (pid ${d.pid}) started at ${when(d.startedAt)}, before the hook was installed at ${when(hookMtime)}: libvirt looks for hooks only when it starts, so it will not run it`, `restart it: \`systemctl restart ${d.comm}\` (running guests keep running)`);
}

/** mtimes of the other qemu hooks: /etc/libvirt/hooks/qemu and executable qemu.d entries. */
function otherQemuHooks(ctx: DoctorContext): number[] {
  const found: number[] = [];
  const consider = (p: string) => {
    try {
      const st = statSync(p);
      if (st.isFile() && st.mode & 0o111) found.push(st.mtimeMs / 1000);
    } catch {
      // absent
    }
  };
  consider(ctx.sys.at('etc/libvirt/hooks/qemu'));
  const dir = ctx.sys.at('etc/libvirt/hooks/qemu.d');
  if (existsSync(dir)) for (const f of readdirSync(dir)) if (f !== '50-directflip') consider(join(dir, f));
  return found;
}
