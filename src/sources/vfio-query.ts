import { VFIO } from '../kernel/constants';
import { isKernelError } from '../kernel/errors';
import type { Host } from '../kernel/host';
import type { GfxPlaneInfo, VfioDevice } from '../kernel/types';
import { listMdevs } from '../sys/mdevs';

/** An mdev's VFIO device opened the way QEMU opens it; `close()` releases device, group and container. */
export function openVfio(host: Host, uuid: string): { device: VfioDevice; close(): void } {
  const m = listMdevs(host.sys).find((x) => x.uuid === uuid);
  if (!m) throw Object.assign(new Error(`mdev ${uuid} is not in /sys/bus/mdev/devices (create it with mdevctl)`), { code: 'ENOENT' });
  const opened: { close(): void }[] = [];
  const close = () => {
    for (const x of opened.splice(0).reverse()) {
      try {
        x.close();
      } catch {
        // best effort: the fds go with the process anyway
      }
    }
  };
  try {
    const c = host.backend.openVfioContainer('/dev/vfio/vfio');
    opened.push(c);
    const g = host.backend.openVfioGroup(`/dev/vfio/${m.iommuGroup}`);
    opened.push(g);
    g.setContainer(c);
    c.setIommu(c.checkExtension(VFIO.TYPE1v2_IOMMU) ? VFIO.TYPE1v2_IOMMU : VFIO.TYPE1_IOMMU);
    const device = g.getDevice(uuid);
    opened.push(device);
    return { device, close };
  } catch (e) {
    close();
    throw e;
  }
}

/**
 * Opens an mdev's VFIO device, runs `fn`, and closes everything whatever happens. Kernel refusals
 * come back as a sentence: EBUSY and ESRCH are the everyday ones.
 */
export function withVfioDevice<T>(host: Host, uuid: string, fn: (d: VfioDevice) => T): { ok: T } | { why: string; code: string } {
  let v: ReturnType<typeof openVfio> | undefined;
  try {
    v = openVfio(host, uuid);
    return { ok: fn(v.device) };
  } catch (e) {
    const err = e as { code?: string; syscall?: string; message: string };
    if (err.code === 'ENOENT' && !err.syscall) return { why: err.message, code: 'ENOENT' };
    if (!isKernelError(e)) throw e;
    const why =
      e.code === 'ESRCH' ? "GVT-g lets only the VM's QEMU open the vGPU (ESRCH)"
      : e.code === 'EBUSY' ? 'held by QEMU (EBUSY): use source qemu-dbus'
      : `${e.syscall}: ${e.code}`;
    return { why, code: e.code };
  } finally {
    v?.close();
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
