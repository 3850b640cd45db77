import { DRM_CLIENT_CAP, DRM_FORMAT, DRM_FORMAT_MOD, DRM_MODE_ATOMIC, DRM_MODE_FB_MODIFIERS } from '../../src/kernel/constants';
import { SimHost } from '../../src/kernel/sim/host';
import type { SimKmsFile } from '../../src/kernel/sim/kms-file';
import { loadProfile } from '../../src/kernel/sim/load-profile';
import type { AtomicProp, KmsDevice } from '../../src/kernel/types';
import { errOf, fixture } from '../contract/kms.contract';
import { simKms } from '../helpers/sim';

/**
 * Simulator fidelity (issue 13 item 12): one rule of the kernel per test, each with the errno the
 * kernel's source gives it.
 */

const { ALLOW_MODESET, NONBLOCK, PAGE_FLIP_EVENT, TEST_ONLY } = DRM_MODE_ATOMIC;

/** planeProps with a destination size of its own (a scaled plane). */
function scaled(f: ReturnType<typeof fixture>, plane: Parameters<typeof f.planeProps>[0], fb: number, sw: number, sh: number, x: number, y: number, dw: number, dh: number): AtomicProp[] {
  return f.planeProps(plane, fb, sw, sh, x, y).map((p) => (p.propId === plane.props.CRTC_W.id ? { ...p, value: BigInt(dw) } : p.propId === plane.props.CRTC_H.id ? { ...p, value: BigInt(dh) } : p));
}

function dumbFb(dev: KmsDevice, w: number, h: number, opts: { allocW?: number; allocH?: number; bpp?: number; format?: number; pitch?: number; modifier?: bigint } = {}) {
  const d = dev.createDumb(opts.allocW ?? w, opts.allocH ?? h, opts.bpp ?? 32);
  return () => dev.addFb2({ width: w, height: h, pixelFormat: opts.format ?? DRM_FORMAT.XRGB8888, flags: DRM_MODE_FB_MODIFIERS, handles: [d.handle], pitches: [opts.pitch ?? d.pitch], offsets: [0], modifiers: [opts.modifier ?? 0n] });
}

// drm_atomic_get_plane_state() pulls in the plane's current CRTC and drm_atomic_set_crtc_for_plane()
// the new one; prepare_signaling() makes an event for each CRTC in the commit; the nonblocking
// stall check answers EBUSY for either. A plane outside possible_crtcs is EINVAL (drm_atomic_plane_check).
test('moving a plane to another CRTC in one commit: both CRTCs join it', () => {
  const sky = simKms('gvt-skylake');
  const hdmiCrtc = sky.f.t.crtcs.find((c) => c.id === sky.f.t.connectors.find((x) => x.name === 'HDMI-A-1')!.crtcId)!;
  const { fb } = sky.f.makeFb(64, 64);
  const toB = sky.f.planeProps(sky.f.overlay!, fb, 64, 64).map((p) => (p.propId === sky.f.overlay!.props.CRTC_ID.id ? { ...p, value: BigInt(hdmiCrtc.id) } : p));
  const e = errOf(() => sky.dev.atomic(toB, 0));
  expect([e.code, e.message]).toEqual(['EINVAL', expect.stringMatching(/invalid CRTC/)]); // i915: a sprite belongs to its pipe

  // A driver whose overlays go to any CRTC.
  const prof = loadProfile('gvt-skylake');
  const host = new SimHost({ ...prof, kms: { ...prof.kms, planesPerCrtc: prof.kms.planesPerCrtc.map((t) => (t.type === 'overlay' ? { ...t, anyCrtc: true } : t)) } });
  const dev = host.openKms(prof.kms.devPath);
  const f = fixture(dev);
  const b = f.t.crtcs.find((c) => c.id === f.t.connectors.find((x) => x.name === 'HDMI-A-1')!.crtcId)!;
  const a = f.makeFb(64, 64).fb;
  dev.atomic(f.planeProps(f.overlay!, a, 64, 64), NONBLOCK | PAGE_FLIP_EVENT, 1n);
  const move = f.planeProps(f.overlay!, a, 64, 64).map((p) => (p.propId === f.overlay!.props.CRTC_ID.id ? { ...p, value: BigInt(b.id) } : p));
  expect(errOf(() => dev.atomic(move, NONBLOCK | PAGE_FLIP_EVENT, 2n)).code).toBe('EBUSY'); // CRTC A still flips
  dev.atomic(move, PAGE_FLIP_EVENT, 2n); // a blocking commit waits for A instead
  expect(dev.readEvents().map((ev) => [ev.crtcId, ev.userData]).sort()).toEqual([[f.crtc.id, 1n], [f.crtc.id, 2n], [b.id, 2n]].sort());
  expect(dev.getPlane(f.overlay!.id).crtcId).toBe(b.id);
  host.stop();
});

