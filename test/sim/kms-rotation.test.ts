import { DRM_CLIENT_CAP, DRM_FORMAT, DRM_FORMAT_MOD, DRM_MODE_FB_MODIFIERS } from '../../src/kernel/constants';
import type { KernelError } from '../../src/kernel/errors';
import { SimHost } from '../../src/kernel/sim/host';
import { loadProfile } from '../../src/kernel/sim/load-profile';
import { renderCrtc } from '../../src/kernel/sim/render';
import { readTopology } from '../../src/kernel/topology';
import type { KmsDevice } from '../../src/kernel/types';
import { reflectYRotation, showProps } from '../../src/sources/plane-props';

/** vkms with a `rotation` property on its overlays, as drivers that offer one create it. */
function hostWith(rotations: string[]): SimHost {
  const p = loadProfile('vkms');
  p.kms = { ...p.kms, planesPerCrtc: p.kms.planesPerCrtc.map((t) => (t.type === 'overlay' ? { ...t, rotations } : t)) };
  return new SimHost(p);
}

const W = 32;
const H = 24;
let host: SimHost;
let dev: KmsDevice;
afterEach(() => {
  dev?.close();
  host?.stop();
});

/** An overlay showing a W×H fb whose row y is red 10*(y+1), column x green 8*x. */
function setup(rotations: string[]) {
  host = hostWith(rotations);
  dev = host.openKms('/dev/dri/card0');
  dev.setClientCap(DRM_CLIENT_CAP.ATOMIC, 1);
  const t = readTopology(dev);
  const crtc = t.crtcs.find((c) => c.active)!;
  const overlay = t.planes.find((p) => p.type === 'overlay')!;
  const d = dev.createDumb(W, H, 32);
  const map = dev.mmap(dev.mapDumb(d.handle), d.size);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) map.set([0, 8 * x, 10 * (y + 1), 0], y * d.pitch + x * 4);
  const fb = dev.addFb2({ width: W, height: H, pixelFormat: DRM_FORMAT.XRGB8888, flags: DRM_MODE_FB_MODIFIERS, handles: [d.handle], pitches: [d.pitch], offsets: [0], modifiers: [DRM_FORMAT_MOD.LINEAR] });
  /** What the monitor shows at (x, y) of the overlay; one render per committed picture. */
  let pic: ReturnType<typeof renderCrtc> | null = null;
  let shownFb = -1;
  const at = (x: number, y: number) => {
    const now = dev.getPlane(overlay.id).fbId;
    if (!pic || now !== shownFb) [pic, shownFb] = [renderCrtc(host.card, crtc.id), now];
    const o = ((20 + y) * pic.width + 20 + x) * 4;
    return [pic.rgba[o], pic.rgba[o + 1]];
  };
  return { t, crtc, overlay, fb, at };
}

test('rotate-180 with reflect-x is a vertical mirror: the first row shows at the bottom, columns stay', () => {
  const { t, crtc, overlay, fb, at } = setup(['rotate-0', 'rotate-180', 'reflect-x']);
  const r = reflectYRotation(t, overlay.id);
  expect(r).toBe((1n << 2n) | (1n << 4n));
  dev.atomic(showProps(t, overlay.id, crtc.id, fb, { x: 0, y: 0, w: W, h: H }, { x: 20, y: 20, w: W, h: H }, true), 0);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) expect(at(x, y)).toEqual([10 * (H - y), 8 * x]);
});

test('reflect-y itself, where offered, is preferred', () => {
  const { t, crtc, overlay, fb, at } = setup(['rotate-0', 'rotate-180', 'reflect-x', 'reflect-y']);
  expect(reflectYRotation(t, overlay.id)).toBe(1n | (1n << 5n));
  dev.atomic(showProps(t, overlay.id, crtc.id, fb, { x: 0, y: 0, w: W, h: H }, { x: 20, y: 20, w: W, h: H }, true), 0);
  expect(at(3, 0)).toEqual([10 * H, 24]);
  expect(at(3, H - 1)).toEqual([10, 24]);
});

test('the kernel refuses bits the plane does not offer, no rotate bit or two, and a linear fb turned a quarter', () => {
  const { t, crtc, overlay, fb } = setup(['rotate-0', 'rotate-90', 'rotate-180', 'rotate-270']);
  expect(reflectYRotation(t, overlay.id)).toBeNull();
  const rot = (value: bigint) => [...showProps(t, overlay.id, crtc.id, fb, { x: 0, y: 0, w: W, h: H }, { x: 20, y: 20, w: W, h: H }).filter((p) => p.propId !== overlay.props.rotation.id), { objectId: overlay.id, propId: overlay.props.rotation.id, value }];
  const err = (value: bigint) => {
    try {
      dev.atomic(rot(value), 0);
    } catch (e) {
      return `${(e as KernelError).code} ${(e as Error).message}`;
    }
    return 'accepted';
  };
  expect(err(1n << 5n)).toMatch(/^EINVAL .*sets bits the plane does not offer/);
  expect(err(0n)).toMatch(/^EINVAL .*needs exactly one rotate-\* bit/);
  expect(err(1n | 4n)).toMatch(/^EINVAL .*needs exactly one rotate-\* bit/);
  expect(err(2n)).toMatch(/^EINVAL .*rotation 90\/270 needs a Y or Yf tiled fb/);
  expect(err(4n)).toBe('accepted');
});
