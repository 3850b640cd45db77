import { DRM_FORMAT } from '../../src/kernel/constants';
import { openHost } from '../../src/kernel/host';
import type { Host } from '../../src/kernel/host';
import type { KmsDevice } from '../../src/kernel/types';
import { StandIns } from '../../src/kms/stand-ins';
import { createSurface, freeSurface, unmapSurface } from '../../src/kms/surface';

let host: Host;
let dev: KmsDevice;
beforeEach(() => {
  host = openHost('sim:vkms');
  dev = host.backend.openKms(host.cards()[0]);
});
afterEach(() => host.close());

const card = () => host.sim!.card;

test('a surface is a mapped dumb buffer with its fb; freeing it leaves nothing behind', () => {
  const [gems, fbs] = [card().gemHandleCount, card().fbCount];
  const s = createSurface(dev, { width: 64, height: 32, format: DRM_FORMAT.XRGB8888 });
  expect(s.map!.length).toBe(s.size);
  expect(s.pitch).toBeGreaterThanOrEqual(64 * 4);
  s.map!.fill(0xab, 0, 4);
  expect(dev.getFb2(s.fb)).toMatchObject({ width: 64, height: 32, pixelFormat: DRM_FORMAT.XRGB8888 });
  freeSurface(dev, s);
  expect(s.map).toBeNull();
  expect([card().gemHandleCount, card().fbCount]).toEqual([gems + 1, fbs]); // + the GETFB2 handle above
});

test('a failed ADDFB2 or mmap removes what was made so far', () => {
  const [gems, fbs] = [card().gemHandleCount, card().fbCount];
  card().failNext('DRM_IOCTL_MODE_ADDFB2', 'EINVAL');
  expect(() => createSurface(dev, { width: 64, height: 32, format: DRM_FORMAT.XRGB8888 })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  card().failNext('mmap', 'ENOMEM');
  expect(() => createSurface(dev, { width: 64, height: 32, format: DRM_FORMAT.XRGB8888 })).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
  expect([card().gemHandleCount, card().fbCount]).toEqual([gems, fbs]);
});

test('an unmapped surface no longer keeps the file, and master, after close', () => {
  const s = createSurface(dev, { width: 32, height: 32, format: DRM_FORMAT.XRGB8888 });
  unmapSurface(dev, s);
  unmapSurface(dev, s); // once unmapped, again is nothing
  dev.close();
  const other = host.backend.openKms(host.cards()[0]);
  expect(() => other.setMaster()).not.toThrow();
  other.close();
});

test('free tries every step and throws the first failure (the fd already closed)', () => {
  const s = createSurface(dev, { width: 32, height: 32, format: DRM_FORMAT.XRGB8888, map: false });
  dev.close();
  expect(() => freeSurface(dev, s)).toThrow(expect.objectContaining({ code: 'EBADF' }));
});

test('stand-ins: opaque ones are painted and unmapped at once, alpha ones stay clear; cleanup frees all', () => {
  const [gems, fbs] = [card().gemHandleCount, card().fbCount];
  const st = new StandIns(dev);
  const grey = st.create({ width: 128, height: 64, format: DRM_FORMAT.XRGB8888, modifier: 0n });
  const clear = st.create({ width: 64, height: 64, format: DRM_FORMAT.ARGB8888, modifier: 0n });
  const px = (fb: number, x: number, y: number) => {
    const b = card().fbs.get(fb)!.buffer;
    return b.pixels.readUInt32LE(y * b.stride + x * 4);
  };
  expect([px(grey, 0, 0), px(grey, 40, 0)]).toEqual([0x303030, 0x383838]);
  expect(px(clear, 10, 10)).toBe(0);
  st.cleanup();
  expect([card().gemHandleCount, card().fbCount]).toEqual([gems, fbs]);
  // Nothing mapped is left: closing really closes.
  dev.close();
  const other = host.backend.openKms(host.cards()[0]);
  expect(() => other.setMaster()).not.toThrow();
  other.close();
});
