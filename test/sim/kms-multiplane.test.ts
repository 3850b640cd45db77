import { DRM_FORMAT, DRM_FORMAT_MOD, DRM_MODE_FB_MODIFIERS } from '../../src/kernel/constants';
import type { AddFb2Args, KmsDevice } from '../../src/kernel/types';
import { errOf } from '../contract/kms.contract';
import { nv12Host } from '../helpers/nv12-host';

/**
 * Multi-plane ADDFB2 as framebuffer_check() and drm_gem_fb_init_with_funcs() judge it
 * (drivers/gpu/drm/drm_framebuffer.c): a 64x32 NV12 buffer is a 64x32 luma plane and a 32x16
 * plane of Cb/Cr pairs, both 64 bytes a row here.
 */
const W = 64;
const H = 32;
let dev: KmsDevice;
let luma: number;
let chroma: number;
let host: ReturnType<typeof nv12Host>;

beforeEach(() => {
  host = nv12Host();
  dev = host.openKms(host.profile.kms.devPath);
  luma = dev.createDumb(W, H, 8).handle; // pitch 64; 2048 bytes, a page once rounded
  chroma = dev.createDumb(W, H / 2, 8).handle; // 1024 bytes, a page once rounded
});
afterEach(() => host.stop());

const nv12 = (over: Partial<AddFb2Args> = {}): AddFb2Args => ({
  width: W, height: H, pixelFormat: DRM_FORMAT.NV12, flags: 0, handles: [luma, chroma], pitches: [W, W], offsets: [0, 0], modifiers: [0n, 0n], ...over,
});
const code = (a: AddFb2Args) => errOf(() => dev.addFb2(a)).code;

test('a two-plane NV12 fb is made from two objects, or from one with the chroma at an offset', () => {
  expect(dev.addFb2(nv12())).toBeGreaterThan(0);
  const both = dev.createDumb(W, H + H / 2, 8).handle;
  const fb = dev.addFb2(nv12({ handles: [both, both], offsets: [0, W * H] }));
  const made = host.card.fbs.get(fb)!;
  expect([made.objs.length, made.objs[0] === made.objs[1], made.offsets]).toEqual([2, true, [0, W * H]]);
  // With modifiers, every plane carries the same one.
  expect(dev.addFb2(nv12({ flags: DRM_MODE_FB_MODIFIERS, modifiers: [DRM_FORMAT_MOD.LINEAR, DRM_FORMAT_MOD.LINEAR] }))).toBeGreaterThan(0);
});

test('each used plane needs a handle and a pitch of at least its width in bytes: EINVAL', () => {
  expect(code(nv12({ handles: [luma, 0] }))).toBe('EINVAL');
  expect(code(nv12({ handles: [luma] }))).toBe('EINVAL');
  expect(code(nv12({ pitches: [W, W - 2] }))).toBe('EINVAL'); // 32 Cb/Cr pairs take 64 bytes
  expect(code(nv12({ pitches: [W - 1, W] }))).toBe('EINVAL');
});

test('a plane ending beyond 4 GiB is ERANGE; one beyond its object is EINVAL', () => {
  expect(code(nv12({ offsets: [0, 0xffffffff - 100] }))).toBe('ERANGE');
  // The chroma plane takes 1024 bytes: at 3072 it just fits its page-sized object, at 3073 not.
  expect(dev.addFb2(nv12({ offsets: [0, 3072] }))).toBeGreaterThan(0);
  expect(code(nv12({ offsets: [0, 3073] }))).toBe('EINVAL');
});

test('modifiers: only with DRM_MODE_FB_MODIFIERS, and the same on every plane', () => {
  expect(code(nv12({ modifiers: [0n, DRM_FORMAT_MOD.LINEAR + 1n] }))).toBe('EINVAL');
  expect(code(nv12({ flags: DRM_MODE_FB_MODIFIERS, modifiers: [DRM_FORMAT_MOD.LINEAR, DRM_FORMAT_MOD.I915_X_TILED] }))).toBe('EINVAL');
  // vkms takes NV12 linear only.
  expect(code(nv12({ flags: DRM_MODE_FB_MODIFIERS, modifiers: [DRM_FORMAT_MOD.I915_X_TILED, DRM_FORMAT_MOD.I915_X_TILED] }))).toBe('EINVAL');
});

test('unused planes: their modifier must be zero always, their handle, pitch and offset only with the flag', () => {
  const xr = (over: Partial<AddFb2Args>) => ({ width: W, height: H, pixelFormat: DRM_FORMAT.XRGB8888, flags: 0, handles: [luma], pitches: [W * 4], offsets: [0], modifiers: [0n], ...over });
  const big = dev.createDumb(W, H, 32).handle;
  // Pre-FB_MODIFIERS userspace did not clear the structs: the kernel ignores the leftovers.
  expect(dev.addFb2(xr({ handles: [big, chroma], pitches: [W * 4, 64], offsets: [0, 8] }))).toBeGreaterThan(0);
  expect(code(xr({ handles: [big], modifiers: [0n, DRM_FORMAT_MOD.LINEAR + 1n] }))).toBe('EINVAL');
  const mods = { flags: DRM_MODE_FB_MODIFIERS, modifiers: [DRM_FORMAT_MOD.LINEAR] };
  expect(code(xr({ ...mods, handles: [big, chroma] }))).toBe('EINVAL');
  expect(code(xr({ ...mods, handles: [big], pitches: [W * 4, 64] }))).toBe('EINVAL');
  expect(code(xr({ ...mods, handles: [big], pitches: [W * 4], offsets: [0, 8] }))).toBe('EINVAL');
  expect(dev.addFb2(xr({ ...mods, handles: [big] }))).toBeGreaterThan(0);
});

test('a plane that does not list NV12 cannot show it; one that does can', () => {
  const fb = dev.addFb2(nv12());
  expect(host.card.fbs.get(fb)!.format).toBe(DRM_FORMAT.NV12);
  const planes = host.card.built.planes;
  expect(planes.find((p) => p.type === 'primary')!.formats).not.toContain(DRM_FORMAT.NV12);
  expect(planes.find((p) => p.type === 'overlay')!.formats).toContain(DRM_FORMAT.NV12);
});
