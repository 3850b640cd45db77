import { fourcc } from '../../src/kernel/constants';
import { openHost } from '../../src/kernel/host';
import type { Host } from '../../src/kernel/host';
import { readTopology } from '../../src/kernel/topology';
import type { Topology } from '../../src/kernel/topology';
import type { AtomicProp, DrmEvent, KmsDevice } from '../../src/kernel/types';
import { EventHub, FLIP_TIMEOUT_MS, FramePipeline, sharedPipeline } from '../../src/sources/pipeline';
import type { Frame } from '../../src/sources/pipeline';
import { showProps } from '../../src/sources/plane-props';

/**
 * The frame pipeline against the simulated card, which refuses a nonblocking commit on a CRTC
 * with a flip pending (EBUSY) as the kernel does, and sends each flip event with its commit's
 * user_data.
 */
const W = 32;
let host: Host;
let dev: KmsDevice;
let t: Topology;
let crtc: number;
let overlays: number[];
const tick = (ms = 1) => new Promise((r) => setTimeout(r, ms));

beforeEach(() => {
  host = openHost('sim:vkms');
  dev = host.sim!.openKms(host.sim!.profile.kms.devPath);
  dev.setMaster();
  t = readTopology(dev);
  crtc = t.crtcs[0].id;
  overlays = t.planes.filter((p) => p.type === 'overlay').map((p) => p.id);
});
afterEach(() => {
  dev.close();
  host.close();
});

function fb(): number {
  const d = dev.createDumb(W, W, 32);
  return dev.addFb2({ width: W, height: W, pixelFormat: fourcc('XR24'), flags: 0, handles: [d.handle], pitches: [d.pitch], offsets: [0], modifiers: [0n] });
}
const frame = (planeId: number, id: number, x = 0): Frame => ({ planeId, fbs: [id], props: showProps(t, planeId, crtc, id, { x: 0, y: 0, w: W, h: W }, { x, y: 0, w: W, h: W }) });
const onScreen = (planeId: number) => dev.getPlane(planeId).fbId;

