import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DRM_CLIENT_CAP } from '../kernel/constants';
import { isKernelError } from '../kernel/errors';
import { cardOpeners } from '../daemon/master';
import type { CheckResult, DoctorContext } from './types';
import { fail, ok } from './types';

/** The card, the two client caps directflip needs, and whether DRM master can be had (or who has it). */
export function drmChecks(ctx: DoctorContext): CheckResult[] {
  if (!ctx.host) {
    const why = ctx.hostError?.message ?? 'no DRM device';
    return [fail('drm.device', why.replace(/; to try directflip anyway.*$/, ''), 'load the GPU\'s KMS driver (`modprobe i915`, or the driver of this GPU); to try directflip without one: `directflip doctor --host sim:gvt-skylake`')];
  }
  const card = ctx.host.cards()[0];
  const out: CheckResult[] = [];
  let dev;
  try {
    dev = ctx.host.backend.openKms(card);
  } catch (e) {
    if (!isKernelError(e)) throw e;
    return [fail('drm.device', `${card} cannot be opened (${e.code})`, e.code === 'EACCES' || e.code === 'EPERM' ? 'run `directflip doctor` as root' : `check that ${card} is the GPU's card node (\`ls -l /dev/dri\`)`)];
  }
  try {
    const v = dev.version();
    out.push(ok('drm.device', `${card}: ${v.name} (${v.desc})`));
    const caps: [string, number][] = [['UNIVERSAL_PLANES', DRM_CLIENT_CAP.UNIVERSAL_PLANES], ['ATOMIC', DRM_CLIENT_CAP.ATOMIC]];
    const missing: string[] = [];
    for (const [name, cap] of caps) {
      try {
        dev.setClientCap(cap, 1);
      } catch (e) {
        if (!isKernelError(e)) throw e;
        missing.push(`${name} (${e.code})`);
      }
    }
    out.push(missing.length
      ? fail('drm.caps', `${v.name} refuses ${missing.join(' and ')}: it has no atomic modesetting, which directflip needs for every commit`, 'use a KMS driver with atomic support (i915, amdgpu, nouveau, vkms); for i915 that is any kernel ≥ 4.12')
      : ok('drm.caps', `${v.name} supports ATOMIC and UNIVERSAL_PLANES`));
    out.push(master(ctx, dev, card));
  } finally {
    dev.close();
  }
  return out;
}

function master(ctx: DoctorContext, dev: { setMaster(): void; dropMaster(): void }, card: string): CheckResult {
  try {
    dev.setMaster();
  } catch (e) {
    if (!isKernelError(e)) throw e;
    // The kernel names no master; /proc/*/fd names who has the card open (design §1).
    const who = cardOpeners(card, ctx.sys.at('proc'));
    const ours = (pid: number) => isDirectflipd(ctx, pid);
    if (who.length && who.every((p) => ours(p.pid))) {
      return ok('drm.master', `DRM master of ${card} is held by directflipd (pid ${who.map((p) => p.pid).join(', ')}), showing guests`);
    }
    const others = who.filter((p) => !ours(p.pid));
    if (!others.length) {
      return fail('drm.master', `DRM master of ${card} is held by another process (${e.code}), none of which /proc shows with the card open (another namespace, or logind handed it out)`, 'stop the display manager on this seat (`systemctl stop display-manager`) or switch it to another VT');
    }
    const named = others.map((p) => `${p.comm} (pid ${p.pid})`).join(', ');
    return fail('drm.master', `DRM master of ${card} is held by ${named} (${e.code}): directflip cannot commit while it is`, `stop it: \`kill ${others.map((p) => p.pid).join(' ')}\` (for a desktop session stop the display manager instead, systemctl stop display-manager), or switch its VT away before starting the guest`);
  }
  try {
    dev.dropMaster();
  } catch {
    // closing the card drops it anyway
  }
  return ok('drm.master', `DRM master of ${card} can be taken (no compositor holds it now)`);
}

/** directflipd runs as node: its command line (`… directflip daemon …`) says it is ours. */
function isDirectflipd(ctx: DoctorContext, pid: number): boolean {
  try {
    const argv = readFileSync(join(ctx.sys.at('proc'), String(pid), 'cmdline'), 'utf8').split('\0');
    return argv.some((a) => /directflip(d|\.js)?$/.test(a)) && argv.includes('daemon');
  } catch {
    return false;
  }
}
