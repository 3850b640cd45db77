import type { DomainConfig, PlaneConfig } from '../config';
import { DRM_FORMAT, DRM_FORMAT_MOD, VFIO } from '../kernel/constants';
import type { Host } from '../kernel/host';
import type { KmsDevice } from '../kernel/types';
import { describeFb } from '../kms/fb-info';
import { gvtFbId } from './gvt-fb';
import { planeOff, queryPlane, withVfioDevice } from './vfio-query';
import type { GuestPlane } from '../kms/request';

export type SourceKind = 'gvt-fb' | 'qemu-dbus' | 'vfio';

/** What kms plans with, as the sources report it. */
export type GuestPlaneInfo = GuestPlane;

export interface ResolvedPlane {
  source: SourceKind;
  /** Why this source: what `plan` and `status` show. */
  why: string;
  guest: GuestPlaneInfo;
}

/** No source can serve a plane as configured: a configuration problem (design §3) or a refusal. */
export class SourceError extends Error {
  constructor(
    readonly code: 'EDF_NO_SOURCE' | 'EDF_SOURCE_UNAVAILABLE',
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'SourceError';
  }
}

const CURSOR = { format: DRM_FORMAT.ARGB8888, modifier: DRM_FORMAT_MOD.LINEAR, width: 64, height: 64 };

function assumed(p: PlaneConfig, size: { width: number; height: number }, why: string): GuestPlaneInfo {
  return p.from === 'cursor'
    ? { ...CURSOR, kernelFbId: null, assumedBecause: why }
    : { format: DRM_FORMAT.XRGB8888, modifier: DRM_FORMAT_MOD.LINEAR, ...size, kernelFbId: null, assumedBecause: why };
}

/**
 * What VFIO's plane query says of the plane (as a dma-buf, else as a region), when the device
 * may be opened: before its QEMU starts (at prepare), or an mdev no QEMU holds (probe, the kernel
 * lane). `refused` is the kernel's errno when it may not.
 */
export function vfioGuest(host: Host, uuid: string, p: PlaneConfig, size: { width: number; height: number }): GuestPlaneInfo & { refused?: string } {
  const r = withVfioDevice(host, uuid, (d) => queryPlane(d, VFIO.GFX_PLANE_TYPE_DMABUF, p.from) ?? queryPlane(d, VFIO.GFX_PLANE_TYPE_REGION, p.from));
  if ('why' in r) return { ...assumed(p, size, r.why), refused: r.code };
  if (!r.ok) return assumed(p, size, `mdev ${uuid} answers neither a DMABUF nor a REGION plane query`);
  if (planeOff(r.ok)) return assumed(p, size, `the guest's ${p.from} plane is off right now`);
  return { format: r.ok.drmFormat, modifier: r.ok.drmFormatMod, width: r.ok.width, height: r.ok.height, kernelFbId: null, assumedBecause: null };
}

/**
 * Which source serves a guest plane, and what the plane is. `auto` (design §3): gvt-fb when the
 * kernel answers Intel's probe, else qemu-dbus when the domain has <graphics type='dbus'/>, else
 * a configuration error naming both remedies; never vfio. `vfio` itself is refused: a running
 * guest's mdev is its QEMU's (VFIO plane queries stay in `probe`).
 */
export function resolvePlane(host: Host, dev: KmsDevice, c: DomainConfig, p: PlaneConfig, size: { width: number; height: number }): ResolvedPlane {
  const dbus = c.graphics.length > 0;
  const noDbus = "the domain has no <graphics type='dbus'/>";
  if (p.console !== null) {
    if (!dbus) throw new SourceError('EDF_NO_SOURCE', p.path, `console ${p.console} is read through QEMU's D-Bus display, but ${noDbus}: add it`);
    return { source: 'qemu-dbus', why: `console ${p.console} of the D-Bus display`, guest: assumed(p, size, `console ${p.console} reports its size once the guest runs`) };
  }
  const uuid = p.mdev!;
  if (!host.ensureMdev(uuid)) throw new SourceError('EDF_SOURCE_UNAVAILABLE', p.path, `mdev ${uuid} does not exist on this host: create it (mdevctl start) or fix @mdev`);
  let gvtWhy = '';
  if (p.source === 'auto' || p.source === 'gvt-fb') {
    const g = gvtFbId(host, uuid, p.from);
    if ('fbId' in g) {
      if (!g.fbId) return { source: 'gvt-fb', why: `kernel fb via ${g.via}; the guest has the plane off for now`, guest: assumed(p, size, `the guest's ${p.from} plane is off right now`) };
      const fb = describeFb(dev, g.fbId);
      return {
        source: 'gvt-fb',
        why: `kernel fb ${g.fbId} via ${g.via === 'vfio' ? 'VFIO PROBE|DRM' : g.via === 'debugfs' ? "GVT-g's debugfs plane_id_index" : 'intel_vgpu/plane_id_index'}`,
        guest: { format: fb.pixelFormat, modifier: fb.modifiers[0] ?? 0n, width: fb.width, height: fb.height, kernelFbId: g.fbId, assumedBecause: null },
      };
    }
    if (p.source === 'gvt-fb') throw new SourceError('EDF_SOURCE_UNAVAILABLE', p.path, `source gvt-fb is unavailable: ${g.why}; use source qemu-dbus (or auto) with display='on' and <graphics type='dbus'/>, or a kernel with Intel's direct-flip ABI`);
    gvtWhy = g.why;
  }
  if (p.source === 'vfio') {
    // The daemon would have to hold the mdev itself, but a hostdev's QEMU opens its VFIO group
    // at start and keeps it (design §1): the daemon gets EBUSY (GVT-g: ESRCH) for the guest's life.
    throw new SourceError(
      'EDF_SOURCE_UNAVAILABLE',
      p.path,
      `source vfio cannot show a running guest: from \`start\` on, the guest's QEMU holds mdev ${uuid} (the daemon's open gets EBUSY, ESRCH for GVT-g). ` +
        `Use source="qemu-dbus" (or auto): display='on' on the mdev's <hostdev> and <graphics type='dbus'/> in <devices>`,
    );
  }
  if (!dbus) {
    if (p.source === 'qemu-dbus') throw new SourceError('EDF_NO_SOURCE', p.path, `source qemu-dbus needs <graphics type='dbus'/>, and ${noDbus}: add it`);
    throw new SourceError('EDF_NO_SOURCE', p.path, `no plane source: gvt-fb: ${gvtWhy}; qemu-dbus: ${noDbus}. Add <graphics type='dbus'/> to the domain, or run a kernel with Intel's local-display direct-flip ABI`);
  }
  return { source: 'qemu-dbus', why: gvtWhy ? `gvt-fb unavailable (${gvtWhy}); QEMU's D-Bus display` : "QEMU's D-Bus display", guest: withoutRefusal(vfioGuest(host, uuid, p, size)) };
}

function withoutRefusal({ refused: _refused, ...g }: GuestPlaneInfo & { refused?: string }): GuestPlaneInfo {
  return g;
}
