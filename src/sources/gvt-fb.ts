import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VFIO } from '../kernel/constants';
import type { Host } from '../kernel/host';
import { listMdevs } from '../sys/mdevs';
import { SysPaths } from '../sys/paths';
import { queryPlane, withVfioDevice } from './vfio-query';

/**
 * gvt-fb: the mailing-list proposal. On Intel's local-display direct-flip kernel every vGPU plane
 * is a kernel-owned framebuffer; its id is assigned to a host plane once and the kernel flips it
 * with the guest, so there is no per-frame work at all. Two ways to learn the id: the RFC's sysfs
 * attribute (write the plane type, read the fb id) — or its twin in GVT-g's debugfs, where the
 * proposal's thread keeps it — or VFIO's QUERY_GFX_PLANE with
 * PROBE|DRM (Intel's out-of-tree flag) when the device can be opened. Mainline answers EINVAL.
 */
export type GvtFb = { fbId: number; via: 'sysfs' | 'debugfs' | 'vfio' } | { why: string };

export function gvtFbId(host: Host, uuid: string, plane: 'primary' | 'cursor'): GvtFb {
  const m = listMdevs(host.sys).find((x) => x.uuid === uuid);
  if (m) {
    const sysfs = host.sys.at('sys/bus/pci/devices', SysPaths.name(m.parent), SysPaths.uuid(uuid), 'intel_vgpu', 'plane_id_index');
    for (const [attr, via] of [[sysfs, 'sysfs'], [debugfsAttr(host, uuid), 'debugfs']] as const) {
      if (!attr || !existsSync(attr)) continue;
      host.sysfs.write(attr, plane === 'primary' ? '1' : '2');
      const fb = Number(host.sysfs.read(attr));
      return Number.isInteger(fb) && fb >= 0 ? { fbId: fb, via } : { why: `${attr} answered ${JSON.stringify(fb)}` };
    }
  }
  // As Intel's QEMU branch asks: one PROBE|DRM query, drm_fb_id at byte 56 (0: the plane is off).
  const r = withVfioDevice(host, uuid, (d) => queryPlane(d, VFIO.GFX_PLANE_TYPE_PROBE | VFIO.GFX_PLANE_TYPE_DRM_OUT_OF_TREE, plane)?.drmFbId ?? null);
  if ('why' in r) return { why: `no intel_vgpu/plane_id_index in sysfs or GVT-g's debugfs, and VFIO cannot ask: ${r.why}` };
  if (r.ok === null) return { why: 'the kernel lacks the local-display direct-flip ABI (PROBE|DRM answers EINVAL)' };
  return { fbId: r.ok, via: 'vfio' };
}

/** dri/<minor>/gvt/vgpu<id>/plane_id_index, the vGPU's id read from mainline's intel_vgpu/vgpu_id. */
function debugfsAttr(host: Host, uuid: string): string | null {
  let id: string;
  let minors: string[];
  try {
    id = readFileSync(join(host.sys.mdevDevice(uuid), 'intel_vgpu', 'vgpu_id'), 'utf8').trim();
    minors = readdirSync(host.sys.at('sys/kernel/debug/dri'));
  } catch {
    return null;
  }
  if (!/^[0-9]+$/.test(id)) return null;
  return minors.map((n) => join(host.sys.at('sys/kernel/debug/dri'), n, 'gvt', `vgpu${id}`, 'plane_id_index')).find((p) => existsSync(p)) ?? null;
}