// drm_event_reserve_init_locked(): file_priv->event_space starts at 4096 and each
// struct drm_event_vblank takes 32 bytes until it is read: the 129th unread event is ENOMEM.
test('the 4 KiB event queue: 128 unread flip events, then ENOMEM until they are read', () => {
  const { dev, f } = simKms('vkms');
  const fbs = [f.makeFb().fb, f.makeFb().fb];
  const flip = (i: number) => dev.atomic([{ objectId: f.primary.id, propId: f.primary.props.FB_ID.id, value: BigInt(fbs[i % 2]) }], PAGE_FLIP_EVENT, BigInt(i));
  dev.atomic(f.planeProps(f.primary, fbs[1], f.mode.hdisplay, f.mode.vdisplay), ALLOW_MODESET);
  for (let i = 0; i < 128; i++) flip(i);
  const e = errOf(() => flip(128));
  expect([e.code, e.syscall]).toEqual(['ENOMEM', 'DRM_IOCTL_MODE_ATOMIC']);
  expect(dev.getPlane(f.primary.id).fbId).toBe(fbs[1]); // refused: nothing changed
  expect(dev.readEvents()).toHaveLength(128);
  expect(() => flip(128)).not.toThrow();
  // A refused commit gives its reservation back.
  for (let i = 0; i < 126; i++) flip(i); // 127 unread: room for one more
  expect(errOf(() => dev.atomic([{ objectId: f.primary.id, propId: f.primary.props.CRTC_W.id, value: 5n }], PAGE_FLIP_EVENT)).code).toBe('ERANGE'); // vkms cannot scale
  expect(() => flip(0)).not.toThrow();
  expect(errOf(() => flip(1)).code).toBe('ENOMEM');
});

// intel_framebuffer_init(): the stride aligned to the tile width (X 512, Y 128 bytes; linear 64);
// intel_fill_fb_info(): the GEM object holds whole tile rows (Y tiles are 32 rows, X tiles 8).
test('i915: tiled strides align to the tile width and the buffer holds whole tile rows (EINVAL)', () => {
  const { dev } = simKms('gvt-skylake');
  const X = DRM_FORMAT_MOD.I915_X_TILED;
  const Y = DRM_FORMAT_MOD.I915_Y_TILED;
  expect(dumbFb(dev, 1920, 1080, { modifier: X })()).toBeGreaterThan(0); // 7680 = 15 × 512
  const x64 = errOf(dumbFb(dev, 1920, 1080, { allocW: 1936, modifier: X })); // 7744: 64-aligned only
  expect([x64.code, x64.message]).toEqual(['EINVAL', expect.stringMatching(/pitch \(7744\) must be at least 512 byte aligned/)]);
  expect(dumbFb(dev, 1920, 1080, { allocW: 1936 })()).toBeGreaterThan(0); // linear takes 64
  expect(errOf(dumbFb(dev, 1366, 30, { allocW: 1400, pitch: 1366 * 4 })).code).toBe('EINVAL'); // 5464: not 64-aligned
  const short = errOf(dumbFb(dev, 1920, 1080, { modifier: Y })); // 1080 rows; Y needs 1088
  expect([short.code, short.message]).toEqual(['EINVAL', expect.stringMatching(/fb too big for bo \(need 8355840 bytes, have 8294400 bytes\)/)]);
  expect(dumbFb(dev, 1920, 1080, { allocH: 1088, modifier: Y })()).toBeGreaterThan(0);
  // The same buffers on vkms: only the core's rules (pitch >= width × cpp).
  const vk = simKms('vkms');
  expect(dumbFb(vk.dev, 1366, 30, { allocW: 1400, pitch: 1366 * 4 })()).toBeGreaterThan(0);
});

// skl_universal_plane_create(): every Skylake plane but the cursor is a universal plane with
// the pipe scalers; skl_plane_check() passes min_scale 1 and max_scale 0x30000 - 1 (RGB), and
// DRM_PLANE_NO_SCALING for formats intel_fb_scalable() refuses (C8, FP16 before gen11);
// skl_update_scaler() takes 8..4096 pixels each way.
test('Skylake universal planes: the primary scales and moves, below 3x down, C8 not at all, 8..4096 pixels', () => {
  const { dev, f } = simKms('gvt-skylake');
  const t = (props: AtomicProp[]) => () => dev.atomic(props, TEST_ONLY);
  const small = f.makeFb(1280, 720).fb;
  expect(t(scaled(f, f.primary, small, 1280, 720, 0, 0, 1920, 1080))).not.toThrow();
  expect(t(f.planeProps(f.primary, small, 1280, 720, 100, 100))).not.toThrow(); // windowed
  const big = f.makeFb(3840, 1080).fb;
  expect(errOf(t(scaled(f, f.primary, big, 3840, 1080, 0, 0, 1280, 1080))).code).toBe('ERANGE'); // 3x exactly
  expect(t(scaled(f, f.primary, big, 3839, 1080, 0, 0, 1280, 1080))).not.toThrow();
  const wide = f.makeFb(5000, 1080).fb;
  expect(errOf(t(scaled(f, f.primary, wide, 5000, 1080, 0, 0, 1920, 1080))).code).toBe('EINVAL'); // src 5000 > 4096
  const c8 = dumbFb(dev, 1280, 720, { bpp: 8, format: DRM_FORMAT.C8 })();
  expect(errOf(t(scaled(f, f.primary, c8, 1280, 720, 0, 0, 1920, 1080))).code).toBe('ERANGE');
  expect(t(f.planeProps(f.primary, c8, 1280, 720))).not.toThrow();
  const tiny = f.makeFb(4, 4).fb;
  const range = errOf(t(scaled(f, f.overlay!, tiny, 4, 4, 0, 0, 64, 64)));
  expect([range.code, range.message]).toEqual(['EINVAL', expect.stringMatching(/out of scaler range/)]);
  expect(errOf(t(scaled(f, f.overlay!, small, 1280, 720, 0, 0, 5000, 1080))).code).toBe('EINVAL'); // dst 5000 > 4096
  expect(t(f.planeProps(f.overlay!, tiny, 4, 4))).not.toThrow(); // unscaled: no scaler, no limit
});

