import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { VFIO } from '../../src/kernel/constants';
import { openHost } from '../../src/kernel/host';
import type { Host } from '../../src/kernel/host';
import type { VfioDevice } from '../../src/kernel/types';
import { openVfio } from '../../src/sources/vfio-query';
import { gvtFbId } from '../../src/sources/gvt-fb';
import { listMdevs } from '../../src/sys/mdevs';
import { SysPaths } from '../../src/sys/paths';
import { errOf } from '../contract/kms.contract';

// Issue 13 item 11: Intel's ABI exactly. The fb id comes back from a PROBE|DRM query, in the
// union at byte 56 (drm_fb_id), as Intel's QEMU branch reads it; mainline answers EINVAL.
let host: Host;
afterEach(() => host?.close());

const sysfsAttr = (uuid: string) => {
  const m = listMdevs(host.sys).find((x) => x.uuid === uuid)!;
  return host.sys.at('sys/bus/pci/devices', SysPaths.name(m.parent), SysPaths.uuid(uuid), 'intel_vgpu', 'plane_id_index');
};
const vgpuId = (uuid: string) => readFileSync(join(host.sys.mdevDevice(uuid), 'intel_vgpu', 'vgpu_id'), 'utf8').trim();
const debugfsAttr = (uuid: string) => host.sys.at('sys/kernel/debug/dri/0/gvt', `vgpu${vgpuId(uuid)}`, 'plane_id_index');

/** The direct-flip host with both plane_id_index attributes gone, and the vGPU opened as its QEMU would. */
function vfioOnly(): { uuid: string } {
  host = openHost('sim:gvt-skylake-directflip');
  const uuid = host.sim!.profile.vfio.mdevs[0].uuid;
  rmSync(sysfsAttr(uuid));
  rmSync(debugfsAttr(uuid));
  host.sim!.vfio.profile.kind = 'mbochs';
  return { uuid };
}

const open = (uuid: string) => openVfio(host, uuid);

test('gvt-fb asks once, with PROBE|DRM, and reads drm_fb_id from that answer', () => {
  const { uuid } = vfioOnly();
  const d = open(uuid);
  const proto = Object.getPrototypeOf(d.device) as VfioDevice;
  d.close();
  const real = proto.queryGfxPlane;
  const asked: number[] = [];
  const spy = jest.spyOn(proto, 'queryGfxPlane').mockImplementation(function (this: VfioDevice, flags: number, type: number) {
    asked.push(flags);
    return real.call(this, flags, type);
  });
  try {
    expect(gvtFbId(host, uuid, 'primary')).toEqual({ fbId: host.sim!.vfio.directFlipFb(uuid, 'primary'), via: 'vfio' });
  } finally {
    spy.mockRestore();
  }
  expect(asked).toEqual([VFIO.GFX_PLANE_TYPE_PROBE | VFIO.GFX_PLANE_TYPE_DRM_OUT_OF_TREE]);
});

test("the simulated direct-flip kernel fills PROBE|DRM in; mainline refuses it with EINVAL", () => {
  const { uuid } = vfioOnly();
  const m = host.sim!.vfio.mdev(uuid);
  const v = open(uuid);
  const d = v.device;
  const PROBE_DRM = VFIO.GFX_PLANE_TYPE_PROBE | VFIO.GFX_PLANE_TYPE_DRM_OUT_OF_TREE;
  const p = d.queryGfxPlane(PROBE_DRM, VFIO.PLANE_PRIMARY);
  const b = m.planes.primary!.buffer;
  expect(p).toMatchObject({ flags: PROBE_DRM, drmFbId: host.sim!.vfio.directFlipFb(uuid, 'primary'), drmFormat: b.format, width: b.width, height: b.height });
  expect(p.drmFbId).toBeGreaterThan(0);
  // PROBE with the other types stays a bare capability answer.
  expect(d.queryGfxPlane(VFIO.GFX_PLANE_TYPE_PROBE | VFIO.GFX_PLANE_TYPE_DMABUF, VFIO.PLANE_PRIMARY)).toMatchObject({ drmFormat: 0, size: 0, dmabufId: 0 });
  v.close();
  host.close();
  host = openHost('sim:gvt-skylake');
  host.sim!.vfio.profile.kind = 'mbochs';
  const u2 = host.sim!.profile.vfio.mdevs[0].uuid;
  const v2 = open(u2);
  expect(errOf(() => v2.device.queryGfxPlane(PROBE_DRM, VFIO.PLANE_PRIMARY)).code).toBe('EINVAL');
  v2.close();
  expect(gvtFbId(host, u2, 'primary')).toEqual({ why: expect.stringMatching(/PROBE\|DRM answers EINVAL/) });
});

describe("debugfs, the second place for plane_id_index (dri/<minor>/gvt/vgpu<id>/, the id from intel_vgpu/vgpu_id)", () => {
  beforeEach(() => {
    host = openHost('sim:gvt-skylake-directflip');
  });
  test('the simulator models it live, with the kernel\'s EINVAL for a plane type it lacks', () => {
    const uuid = host.sim!.profile.vfio.mdevs[0].uuid;
    expect(vgpuId(uuid)).toBe('1');
    host.sysfs.write(debugfsAttr(uuid), '1');
    expect(Number(host.sysfs.read(debugfsAttr(uuid)))).toBe(host.sim!.vfio.directFlipFb(uuid, 'primary'));
    expect(() => host.sysfs.write(debugfsAttr(uuid), '3')).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
  test('gvt-fb reads it when the RFC\'s sysfs attribute is absent, and says so', () => {
    const uuid = host.sim!.profile.vfio.mdevs[0].uuid;
    expect(gvtFbId(host, uuid, 'primary')).toEqual({ fbId: host.sim!.vfio.directFlipFb(uuid, 'primary'), via: 'sysfs' });
    rmSync(sysfsAttr(uuid));
    expect(gvtFbId(host, uuid, 'primary')).toEqual({ fbId: host.sim!.vfio.directFlipFb(uuid, 'primary'), via: 'debugfs' });
    expect(gvtFbId(host, uuid, 'cursor')).toEqual({ fbId: host.sim!.vfio.directFlipFb(uuid, 'cursor'), via: 'debugfs' });
  });
  test('mainline GVT-g has neither attribute', () => {
    host.close();
    host = openHost('sim:gvt-skylake');
    const uuid = host.sim!.profile.vfio.mdevs[0].uuid;
    expect(gvtFbId(host, uuid, 'primary')).toEqual({ why: expect.stringMatching(/no intel_vgpu\/plane_id_index in sysfs or GVT-g's debugfs, and VFIO cannot ask: .*ESRCH/) });
  });
});
