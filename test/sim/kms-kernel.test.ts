import { DRM_CAP, DRM_CLIENT_CAP, DRM_FORMAT, DRM_FORMAT_MOD, DRM_MODE_ATOMIC, DRM_MODE_FB_MODIFIERS } from '../../src/kernel/constants';
import { newSimBuffer } from '../../src/kernel/sim/buffers';
import { errOf } from '../contract/kms.contract';
import { simHost, simKms } from '../helpers/sim';

/**
 * Details of the ioctl surface checked against the kernel sources (named in each test), beyond
 * the refusals the planner meets every day.
 */

const { TEST_ONLY } = DRM_MODE_ATOMIC;

test('ATOMIC without the client cap is EINVAL, not EOPNOTSUPP (drm_mode_atomic_ioctl)', () => {
  const host = simHost('gvt-skylake');
  const dev = host.openKms('/dev/dri/card0');
  const e = errOf(() => dev.atomic([], TEST_ONLY));
  expect([e.code, e.syscall]).toEqual(['EINVAL', 'DRM_IOCTL_MODE_ATOMIC']);
});

test('client caps take the values drm_setclientcap() takes; clearing ATOMIC clears universal planes', () => {
  const host = simHost('gvt-skylake');
  const dev = host.openKms('/dev/dri/card0');
  const legacy = dev.getPlaneResources().length;
  expect(errOf(() => dev.setClientCap(DRM_CLIENT_CAP.UNIVERSAL_PLANES, 2)).code).toBe('EINVAL');
  expect(errOf(() => dev.setClientCap(DRM_CLIENT_CAP.ATOMIC, 3)).code).toBe('EINVAL');
  expect(errOf(() => dev.setClientCap(DRM_CLIENT_CAP.WRITEBACK_CONNECTORS, 1)).code).toBe('EINVAL');
  dev.setClientCap(DRM_CLIENT_CAP.ATOMIC, 2);
  expect(dev.getPlaneResources()).toHaveLength(15);
  dev.setClientCap(DRM_CLIENT_CAP.ATOMIC, 0);
  expect(dev.getPlaneResources()).toHaveLength(legacy);
  expect(legacy).toBe(9);
});

test('GET_CAP answers the caps every KMS driver has and EINVAL for unknown ones', () => {
  const { dev } = simKms('vkms');
  expect(dev.getCap(0x6)).toBe(1n); // DRM_CAP_TIMESTAMP_MONOTONIC
  expect(dev.getCap(DRM_CAP.CRTC_IN_VBLANK_EVENT)).toBe(1n);
  expect(errOf(() => dev.getCap(0x7f)).code).toBe('EINVAL');
});

test('MAP_DUMB: unknown handle ENOENT, imported buffer EINVAL; DESTROY_DUMB of an unknown handle EINVAL', () => {
  const { dev, host } = simKms('vkms');
  expect(errOf(() => dev.mapDumb(999)).code).toBe('ENOENT');
  const buf = newSimBuffer({ width: 64, height: 64, stride: 256, format: DRM_FORMAT.XRGB8888, modifier: 0n });
  const handle = dev.primeFdToHandle(host.dmabufs.export(buf));
  expect(errOf(() => dev.mapDumb(handle)).code).toBe('EINVAL');
  expect(errOf(() => dev.destroyDumb(999)).code).toBe('EINVAL');
});

test('lessee ids come from their own counter and do not use up mode object ids', () => {
  const { dev, f } = simKms('gvt-skylake');
  const a = f.makeFb(64, 64).fb;
  const lease = dev.createLease([f.crtc.id, f.conn.id, f.primary.id], 0);
  const b = f.makeFb(64, 64).fb;
  expect(lease.lesseeId).toBe(1);
  expect(b).toBe(a + 1);
});

test('dropMasterOf revokes master: the next ATOMIC is EACCES; counters follow fbs and GEM handles', () => {
  const { dev, f, host } = simKms('gvt-skylake');
  const fbs = host.card.fbCount;
  const gems = host.card.gemHandleCount;
  f.makeFb(64, 64);
  expect(host.card.fbCount).toBe(fbs + 1);
  expect(host.card.gemHandleCount).toBe(gems + 1);
  expect(() => host.card.dropMasterOf(dev.fd + 1)).toThrow();
  host.card.dropMasterOf(dev.fd);
  expect(errOf(() => dev.atomic([], TEST_ONLY)).code).toBe('EACCES');
  dev.setMaster();
  dev.close();
  expect(host.card.fbCount).toBe(fbs);
  expect(host.card.gemHandleCount).toBe(0);
});

