import { fourccName, modifierName, VFIO } from '../kernel/constants';
import { isKernelError } from '../kernel/errors';
import type { Host } from '../kernel/host';
import type { GfxPlaneInfo, VfioDevice } from '../kernel/types';
import { openVfio } from '../sources/vfio-query';
import type { MdevInfo } from '../sys/mdevs';

export type PlaneMethod = 'drm-fb' | 'dmabuf' | 'region';

export interface GuestPlaneReport {
  plane: 'primary' | 'cursor';
  /** null: the guest has it disabled right now. */
  format: string | null;
  modifier: string | null;
  width: number;
  height: number;
}

export interface MdevReport extends MdevInfo {
  /** How this mdev's planes can be read; empty when it could not be opened. */
  methods: PlaneMethod[];
  planes: GuestPlaneReport[];
  /** Why VFIO could not query it, e.g. "GVT-g: only the VM's QEMU may open it (ESRCH)". */
  unavailable: string | null;
  errorCode: string | null;
}

const METHODS: [PlaneMethod, number][] = [
  ['drm-fb', VFIO.GFX_PLANE_TYPE_DRM_OUT_OF_TREE],
  ['dmabuf', VFIO.GFX_PLANE_TYPE_DMABUF],
  ['region', VFIO.GFX_PLANE_TYPE_REGION],
];

function why(code: string, message: string): string {
  if (code === 'EBUSY') return 'held by another opener, usually the VM\'s QEMU (EBUSY); a running guest is reached with source qemu-dbus';
  if (code === 'ESRCH') return 'GVT-g: only the VM\'s QEMU may open it (ESRCH); use source qemu-dbus, or gvt-fb on a direct-flip kernel';
  if (code === 'ENOENT') return `its VFIO group device node is missing (ENOENT): is vfio_mdev loaded?`;
  if (code === 'EACCES' || code === 'EPERM') return `permission denied (${code}): run as root`;
  return `${code}: ${message}`;
}

/**
 * Opens the mdev's group the way QEMU would, asks which plane types it answers, and closes
 * everything again whatever happens.
 */
export function probeMdev(host: Host, m: MdevInfo): MdevReport {
  const base = { ...m, methods: [] as PlaneMethod[], planes: [] as GuestPlaneReport[], unavailable: null as string | null, errorCode: null as string | null };
  let v: ReturnType<typeof openVfio> | undefined;
  try {
    v = openVfio(host, m.uuid);
    const device = v.device;
    for (const [name, flag] of METHODS) {
      if (answers(device, VFIO.GFX_PLANE_TYPE_PROBE | flag)) base.methods.push(name);
    }
    const flag = METHODS.find(([n]) => n === base.methods[0])?.[1];
    if (flag !== undefined) {
      for (const [plane, type] of [['primary', VFIO.PLANE_PRIMARY], ['cursor', VFIO.PLANE_CURSOR]] as const) {
        base.planes.push(planeReport(plane, device.queryGfxPlane(flag, type)));
      }
    }
  } catch (e) {
    if (!isKernelError(e)) throw e;
    base.unavailable = why(e.code, e.message);
    base.errorCode = e.code;
  } finally {
    v?.close();
  }
  return base;
}

function answers(device: VfioDevice, flags: number): boolean {
  try {
    device.queryGfxPlane(flags, VFIO.PLANE_PRIMARY);
    return true;
  } catch (e) {
    if (isKernelError(e, 'EINVAL')) return false;
    throw e;
  }
}

function planeReport(plane: 'primary' | 'cursor', p: GfxPlaneInfo): GuestPlaneReport {
  // i915 does not clear what it does not fill: a zero format or size means "no plane".
  const off = p.drmFormat === 0 || p.size === 0;
  return {
    plane,
    format: off ? null : fourccName(p.drmFormat).trim(),
    modifier: off ? null : modifierName(p.drmFormatMod),
    width: off ? 0 : p.width,
    height: off ? 0 : p.height,
  };
}
