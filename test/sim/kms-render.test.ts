import { DRM_FORMAT } from '../../src/kernel/constants';
import { render } from '../../src/kernel/sim/render';
import { simKms } from '../helpers/sim';

/** What render() draws: formats, pre-multiplied alpha, nearest-neighbour scaling, clipping. */

function fill(dev: ReturnType<typeof simKms>['dev'], dumb: { handle: number; size: number }, px: number[]): Buffer {
  const map = dev.mmap(dev.mapDumb(dumb.handle), dumb.size);
  for (let i = 0; i + px.length <= map.length; i += px.length) map.set(px, i);
  return map;
}

test('ARGB8888 blends pre-multiplied over the plane below; XBGR8888 and RGB565 decode', () => {
  const { dev, f, host } = simKms('gvt-skylake');
  const W = f.mode.hdisplay;
  const bg = f.makeFb();
  fill(dev, bg.dumb, [255, 255, 255, 255]); // white
  const over = f.makeFb(16, 16, DRM_FORMAT.ARGB8888);
  fill(dev, over.dumb, [0, 0, 128, 128]); // B G R A: half-transparent red, pre-multiplied
  const xb = f.makeFb(16, 16, DRM_FORMAT.XBGR8888);
  fill(dev, xb.dumb, [10, 20, 30, 0]); // R G B X
  const d565 = dev.createDumb(16, 16, 16);
  const fb565 = dev.addFb2({ width: 16, height: 16, pixelFormat: DRM_FORMAT.RGB565, flags: 0, handles: [d565.handle], pitches: [d565.pitch], offsets: [0], modifiers: [0n] });
  fill(dev, d565, [0x1f, 0x00]); // pure blue in 5:6:5 (0x001f)
  const sprites = f.t.planes.filter((p) => p.type === 'overlay' && p.possibleCrtcs.includes(f.crtc.id));
  dev.atomic([
    ...f.planeProps(f.primary, bg.fb, W, f.mode.vdisplay),
    ...f.planeProps(sprites[0], over.fb, 16, 16, 0, 0),
    ...f.planeProps(sprites[1], xb.fb, 16, 16, 100, 0),
    ...f.planeProps(sprites[2], fb565, 16, 16, 200, 0),
  ], 0);
  const pic = render(host.card, f.crtc.id);
  const at = (x: number, y: number) => [...pic.rgba.subarray((y * W + x) * 4, (y * W + x) * 4 + 4)];
  expect(at(5, 5)).toEqual([255, 127, 127, 255]);
  expect(at(105, 5)).toEqual([10, 20, 30, 255]);
  expect(at(205, 5)).toEqual([0, 0, 255, 255]);
  expect(at(50, 50)).toEqual([255, 255, 255, 255]);
});

test('a scaled sprite samples nearest-neighbour; a plane hanging off the screen is clipped', () => {
  const { dev, f, host } = simKms('gvt-skylake');
  const W = f.mode.hdisplay;
  // 8x8 is the smallest source the Skylake scaler takes (skl_update_scaler): four 4x4 quadrants.
  const src = f.makeFb(8, 8);
  const map = dev.mmap(dev.mapDumb(src.dumb.handle), src.dumb.size);
  const colour = (x: number, y: number) => (y < 4 ? (x < 4 ? [0, 0, 255, 0] : [0, 255, 0, 0]) : x < 4 ? [255, 0, 0, 0] : [255, 255, 255, 0]);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) map.set(colour(x, y), y * src.dumb.pitch + x * 4);
  const sprite = f.overlay!;
  const props = f.planeProps(sprite, src.fb, 8, 8, 10, 10).map((p) =>
    p.propId === sprite.props.CRTC_W.id ? { ...p, value: 24n } : p.propId === sprite.props.CRTC_H.id ? { ...p, value: 24n } : p);
  dev.atomic(props, 0);
  let pic = render(host.card, f.crtc.id);
  const at = (x: number, y: number) => [...pic.rgba.subarray((y * W + x) * 4, (y * W + x) * 4 + 3)];
  expect([at(10, 10), at(21, 21), at(22, 10), at(33, 33), at(10, 22)]).toEqual([[255, 0, 0], [255, 0, 0], [0, 255, 0], [255, 255, 255], [0, 0, 255]]);
  const off = f.planeProps(sprite, src.fb, 8, 8, W - 1, 0);
  dev.atomic(off, 0);
  pic = render(host.card, f.crtc.id);
  expect(at(W - 1, 0)).toEqual([255, 0, 0]);
});