/** The device with its flip events filtered, as a driver or a lossy path would deliver them. */
function filtered(keep: (e: DrmEvent) => boolean, extra: DrmEvent[][] = []): KmsDevice {
  return new Proxy(dev, {
    get(target, k) {
      if (k === 'watchEvents') {
        return (cb: (ev: DrmEvent[]) => void) => {
          for (const batch of extra) setImmediate(() => cb(batch));
          return target.watchEvents((ev) => ev.filter(keep).length && cb(ev.filter(keep)));
        };
      }
      const v = Reflect.get(target, k) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

test('an EBUSY storm loses no frame: refused commits are re-queued, the newest frame wins, and every replaced one is counted', async () => {
  const hub = new EventHub(dev);
  const retired: number[] = [];
  const p = new FramePipeline(dev, crtc, hub, (fbs) => retired.push(...fbs), (e) => {
    throw e;
  });
  const fbs = Array.from({ length: 6 }, fb);
  let injected = 0;
  let last = 0;
  for (let i = 0; i < 300; i++) {
    // Bursts of refusals: the next 1-5 commits on the card are EBUSY.
    if (i % 7 === 0) for (let k = 0; k < 1 + (i % 5); k++, injected++) host.sim!.card.failNext('DRM_IOCTL_MODE_ATOMIC', 'EBUSY');
    last = fbs[i % fbs.length];
    p.submit(frame(overlays[0], last));
    await tick();
    if (i % 3 === 0) host.sim!.card.advanceVblank();
  }
  for (let i = 0; i < 50 && (p.pending(last) || p.counters.flipped + p.counters.dropped < 300); i++) {
    await tick(5);
    host.sim!.card.advanceVblank();
  }
  const c = p.counters;
  expect(c.received).toBe(300);
  expect(c.busy).toBe(injected);
  // Each frame was shown or replaced by a newer one before it could be: none just vanished.
  expect(c.flipped + c.dropped).toBe(300);
  expect(c.dropped).toBeGreaterThan(0);
  expect(onScreen(overlays[0])).toBe(last);
  expect(p.inUse(last)).toBe(true);
  p.stop();
});

test('two domains on one CRTC share its one pipeline: never two commits in flight, so the kernel never says EBUSY', async () => {
  const hub = new EventHub(dev);
  const a = sharedPipeline(hub, dev, crtc);
  const b = sharedPipeline(hub, dev, crtc);
  expect(a.pipeline).toBe(b.pipeline);
  const errors: Error[] = [];
  const mine = { a: [] as number[], b: [] as number[] };
  a.pipeline.own([overlays[0]], { retire: (f) => mine.a.push(...f), error: (e) => errors.push(e) });
  b.pipeline.own([overlays[1]], { retire: (f) => mine.b.push(...f), error: (e) => errors.push(e) });
  const fa = [fb(), fb(), fb()];
  const fbB = [fb(), fb(), fb()];
  // Every commit is counted, with whether a flip was still pending on the CRTC when it was made.
  let commits = 0;
  let overlapping = 0;
  const atomic = dev.atomic.bind(dev);
  dev.atomic = (props: AtomicProp[], flags: number, ud?: bigint) => {
    if (host.sim!.card.hasPendingFlip(crtc)) overlapping++;
    atomic(props, flags, ud);
    commits++;
  };
  for (let i = 0; i < 200; i++) {
    if (i % 2) a.pipeline.submit(frame(overlays[0], fa[i % 3]));
    else b.pipeline.submit(frame(overlays[1], fbB[i % 3], 64));
    await tick();
    if (i % 4 === 0) host.sim!.card.advanceVblank();
  }
  for (let i = 0; i < 10; i++) {
    await tick(5);
    host.sim!.card.advanceVblank();
  }
  expect(overlapping).toBe(0);
  // Frames of both domains went out together: fewer commits than frames shown.
  expect(commits).toBeLessThan(a.pipeline.counters.flipped);
  const c = a.pipeline.counters;
  expect(c.busy).toBe(0);
  expect(errors).toEqual([]);
  expect(c.flipped + c.dropped).toBe(200);
  expect([onScreen(overlays[0]), onScreen(overlays[1])]).toEqual([fa[199 % 3], fbB[198 % 3]]);
  // Each domain gets back only its own framebuffers.
  expect(mine.a.every((f) => fa.includes(f)) && mine.b.every((f) => fbB.includes(f))).toBe(true);
  expect(mine.a.length).toBeGreaterThan(0);
  expect(mine.b.length).toBeGreaterThan(0);
  a.leave();
  b.leave();
});

test("a flip event is matched by its user_data: another commit's event on the same CRTC does not land ours", async () => {
  // Delivered while our flip is in flight, naming our CRTC: only user_data tells them apart.
  const stranger: DrmEvent = { type: 2, userData: 987654321n, tvSec: 0, tvUsec: 0, sequence: 0, crtcId: 0 };
  const d = filtered(() => true, [[{ ...stranger, crtcId: crtc }]]);
  const p = new FramePipeline(d, crtc, new EventHub(d));
  const f = fb();
  p.submit(frame(overlays[0], f));
  await tick(5);
  expect(p.counters.flipped).toBe(0);
  expect(p.pending(f)).toBe(true);
  host.sim!.card.advanceVblank();
  await tick(5);
  expect(p.counters.flipped).toBe(1);
  expect(p.pending(f)).toBe(false);
  p.stop();
});

test('a lost flip event is timed out and counted; the pipeline recovers and shows the next frame', async () => {
  let drop = true;
  const d = filtered(() => !drop);
  const p = new FramePipeline(d, crtc, new EventHub(d));
  const [f1, f2] = [fb(), fb()];
  p.submit(frame(overlays[0], f1));
  host.sim!.card.advanceVblank(); // the flip completes; its event is lost on the way
  await tick(5);
  p.submit(frame(overlays[0], f2));
  expect(p.counters).toMatchObject({ flipped: 0, lostFlips: 0 });
  await tick(FLIP_TIMEOUT_MS + 50);
  drop = false;
  expect(p.counters).toMatchObject({ flipped: 1, lostFlips: 1 });
  // The timeout committed the queued frame; its event arrives as usual.
  host.sim!.card.advanceVblank();
  await tick(5);
  expect(p.counters).toMatchObject({ received: 2, flipped: 2, lostFlips: 1, dropped: 0 });
  expect(onScreen(overlays[0])).toBe(f2);
  p.stop();
});

test("a pipeline whose event handling throws does not keep the device's other listeners from their events", async () => {
  const errors: Error[] = [];
  const hub = new EventHub(dev, (e) => errors.push(e));
  hub.subscribe(() => {
    throw new Error('broken listener');
  });
  const p = new FramePipeline(dev, crtc, hub);
  const f = fb();
  p.submit(frame(overlays[0], f));
  host.sim!.card.advanceVblank();
  await tick(5);
  expect(p.counters.flipped).toBe(1);
  expect(errors.map((e) => e.message)).toEqual(['broken listener']);
  p.stop();
});