// drm_atomic_helper_check_plane_state(): a plane clipped away entirely is invisible and returns
// before "Plane must cover entire CRTC" (can_position false, the vkms primary).
test('an invisible primary skips the full-screen check; a visible one that does not cover is EINVAL', () => {
  const { dev, f } = simKms('vkms');
  const { fb } = f.makeFb();
  const W = f.mode.hdisplay;
  const H = f.mode.vdisplay;
  expect(() => dev.atomic(f.planeProps(f.primary, fb, W, H, W, 0), TEST_ONLY)).not.toThrow(); // right of the screen
  expect(() => dev.atomic(f.planeProps(f.primary, fb, W, H, 0, -H), TEST_ONLY)).not.toThrow(); // above it
  const e = errOf(() => dev.atomic(f.planeProps(f.primary, fb, W, H, W - 1, 0), TEST_ONLY));
  expect([e.code, e.message]).toEqual(['EINVAL', expect.stringMatching(/plane must cover entire CRTC/)]);
  // The scale check comes first: an invisible plane that would scale is still ERANGE.
  expect(errOf(() => dev.atomic(scaled(f, f.primary, fb, W, H, W, 0, W / 2, H / 2), TEST_ONLY)).code).toBe('ERANGE');
});

// drm_atomic_plane_set_property()/drm_atomic_connector_set_property(): CRTC_ID is looked up with
// drm_crtc_find(dev, file_priv, val), and a CRTC outside the lease is "cannot find CRTC": EACCES.
// An id that is no CRTC at all fails drm_property_change_valid_get() first: EINVAL.
test('a lessee naming a CRTC it does not hold gets EACCES, not EINVAL', () => {
  const { host, dev, f } = simKms('gvt-skylake');
  const other = f.t.crtcs.find((c) => c.id !== f.crtc.id)!;
  const lease = dev.createLease([f.crtc.id, f.conn.id, f.primary.id], 0);
  const lessee = [...host.card.files].find((x) => x.fd === lease.fd) as SimKmsFile;
  lessee.setClientCap(DRM_CLIENT_CAP.ATOMIC, 1);
  const { fb } = f.makeFb();
  const onto = (crtc: number) => f.planeProps(f.primary, fb, 64, 64).map((p) => (p.propId === f.primary.props.CRTC_ID.id ? { ...p, value: BigInt(crtc) } : p));
  const e = errOf(() => lessee.atomic(onto(other.id), TEST_ONLY | ALLOW_MODESET));
  expect([e.code, e.message]).toEqual(['EACCES', expect.stringMatching(/cannot find CRTC/)]);
  expect(errOf(() => lessee.atomic([{ objectId: f.conn.id, propId: f.conn.props.CRTC_ID.id, value: BigInt(other.id) }], TEST_ONLY | ALLOW_MODESET)).code).toBe('EACCES');
  expect(errOf(() => lessee.atomic(onto(0x7ffff0), TEST_ONLY | ALLOW_MODESET)).code).toBe('EINVAL');
  expect(errOf(() => lessee.atomic(onto(f.primary.id), TEST_ONLY | ALLOW_MODESET)).code).toBe('EINVAL'); // a plane is no CRTC
});

// skl_plane_check() passes min_scale 1: no upscale limit of its own (the old 8x ERANGE was ours).
test('no invented limits: a Skylake sprite upscales 16x', () => {
  const { dev, f } = simKms('gvt-skylake');
  const src = f.makeFb(100, 60).fb;
  expect(() => dev.atomic(scaled(f, f.overlay!, src, 100, 60, 0, 0, 1600, 960), TEST_ONLY)).not.toThrow();
  expect(() => dev.atomic(scaled(f, f.overlay!, src, 8, 8, 0, 0, 1024, 1024), TEST_ONLY)).not.toThrow(); // 128x
});

test('PAGE_FLIP_EVENT on a commit that names no CRTC is EINVAL (prepare_signaling: the event could never come)', () => {
  const { dev, f } = simKms('vkms');
  const e = errOf(() => dev.atomic([], DRM_MODE_ATOMIC.PAGE_FLIP_EVENT | DRM_MODE_ATOMIC.NONBLOCK));
  expect([e.code, e.syscall]).toEqual(['EINVAL', 'DRM_IOCTL_MODE_ATOMIC']);
  expect(f.crtc.id).toBeGreaterThan(0);
});
