import { DRM_MODE_FB_MODIFIERS, VFIO } from '../../src/kernel/constants';
import { errOf, fixture } from '../contract/kms.contract';
import { simHost } from '../helpers/sim';

function device(host: ReturnType<typeof simHost>, uuid: string) {
  const c = host.openVfioContainer('/dev/vfio/vfio');
  const g = host.openVfioGroup(`/dev/vfio/${host.vfio.mdev(uuid).iommuGroup}`);
  g.setContainer(c);
  c.setIommu(VFIO.TYPE1v2_IOMMU);
  return { c, g, get: () => g.getDevice(uuid) };
}

test('a GVT-g vGPU refuses everyone but its QEMU with ESRCH', () => {
  const host = simHost('gvt-skylake');
  const uuid = host.profile.vfio.mdevs[0].uuid;
  const e = errOf(() => device(host, uuid).get());
  expect([e.code, e.syscall]).toEqual(['ESRCH', 'VFIO_GROUP_GET_DEVICE_FD']);
});

test('a group held by the VM\'s QEMU is EBUSY', () => {
  const host = simHost('vkms');
  const uuid = host.profile.vfio.mdevs[0].uuid;
  host.vfio.holdByQemu(uuid);
  expect(errOf(() => host.openVfioGroup(`/dev/vfio/${host.vfio.mdev(uuid).iommuGroup}`)).code).toBe('EBUSY');
});

test("on Intel's direct-flip kernel PROBE|DRM answers, and the fb id scans out on the host", () => {
  const host = simHost('gvt-skylake-directflip');
  const uuid = host.profile.vfio.mdevs[0].uuid;
  // The direct-flip kernel is still GVT-g: opening needs the VM's KVM.
  const first = device(host, uuid);
  expect(errOf(() => first.get()).code).toBe('ESRCH');
  first.g.close();
  first.c.close();
  // The ABI itself, on a device the caller may open (how QEMU on that kernel sees it).
  host.vfio.profile.kind = 'mbochs';
  const d = device(host, uuid).get();
  d.queryGfxPlane(VFIO.GFX_PLANE_TYPE_PROBE | VFIO.GFX_PLANE_TYPE_DRM_OUT_OF_TREE, VFIO.PLANE_PRIMARY);
  const p = d.queryGfxPlane(VFIO.GFX_PLANE_TYPE_DRM_OUT_OF_TREE, VFIO.PLANE_PRIMARY);
  expect(p.drmFbId).toBeGreaterThan(0);
  expect(d.queryGfxPlane(VFIO.GFX_PLANE_TYPE_DRM_OUT_OF_TREE, VFIO.PLANE_PRIMARY).drmFbId).toBe(p.drmFbId);
  const kms = host.openKms('/dev/dri/card0');
  fixture(kms);
  expect(kms.getFb2(p.drmFbId)).toMatchObject({ width: p.width, height: p.height, pixelFormat: p.drmFormat });
});

test('a dma-buf from the mdev imports into the card with the guest\'s pixels', () => {
  const host = simHost('vkms');
  const uuid = host.profile.vfio.mdevs[0].uuid;
  const d = device(host, uuid).get();
  const p = d.queryGfxPlane(VFIO.GFX_PLANE_TYPE_DMABUF, VFIO.PLANE_PRIMARY);
  const fd = d.getGfxDmabuf(p.dmabufId);
  const kms = host.openKms('/dev/dri/card0');
  const h = kms.primeFdToHandle(fd);
  const fb = kms.addFb2({ width: p.width, height: p.height, pixelFormat: p.drmFormat, flags: DRM_MODE_FB_MODIFIERS, handles: [h], pitches: [p.stride], offsets: [0], modifiers: [p.drmFormatMod] });
  expect(host.card.fbs.get(fb)!.buffer.pixels.subarray(0, p.size)).toEqual(host.vfio.mdev(uuid).planes.primary!.buffer.pixels.subarray(0, p.size));
  host.closeFd(fd);
  expect(errOf(() => host.closeFd(fd)).code).toBe('EBADF');
});

test('failNext injects an errno into one VFIO call', () => {
  const host = simHost('vkms');
  const uuid = host.profile.vfio.mdevs[0].uuid;
  const d = device(host, uuid).get();
  host.vfio.failNext('VFIO_DEVICE_QUERY_GFX_PLANE', 'EINTR');
  expect(errOf(() => d.queryGfxPlane(VFIO.GFX_PLANE_TYPE_DMABUF, VFIO.PLANE_PRIMARY)).code).toBe('EINTR');
  expect(() => d.queryGfxPlane(VFIO.GFX_PLANE_TYPE_DMABUF, VFIO.PLANE_PRIMARY)).not.toThrow();
});

test('mdevs named by a domain are created on first reference, unless the profile says not to', () => {
  const host = simHost('gvt-skylake');
  const uuid = '7f3c2a19-6d4e-4f0b-8c2a-9e1d5b7a3f02';
  expect(host.vfio.mdevs.has(uuid)).toBe(false);
  expect(host.vfio.ensureMdev(uuid)!.type).toBe('i915-GVTg_V5_4');
  host.vfio.profile.autoCreateMdevs = false;
  expect(host.vfio.ensureMdev('00000000-0000-4000-8000-000000000001')).toBeUndefined();
});
