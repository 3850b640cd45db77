import type { DomainConfig, PlaneConfig } from '../config';
import { DRM_FORMAT, DRM_FORMAT_MOD, VFIO } from '../kernel/constants';
import { isKernelError } from '../kernel/errors';
import type { Host } from '../kernel/host';
import type { VfioContainer, VfioDevice, VfioGroup } from '../kernel/types';
import { listMdevs } from '../sys/mdevs';

export interface GuestPlaneInfo {
  format: number;
  modifier: bigint;
  width: number;
  height: number;
  /** A kernel-owned fb id (Intel's direct-flip ABI), when the mdev gave one. */
  kernelFbId: number | null;
  /** null when read from the device; else why it is a guess. */
  assumedBecause: string | null;
}

const CURSOR = { format: DRM_FORMAT.ARGB8888, modifier: DRM_FORMAT_MOD.LINEAR, width: 64, height: 64 };

/**
 * What the guest's plane looks like, asked of its mdev when VFIO lets us (mbochs, or Intel's
 * direct-flip kernel), else a stated assumption: the output's size in XRGB8888 for a primary,
 * 64x64 ARGB8888 for a cursor.
 */
export function guestPlane(host: Host, config: DomainConfig, p: PlaneConfig, size: { width: number; height: number }): GuestPlaneInfo {
  const assumed = (why: string): GuestPlaneInfo =>
    p.from === 'cursor' ? { ...CURSOR, kernelFbId: null, assumedBecause: why } : { format: DRM_FORMAT.XRGB8888, modifier: DRM_FORMAT_MOD.LINEAR, ...size, kernelFbId: null, assumedBecause: why };
  if (p.mdev === null) return assumed(`console ${p.console} reports its size once the guest runs`);
  if (!host.ensureMdev(p.mdev)) return assumed(`mdev ${p.mdev} does not exist on this host`);
  const m = listMdevs(host.sys).find((x) => x.uuid === p.mdev);
  if (!m) return assumed(`mdev ${p.mdev} is not in sysfs`);
  let c: VfioContainer | undefined;
  let g: VfioGroup | undefined;
  let d: VfioDevice | undefined;
  try {
    c = host.backend.openVfioContainer('/dev/vfio/vfio');
    g = host.backend.openVfioGroup(`/dev/vfio/${m.iommuGroup}`);
    g.setContainer(c);
    c.setIommu(VFIO.TYPE1v2_IOMMU);
    d = g.getDevice(m.uuid);
    const type = p.from === 'primary' ? VFIO.PLANE_PRIMARY : VFIO.PLANE_CURSOR;
    for (const flag of [VFIO.GFX_PLANE_TYPE_DRM_OUT_OF_TREE, VFIO.GFX_PLANE_TYPE_DMABUF]) {
      let q;
      try {
        q = d.queryGfxPlane(flag, type);
      } catch (e) {
        if (isKernelError(e, 'EINVAL')) continue;
        throw e;
      }
      // A zero format or size is "no plane" (i915 leaves the rest as it was).
      if (q.drmFormat === 0 || q.size === 0) return assumed(`the guest's ${p.from} plane is off right now`);
      return { format: q.drmFormat, modifier: q.drmFormatMod, width: q.width, height: q.height, kernelFbId: flag === VFIO.GFX_PLANE_TYPE_DMABUF ? null : q.drmFbId, assumedBecause: null };
    }
    return assumed(`mdev ${p.mdev} answers no plane query`);
  } catch (e) {
    if (!isKernelError(e)) throw e;
    const why = e.code === 'ESRCH' ? 'GVT-g lets only the VM\'s QEMU open the vGPU (ESRCH)' : e.code === 'EBUSY' ? 'the VM holds the mdev (EBUSY)' : `${e.syscall}: ${e.code}`;
    return assumed(why);
  } finally {
    for (const x of [d, g, c]) {
      try {
        x?.close();
      } catch {
        // best effort: the fds go with the process anyway
      }
    }
  }
}
