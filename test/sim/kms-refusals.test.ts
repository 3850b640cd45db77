import { DRM_FORMAT, DRM_FORMAT_MOD, DRM_MODE_ATOMIC, DRM_MODE_FB_MODIFIERS } from '../../src/kernel/constants';
import { encodeModeInfo } from '../../src/kernel/blobs';
import { dumpProperties } from '../../src/kernel/topology';
import { errOf } from '../contract/kms.contract';
import { simKms } from '../helpers/sim';

const { TEST_ONLY, ALLOW_MODESET, NONBLOCK, PAGE_FLIP_EVENT } = DRM_MODE_ATOMIC;

describe('the simulated kernel refuses what the kernel refuses', () => {
  test('a mode change without ALLOW_MODESET is EINVAL', () => {
    const { dev, f, host } = simKms('gvt-skylake');
    const other = f.conn.modes.find((m) => m.hdisplay !== f.mode.hdisplay)!;
    const blob = dev.createPropBlob(encodeModeInfo(other));
    const props = [{ objectId: f.crtc.id, propId: f.pid(f.crtc, 'MODE_ID'), value: BigInt(blob) }];
    expect(errOf(() => dev.atomic(props, TEST_ONLY)).code).toBe('EINVAL');
    // With ALLOW_MODESET, and a primary fb of the new size, the same change passes.
    expect(() => dev.atomic([...props, ...f.planeProps(f.primary, f.makeFb(other.hdisplay, other.vdisplay).fb, other.hdisplay, other.vdisplay)], TEST_ONLY | ALLOW_MODESET)).not.toThrow();
    host.stop();
  });

  test('a plane on a CRTC outside possible_crtcs is EINVAL', () => {
    const { dev, f } = simKms('gvt-skylake');
    const foreign = f.t.planes.find((p) => p.type === 'overlay' && !p.possibleCrtcs.includes(f.crtc.id))!;
    const { fb } = f.makeFb(256, 256);
    expect(errOf(() => dev.atomic(f.planeProps(foreign, fb, 256, 256), TEST_ONLY)).code).toBe('EINVAL');
  });

  test('an unsupported modifier is EINVAL at ADDFB2 when no plane takes it, and at commit on a plane that does not', () => {
    const { dev, f } = simKms('vkms');
    const d = dev.createDumb(64, 64, 32);
    const e = errOf(() => dev.addFb2({ width: 64, height: 64, pixelFormat: DRM_FORMAT.XRGB8888, flags: DRM_MODE_FB_MODIFIERS, handles: [d.handle], pitches: [d.pitch], offsets: [0], modifiers: [DRM_FORMAT_MOD.I915_Y_TILED] }));
    expect(e.code).toBe('EINVAL');
    const g = simKms('gvt-skylake');
    const d2 = g.dev.createDumb(64, 64, 32);
    const tiled = g.dev.addFb2({ width: 64, height: 64, pixelFormat: DRM_FORMAT.ARGB8888, flags: DRM_MODE_FB_MODIFIERS, handles: [d2.handle], pitches: [d2.pitch], offsets: [0], modifiers: [DRM_FORMAT_MOD.I915_Y_TILED] });
    const cursor = g.f.t.planes.find((p) => p.type === 'cursor' && p.possibleCrtcs.includes(g.f.crtc.id))!;
    expect(errOf(() => g.dev.atomic(g.f.planeProps(cursor, tiled, 64, 64), TEST_ONLY)).code).toBe('EINVAL');
    void f;
  });

  test('scaling on vkms is ERANGE; on an i915 sprite it passes', () => {
    const v = simKms('vkms');
    const { fb } = v.f.makeFb(512, 384);
    const props = v.f.planeProps(v.f.primary, fb, 512, 384).map((p) =>
      p.propId === v.f.pid(v.f.primary, 'CRTC_W') ? { ...p, value: BigInt(v.f.mode.hdisplay) } : p.propId === v.f.pid(v.f.primary, 'CRTC_H') ? { ...p, value: BigInt(v.f.mode.vdisplay) } : p);
    expect(errOf(() => v.dev.atomic(props, TEST_ONLY)).code).toBe('ERANGE');
    const g = simKms('gvt-skylake');
    const s = g.f.makeFb(960, 540);
    const scaled = g.f.planeProps(g.f.overlay!, s.fb, 960, 540).map((p) =>
      p.propId === g.f.pid(g.f.overlay!, 'CRTC_W') ? { ...p, value: 1920n } : p.propId === g.f.pid(g.f.overlay!, 'CRTC_H') ? { ...p, value: 1080n } : p);
    expect(() => g.dev.atomic(scaled, TEST_ONLY)).not.toThrow();
  });

  test("vkms's primary must cover the CRTC", () => {
    const { dev, f } = simKms('vkms');
    const { fb } = f.makeFb(256, 256);
    expect(errOf(() => dev.atomic(f.planeProps(f.primary, fb, 256, 256, 10, 10), TEST_ONLY)).code).toBe('EINVAL');
  });

  test('a plane on an inactive CRTC is EINVAL', () => {
    const { dev, f } = simKms('gvt-skylake');
    const off = f.t.crtcs.find((c) => !c.active)!;
    const plane = f.t.planes.find((p) => p.type === 'primary' && p.possibleCrtcs.includes(off.id))!;
    const { fb } = f.makeFb(64, 64);
    const props = f.planeProps(plane, fb, 64, 64).map((p) => (p.propId === f.pid(plane, 'CRTC_ID') ? { ...p, value: BigInt(off.id) } : p));
    expect(errOf(() => dev.atomic(props, TEST_ONLY)).code).toBe('EINVAL');
  });

  test('a cursor larger than the cap, or not a supported square, is EINVAL', () => {
    const { dev, f } = simKms('gvt-skylake');
    const cursor = f.t.planes.find((p) => p.type === 'cursor' && p.possibleCrtcs.includes(f.crtc.id))!;
    const big = f.makeFb(512, 512, DRM_FORMAT.ARGB8888).fb;
    expect(errOf(() => dev.atomic(f.planeProps(cursor, big, 512, 512), TEST_ONLY)).code).toBe('EINVAL');
    const odd = f.makeFb(100, 100, DRM_FORMAT.ARGB8888).fb;
    expect(errOf(() => dev.atomic(f.planeProps(cursor, odd, 100, 100), TEST_ONLY)).code).toBe('EINVAL');
    const ok = f.makeFb(128, 128, DRM_FORMAT.ARGB8888).fb;
    expect(() => dev.atomic(f.planeProps(cursor, ok, 128, 128), TEST_ONLY)).not.toThrow();
  });

  test('setting an immutable property is EINVAL; a value out of range is EINVAL', () => {
    const { dev, f } = simKms('gvt-skylake');
    expect(errOf(() => dev.atomic([{ objectId: f.primary.id, propId: f.pid(f.primary, 'type'), value: 0n }], TEST_ONLY)).code).toBe('EINVAL');
    expect(errOf(() => dev.atomic([{ objectId: f.crtc.id, propId: f.pid(f.crtc, 'ACTIVE'), value: 2n }], TEST_ONLY)).code).toBe('EINVAL');
  });

  test('a NONBLOCK commit while a flip is pending is EBUSY; after the vblank it goes through', () => {
    const { dev, f, host } = simKms('gvt-skylake');
    const a = f.makeFb().fb;
    const b = f.makeFb().fb;
    dev.atomic(f.planeProps(f.primary, a, f.mode.hdisplay, f.mode.vdisplay), NONBLOCK | PAGE_FLIP_EVENT, 1n);
    expect(errOf(() => dev.atomic(f.planeProps(f.primary, b, f.mode.hdisplay, f.mode.vdisplay), NONBLOCK | PAGE_FLIP_EVENT, 2n)).code).toBe('EBUSY');
    host.card.advanceVblank();
    dev.atomic(f.planeProps(f.primary, b, f.mode.hdisplay, f.mode.vdisplay), NONBLOCK | PAGE_FLIP_EVENT, 2n);
    host.card.advanceVblank();
    expect(dev.readEvents().map((e) => e.userData)).toEqual([1n, 2n]);
  });

  test('TEST_ONLY changes nothing, and neither does a refused commit', () => {
    const { dev, f, host } = simKms('gvt-skylake');
    const before = dumpProperties(dev);
    const fb = f.makeFb(640, 480).fb;
    dev.atomic(f.planeProps(f.overlay!, fb, 640, 480), TEST_ONLY);
    expect(dumpProperties(dev)).toEqual(before);
    const cursor = f.t.planes.find((p) => p.type === 'cursor' && p.possibleCrtcs.includes(f.crtc.id))!;
    expect(() => dev.atomic([...f.planeProps(f.overlay!, fb, 640, 480), ...f.planeProps(cursor, fb, 640, 480)], 0)).toThrow();
    expect(dumpProperties(dev)).toEqual(before);
    expect(host.card.counters.commits).toBe(0);
  });

  test('failNext injects the errno once, and the state is unchanged', () => {
    const { dev, f, host } = simKms('gvt-skylake');
    const before = dumpProperties(dev);
    host.card.failNext('DRM_IOCTL_MODE_ATOMIC', 'EIO');
    const fb = f.makeFb(640, 480).fb;
    const e = errOf(() => dev.atomic(f.planeProps(f.overlay!, fb, 640, 480), 0));
    expect([e.code, e.syscall, e.errno]).toEqual(['EIO', 'DRM_IOCTL_MODE_ATOMIC', -5]);
    expect(dumpProperties(dev)).toEqual(before);
    dev.atomic(f.planeProps(f.overlay!, fb, 640, 480), 0);
    expect(dev.getPlane(f.overlay!.id).fbId).toBe(fb);
  });
});

test('a signed range is checked as s64 against its __u64-stored bounds: negative CRTC_X in range, below INT_MIN or above INT_MAX EINVAL', () => {
  const { dev, f } = simKms('vkms');
  const { fb } = f.makeFb(64, 64, DRM_FORMAT.ARGB8888);
  const at = (x: bigint) => f.planeProps(f.overlay!, fb, 64, 64).map((p) => (p.propId === f.pid(f.overlay!, 'CRTC_X') ? { ...p, value: BigInt.asUintN(64, x) } : p));
  expect(() => dev.atomic(at(-10n), TEST_ONLY)).not.toThrow();
  expect(errOf(() => dev.atomic(at(-0x80000001n), TEST_ONLY)).code).toBe('EINVAL');
  expect(errOf(() => dev.atomic(at(0x80000000n), TEST_ONLY)).code).toBe('EINVAL');
});
