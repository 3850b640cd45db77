import { VFIO } from '../kernel/constants';
import { isKernelError } from '../kernel/errors';
import type { Host } from '../kernel/host';
import type { GfxPlaneInfo, VfioDevice } from '../kernel/types';
import { listMdevs } from '../sys/mdevs';

/**
 * Opens an mdev's VFIO device the way QEMU does, runs `fn`, and closes everything whatever
 * happens. Kernel refusals come back as a sentence: EBUSY and ESRCH are the everyday ones.
 */
export function withVfioDevice<T>(host: Host, uuid: string, fn: (d: VfioDevice) => T): { ok: T } | { why: string; code: string } {
  const m = listMdevs(host.sys).find((x) => x.uuid === uuid);
  if (!m) return { why: `mdev ${uuid} is not in /sys/bus/mdev/devices (create it with mdevctl)`, code: 'ENOENT' };
  const opened: { close(): void }[] = [];
  try {
    const c = host.backend.openVfioContainer('/dev/vfio/vfio');
    opened.push(c);
    const g = host.backend.openVfioGroup(`/dev/vfio/${m.iommuGroup}`);
    opened.push(g);
    g.setContainer(c);
    c.setIommu(c.checkExtension(VFIO.TYPE1v2_IOMMU) ? VFIO.TYPE1v2_IOMMU : VFIO.TYPE1_IOMMU);
    const d = g.getDevice(uuid);
    opened.push(d);
    return { ok: fn(d) };
  } catch (e) {
    if (!isKernelError(e)) throw e;
    const why =
      e.code === 'ESRCH' ? "GVT-g lets only the VM's QEMU open the vGPU (ESRCH)"
      : e.code === 'EBUSY' ? 'held by QEMU (EBUSY): use source qemu-dbus'
      : `${e.syscall}: ${e.code}`;
    return { why, code: e.code };
  } finally {
    for (const x of opened.reverse()) {
      try {
        x.close();
      } catch {
        // best effort: the fds go with the process anyway
      }
    }
  }
}

/** One plane query; EINVAL means "this plane type is not offered" and is null. */
export function queryPlane(d: VfioDevice, flag: number, plane: 'primary' | 'cursor'): GfxPlaneInfo | null {
  try {
    return d.queryGfxPlane(flag, plane === 'primary' ? VFIO.PLANE_PRIMARY : VFIO.PLANE_CURSOR);
  } catch (e) {
    if (isKernelError(e, 'EINVAL')) return null;
    throw e;
  }
}

/** i915 leaves the rest of the struct as it was: a zero format or size is "no plane". */
export function planeOff(p: GfxPlaneInfo): boolean {
  return p.drmFormat === 0 || p.size === 0;
}
