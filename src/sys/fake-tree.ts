import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { SimHost } from '../kernel/sim/host';
import { SysPaths } from './paths';

/**
 * Writes the /sys and /dev a real host with this profile would show: mdev links, mdev types,
 * IOMMU groups, DRM connector status, device nodes (as plain placeholder files).
 */
export function buildFakeTree(sys: SysPaths, host: SimHost): void {
  const v = host.profile.vfio;
  const card = host.profile.kms.devPath.split('/').pop()!;
  const link = (target: string, at: string) => {
    mkdirSync(dirname(at), { recursive: true });
    symlinkSync(relative(dirname(at), target), at);
  };
  const file = (p: string, content: string) => {
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  };
  file(sys.devDri(host.profile.kms.devPath), '');
  link(sys.devDri(host.profile.kms.devPath), sys.at('dev/dri/by-path', host.byPathName));
  file(sys.at('dev/vfio/vfio'), '');
  const parentDir = sys.at('sys/devices', v.parentSysfs ?? 'virtual/none');
  // /sys/bus/pci/devices/<address> links to the device, as on a real host.
  if (/^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/.test(v.parent ?? '')) link(parentDir, sys.at('sys/bus/pci/devices', v.parent));
  for (const t of v.types ?? []) {
    const td = join(parentDir, 'mdev_supported_types', t.name);
    file(join(td, 'name'), `${t.name}\n`);
    file(join(td, 'description'), `${t.description}\n`);
    file(join(td, 'available_instances'), `${t.availableInstances}\n`);
    file(join(td, 'device_api'), 'vfio-pci\n');
    file(join(td, 'create'), '');
  }
  for (const m of host.vfio.mdevs.values()) addMdev(sys, host, m.uuid);
  for (const c of host.card.built.connectors) {
    file(sys.drmConnectorStatus(card, c.name), `${statusText(c.status)}\n`);
  }
  host.card.onHotplug((name, connected) => file(sys.drmConnectorStatus(card, name), `${connected ? 'connected' : 'disconnected'}\n`));
}

function statusText(s: number): string {
  return s === 1 ? 'connected' : s === 2 ? 'disconnected' : 'unknown';
}

/** GVT-g numbers its vGPUs from 1, in creation order. */
function vgpuId(host: SimHost, uuid: string): number {
  return [...host.vfio.mdevs.keys()].indexOf(uuid) + 1;
}

/** GVT-g's debugfs sits under the i915 DRM minor's: dri/<minor>/gvt/vgpu<id>/. */
export function gvtDebugfsAttr(sys: SysPaths, host: SimHost, uuid: string): string {
  const minor = /card(\d+)$/.exec(host.profile.kms.devPath)?.[1] ?? '0';
  return sys.at('sys/kernel/debug/dri', minor, 'gvt', `vgpu${vgpuId(host, uuid)}`, 'plane_id_index');
}

/** One mdev's sysfs, as the mdev core creates it on `create`. */
export function addMdev(sys: SysPaths, host: SimHost, uuid: string): void {
  const m = host.vfio.mdev(uuid);
  const parentDir = sys.at('sys/devices', host.profile.vfio.parentSysfs);
  const dev = join(parentDir, SysPaths.uuid(uuid));
  mkdirSync(dev, { recursive: true });
  const group = sys.at('sys/kernel/iommu_groups', String(m.iommuGroup));
  mkdirSync(join(group, 'devices'), { recursive: true });
  const rel = (from: string, to: string) => relative(dirname(from), to);
  symlinkSync(rel(join(dev, 'mdev_type'), join(parentDir, 'mdev_supported_types', m.type)), join(dev, 'mdev_type'));
  symlinkSync(rel(join(dev, 'iommu_group'), group), join(dev, 'iommu_group'));
  writeFileSync(join(dev, 'remove'), '');
  if (host.profile.vfio.directFlip) {
    // The May 2019 RFC's attribute: write a plane type, read back that plane's kernel fb id.
    mkdirSync(join(dev, 'intel_vgpu'), { recursive: true });
    writeFileSync(join(dev, 'intel_vgpu', 'plane_id_index'), '0\n');
    // Mainline's intel_vgpu/vgpu_id, and the thread's debugfs twin of plane_id_index.
    writeFileSync(join(dev, 'intel_vgpu', 'vgpu_id'), `${vgpuId(host, uuid)}\n`);
    mkdirSync(dirname(gvtDebugfsAttr(sys, host, uuid)), { recursive: true });
    writeFileSync(gvtDebugfsAttr(sys, host, uuid), '0\n');
  }
  mkdirSync(sys.mdevDevices(), { recursive: true });
  symlinkSync(rel(sys.mdevDevice(uuid), dev), sys.mdevDevice(uuid));
  mkdirSync(sys.at('dev/vfio'), { recursive: true });
  writeFileSync(sys.devVfioGroup(m.iommuGroup), '');
}