test('ADDFB2 checks as framebuffer_check() does, and GEM lookups come last (ENOENT)', () => {
  const { dev } = simKms('gvt-skylake');
  const d = dev.createDumb(64, 64, 32);
  const base = { width: 64, height: 64, pixelFormat: DRM_FORMAT.XRGB8888, flags: 0, handles: [d.handle], pitches: [d.pitch], offsets: [0], modifiers: [0n] };
  expect(dev.addFb2({ ...base, flags: 1 })).toBeGreaterThan(0); // DRM_MODE_FB_INTERLACED is accepted
  expect(errOf(() => dev.addFb2({ ...base, flags: 4 })).code).toBe('EINVAL');
  // An unused plane's handle and pitch: ignored without DRM_MODE_FB_MODIFIERS (pre-modifier
  // userspace left them dirty), EINVAL with it.
  const dirty = { ...base, handles: [d.handle, d.handle], pitches: [d.pitch, d.pitch], offsets: [0, 0] };
  expect(dev.addFb2(dirty)).toBeGreaterThan(0);
  expect(errOf(() => dev.addFb2({ ...dirty, flags: DRM_MODE_FB_MODIFIERS })).code).toBe('EINVAL');
  expect(errOf(() => dev.addFb2({ ...base, modifiers: [DRM_FORMAT_MOD.I915_X_TILED] })).code).toBe('EINVAL');
  expect(errOf(() => dev.addFb2({ ...base, handles: [77] })).code).toBe('ENOENT');
  expect(errOf(() => dev.addFb2({ ...base, height: 65 })).code).toBe('EINVAL');
  expect(errOf(() => dev.addFb2({ ...base, pixelFormat: 0x20202020 })).code).toBe('EINVAL');
});

test('CREATE_DUMB: i915 pads the pitch to 64 bytes, vkms (shmem) does not; sizes are page aligned', () => {
  const g = simKms('gvt-skylake').dev.createDumb(100, 10, 32);
  expect([g.pitch, g.size]).toEqual([448, 8192]);
  const v = simKms('vkms').dev.createDumb(100, 10, 32);
  expect([v.pitch, v.size]).toEqual([400, 4096]);
});

test('CREATE_LEASE refuses as fill_object_idr() does: ENOENT, EINVAL for an encoder or bad flags, EBUSY when leased', () => {
  const { dev, f, host } = simKms('gvt-skylake');
  const objs = [f.crtc.id, f.conn.id, f.primary.id];
  expect(errOf(() => dev.createLease([0x7ffffff0], 0)).code).toBe('ENOENT');
  expect(errOf(() => dev.createLease([f.t.encoders[0].id], 0)).code).toBe('EINVAL');
  expect(errOf(() => dev.createLease(objs, 0x1)).code).toBe('EINVAL');
  const lease = dev.createLease(objs, 0o2000000);
  expect(errOf(() => dev.createLease([f.primary.id], 0)).code).toBe('EBUSY');
  const lessee = [...host.card.files].find((x) => x.fd === lease.fd)!;
  lessee.setClientCap(DRM_CLIENT_CAP.ATOMIC, 1);
  const other = f.t.planes.find((p) => p.type === 'overlay' && p.possibleCrtcs.includes(f.crtc.id))!;
  expect(errOf(() => lessee.atomic([{ objectId: other.id, propId: other.props.FB_ID.id, value: 0n }], TEST_ONLY)).code).toBe('ENOENT');
  expect(() => lessee.atomic([{ objectId: f.primary.id, propId: f.primary.props.FB_ID.id, value: BigInt(f.primary.fbId) }], TEST_ONLY)).not.toThrow();
  const stranger = host.openKms('/dev/dri/card0');
  expect(errOf(() => stranger.createLease([f.t.crtcs[2].id], 0)).code).toBe('EACCES');
});

test('a lessee sees and names only what it holds (drm_lease_held)', () => {
  const { dev, f, host } = simKms('gvt-skylake');
  const lease = dev.createLease([f.crtc.id, f.conn.id, f.primary.id], 0);
  const lessee = [...host.card.files].find((x) => x.fd === lease.fd)!;
  lessee.setClientCap(DRM_CLIENT_CAP.ATOMIC, 1);
  const res = lessee.getResources();
  expect([res.crtcs, res.connectors, lessee.getPlaneResources()]).toEqual([[f.crtc.id], [f.conn.id], [f.primary.id]]);
  expect(res.encoders).toHaveLength(3);
  const otherCrtc = f.t.crtcs.find((c) => c.id !== f.crtc.id)!;
  expect(errOf(() => lessee.getCrtc(otherCrtc.id)).code).toBe('ENOENT');
  const move = [{ objectId: f.primary.id, propId: f.primary.props.CRTC_ID.id, value: BigInt(otherCrtc.id) }];
  expect(errOf(() => lessee.atomic(move, TEST_ONLY)).code).toBe('EACCES'); // drm_crtc_find(dev, file_priv, …) finds no CRTC it may use
});
