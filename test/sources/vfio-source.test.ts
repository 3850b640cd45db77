import { openHost } from '../../src/kernel/host';
import type { Host } from '../../src/kernel/host';
import { readTopology } from '../../src/kernel/topology';
import type { KmsDevice } from '../../src/kernel/types';
import type { FramePipeline } from '../../src/sources/pipeline';
import type { VfioSource } from '../../src/sources/vfio-source';
import { MBOCHS_UUID as UUID, vfioRig } from '../helpers/vfio-rig';

const W = 256;
const H = 192;
const tick = () => new Promise((r) => setImmediate(r));

let host: Host;
let dev: KmsDevice;
let source: VfioSource;
let pipeline: FramePipeline;

let close: () => void;
beforeEach(() => {
  host = openHost('sim:vkms');
  ({ dev, source, pipeline, close } = vfioRig(host, W, H, { x: 16, y: 16 }, 0x11));
});

afterEach(() => {
  close();
  host.close();
});

test('10 000 guest flips reach the screen with 0 bytes copied, and no fb, GEM handle or dma-buf fd leaks', async () => {
  const sim = host.sim!;
  const fbsBefore = sim.card.fbs.size;
  const fdsBefore = sim.dmabufs.openCount;
  const gemBefore = sim.card.gemHandleCount;
  for (let i = 0; i < 10_000; i++) {
    sim.vfio.guestFlip(UUID, 'primary');
    source.poll(pipeline);
    sim.card.advanceVblank();
    await tick();
  }
  expect(pipeline.counters.received).toBe(10_000);
  expect(pipeline.counters.flipped).toBeGreaterThanOrEqual(9_999);
  expect(pipeline.counters.bytesCopied).toBe(0);
  expect(sim.card.fbs.size - fbsBefore).toBeLessThanOrEqual(2); // what is on screen, and at most one in flight
  expect(source.cachedFbs).toBeLessThanOrEqual(2);
  expect(sim.dmabufs.openCount).toBe(fdsBefore);
  expect(sim.card.gemHandleCount - gemBefore).toBeLessThanOrEqual(2);
}, 120_000);

test('what the guest shows is what the monitor shows, pixel for pixel', async () => {
  const sim = host.sim!;
  const pixels = Buffer.alloc(W * H * 4);
  for (let i = 0; i < pixels.length; i += 4) pixels.set([i % 251, (i >> 8) % 253, 7, 0], i);
  sim.vfio.guestFlip(UUID, 'primary', pixels);
  source.poll(pipeline);
  sim.card.advanceVblank();
  await tick();
  const { renderCrtc } = await import('../../src/kernel/sim/render');
  const pic = renderCrtc(sim.card, readTopology(dev).crtcs[0].id);
  for (const [x, y] of [[0, 0], [100, 50], [W - 1, H - 1]]) {
    const o = ((y + 16) * pic.width + (x + 16)) * 4;
    const g = (y * W + x) * 4;
    expect([pic.rgba[o], pic.rgba[o + 1], pic.rgba[o + 2]]).toEqual([pixels[g + 2], pixels[g + 1], pixels[g]]);
  }
});

test('when flips are slow, a newer frame replaces the queued one instead of queueing behind it', async () => {
  const sim = host.sim!;
  for (let i = 0; i < 6; i++) {
    sim.vfio.guestFlip(UUID, 'primary');
    source.poll(pipeline);
  }
  // One commit in flight, one in the mailbox, four replaced.
  expect(pipeline.counters).toMatchObject({ received: 6, dropped: 4, flipped: 0 });
  sim.card.advanceVblank();
  await tick();
  sim.card.advanceVblank();
  await tick();
  expect(pipeline.counters.flipped).toBe(2);
  expect(source.cachedFbs).toBeLessThanOrEqual(2);
});

test('a poll with nothing new does nothing', () => {
  source.poll(pipeline);
  const before = { ...pipeline.counters };
  source.poll(pipeline);
  expect(pipeline.counters).toEqual(before);
});
