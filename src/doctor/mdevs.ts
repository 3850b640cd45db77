import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { probeMdev } from '../probe/mdev-caps';
import type { MdevReport } from '../probe/mdev-caps';
import { listMdevs } from '../sys/mdevs';
import type { CheckResult, DoctorContext } from './types';
import { fail, ok, warn } from './types';

const GVT_CONF = '/etc/modprobe.d/i915-gvt.conf';

/**
 * The mdevs that can feed gvt-fb: they answer Intel's PROBE|DRM, or have the May 2019 RFC's
 * intel_vgpu/plane_id_index (the way in while only their QEMU may open them).
 */
export function gvtFbMdevs(ctx: DoctorContext, reports: MdevReport[]): Set<string> {
  return new Set(reports.filter((r) => r.methods.includes('drm-fb') || existsSync(join(ctx.sys.mdevDevice(r.uuid), 'intel_vgpu', 'plane_id_index'))).map((r) => r.uuid));
}

/** Which sources an mdev can feed, from how its planes answered. */
function sources(r: MdevReport, gvtFb: boolean): string {
  if (gvtFb) return 'gvt-fb (Intel\'s direct-flip kernel fb ids), qemu-dbus (with display=\'on\')';
  if (r.errorCode === 'ESRCH') return 'qemu-dbus (with display=\'on\'); gvt-fb needs Intel\'s direct-flip kernel';
  if (r.errorCode === 'EBUSY') return 'qemu-dbus (with display=\'on\'): its QEMU holds it now';
  if (r.methods.length) return `qemu-dbus (with display='on'); its planes answer ${r.methods.join(', ')} while no QEMU holds it`;
  return r.unavailable ? `none known: ${r.unavailable}` : 'none: it answers no plane query';
}

/** The mdev's parent driver, from the parent device's `driver` link as sysfs has it. */
function parentDriver(ctx: DoctorContext, uuid: string): string {
  try {
    const parentDir = dirname(join(dirname(ctx.sys.mdevDevice(uuid)), readlinkSync(ctx.sys.mdevDevice(uuid))));
    return basename(readlinkSync(join(parentDir, 'driver')));
  } catch {
    // mbochs and mdpy register a virtual parent, which no driver binds.
    return 'a virtual parent, no driver';
  }
}

export function readMdevReports(ctx: DoctorContext): MdevReport[] {
  return ctx.host ? listMdevs(ctx.sys).map((m) => probeMdev(ctx.host!, m)) : [];
}

/** GVT-g switched on, each mdev with its parent driver and usable sources, and Intel's direct-flip ABI. */
export function mdevChecks(ctx: DoctorContext, reports: MdevReport[]): CheckResult[] {
  const out: CheckResult[] = [];
  const gvtFb = gvtFbMdevs(ctx, reports);
  const param = ctx.sys.at('sys/module/i915/parameters/enable_gvt');
  if (existsSync(param)) {
    const on = readFileSync(param, 'utf8').trim() === 'Y';
    out.push(on
      ? ok('gvt.enabled', 'GVT-g is enabled (i915 enable_gvt=Y)')
      : fail('gvt.enabled', 'GVT-g is off (i915 enable_gvt=N): i915 offers no vGPU types, so no mdev can be created', `\`echo 'options i915 enable_gvt=1' > ${GVT_CONF}\`, \`update-initramfs -u\` and reboot (or add i915.enable_gvt=1 to GRUB_CMDLINE_LINUX)`));
  }
  for (const r of reports) {
    out.push(ok('mdev', `mdev ${r.uuid}: ${r.type} on ${r.parent} (${parentDriver(ctx, r.uuid)}); sources: ${sources(r, gvtFb.has(r.uuid))}`));
  }
  if (!reports.length) out.push(warn('mdev', 'no mdevs exist (/sys/bus/mdev/devices is empty): a guest can still be shown from a QEMU console (plane @console)', 'for a vGPU: `mdevctl start -u $(uuidgen) -p PARENT --type TYPE` (types under /sys/class/mdev_bus/*/mdev_supported_types)'));
  out.push(gvtFb.size
    ? ok('gvt.directflip', 'Intel\'s local-display direct-flip ABI is present: source gvt-fb assigns the guest\'s own kernel fb once')
    : warn('gvt.directflip', 'Intel\'s direct-flip ABI is absent (mainline kernels have none): guests are shown through qemu-dbus instead of gvt-fb'));
  return out;
}
