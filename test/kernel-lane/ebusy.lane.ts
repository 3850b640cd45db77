/**
 * The frame pipeline's nonblocking flips on real vkms, where the kernel answers EBUSY to a
 * nonblocking commit while one is pending on the CRTC (drm_atomic_helper.c stall_checks). A
 * second client of the CRTC (here: commits of our own fd on the cursor plane, with their own
 * user_data, as another domain's or a restore's would be) keeps it busy while frames come in far
 * faster than vblank. Every commit and event the pipeline sees is logged underneath it.
 */
import { DRM_FORMAT, DRM_MODE_ATOMIC } from '../../src/kernel/constants';
import type { Topology, TopoPlane } from '../../src/kernel/topology';
import type { AtomicProp, KmsDevice } from '../../src/kernel/types';
import { planeOffProps, planeProps } from '../../src/kms/plane-props';
import type { PlaneAssignment } from '../../src/kms/types';
import { EventHub, sharedPipeline } from '../../src/sources/pipeline';
import type { FramePipeline, PipelineCounters } from '../../src/sources/pipeline';
import { ScanoutTarget } from '../../src/sources/scanout-target';
import type { FlipLog } from './flip-log';
import { recording, summarize } from './flip-log';
import type { DumbFb } from './guest';
import { collectMappings, dumbFb, emitPng, freeFb, Image, openVkmsDisplay, paint, sleep, Writeback } from './guest';
import { report } from './runner';

const WIN = { x: 320, y: 240, w: 192, h: 144 };
const FRAMES = 6;
/** Frame k: a pattern no other frame shares, so the writeback names the frame it shows. */
const FRAME = (k: number) => (x: number, y: number) => ((k * 40 + 30) << 16) | (((x >> 3) ^ (y >> 3)) & 1 ? 0xa000 : 0x2000) | ((x + y + k * 17) & 0xff);
const CURSOR = { w: 64, h: 64 };
/** user_data of the second client's commits: far from the pipeline's (1, 2, 3 …). */
const SIDE = 1n << 40n;

describe('frame pipeline on vkms: nonblocking flips under EBUSY', () => {
  let dev: KmsDevice;
  let t: Topology;
  let wb: Writeback;
  let crtcId = 0;
  let overlay: TopoPlane;
  let cursorPlane: TopoPlane;
  let host: Image;
  let hub: EventHub;
  let joined: ReturnType<typeof sharedPipeline>;
  let pipeline: FramePipeline;
  let target: ScanoutTarget;
  let disown: () => void = () => undefined;
  let unsubscribe: () => void = () => undefined;
  const log: FlipLog = { entries: [] };
  const errors: Error[] = [];
  const frames: DumbFb[] = [];
  let cursor: DumbFb;
  /** The second client: its commits in flight (by user_data), sent, refused with EBUSY. */
  const side = { pending: new Set<bigint>(), next: SIDE, sent: 0, ebusy: 0 };

  /** One nonblocking flip of the cursor plane by the second client; false when refused EBUSY. */
  const sideFlip = (x: number): boolean => {
    const props: AtomicProp[] = planeProps(t, { planeId: cursorPlane.id, crtcId, fbId: cursor.fb, src: { x: 0, y: 0, ...CURSOR }, dst: { x, y: 40, ...CURSOR } });
    const tag = side.next++;
    try {
      dev.atomic(props, DRM_MODE_ATOMIC.NONBLOCK | DRM_MODE_ATOMIC.PAGE_FLIP_EVENT, tag);
    } catch (e) {
      if ((e as { code?: string }).code !== 'EBUSY') throw e;
      side.ebusy++;
      return false;
    }
    side.sent++;
    side.pending.add(tag);
    return true;
  };
  const idle = async () => {
    for (let i = 0; i < 500 && (pipeline.hasFrame(overlay.id) || side.pending.size); i++) await sleep(5);
    if (pipeline.hasFrame(overlay.id) || side.pending.size) throw new Error(`flips still pending after 2.5 s (pipeline: ${pipeline.hasFrame(overlay.id)}, second client: ${side.pending.size})`);
  };
  const counters = (): PipelineCounters => ({ ...pipeline.plane(overlay.id) });

  beforeAll(async () => {
    ({ dev, t, wb, crtcId } = await openVkmsDisplay());
    host = await wb.capture(crtcId);
    overlay = t.planes.find((p) => p.type === 'overlay')!;
    cursorPlane = t.planes.find((p) => p.type === 'cursor')!;
    for (let k = 0; k < FRAMES; k++) {
      const f = dumbFb(dev, WIN.w, WIN.h);
      paint(f.map, WIN.w, WIN.h, f.pitch, FRAME(k));
      frames.push(f);
    }
    cursor = dumbFb(dev, CURSOR.w, CURSOR.h, DRM_FORMAT.ARGB8888);
    paint(cursor.map, CURSOR.w, CURSOR.h, cursor.pitch, () => 0xff00ff00);
    const rec = recording(dev, log);
    hub = new EventHub(rec, (e) => errors.push(e));
    joined = sharedPipeline(hub, rec, crtcId);
    pipeline = joined.pipeline;
    const plane: PlaneAssignment = { key: 'window', from: 'primary', planeId: overlay.id, planeType: 'overlay', fbId: 0, src: { x: 0, y: 0, w: WIN.w, h: WIN.h }, dst: WIN, zpos: null, setZpos: false };
    target = new ScanoutTarget(rec, t, plane, crtcId, pipeline);
    disown = pipeline.own([overlay.id], { retire: () => undefined, error: (e) => errors.push(e) });
    // The second client hears of its flips on the same fd (one watcher per fd: the hub's).
    unsubscribe = hub.subscribe((ev) => {
      for (const e of ev) side.pending.delete(e.userData);
    });
  });

  afterAll(async () => {
    try {
      await idle();
      dev.atomic([...planeOffProps(t, overlay.id), ...planeOffProps(t, cursorPlane.id)], 0);
    } finally {
      unsubscribe();
      disown();
      joined.leave();
      for (const f of frames.splice(0)) freeFb(dev, f);
      freeFb(dev, cursor);
      dev.close();
      await collectMappings();
    }
  });

  test("the kernel refuses a nonblocking commit with EBUSY while the pipeline's flip is pending", async () => {
    let refused = false;
    for (let i = 0; i < 20 && !refused; i++) {
      await idle();
      target.show(frames[0].fb, WIN.w, WIN.h); // nothing in flight: committed at once
      refused = !sideFlip(600 + i);
    }
    expect([refused, errors]).toEqual([true, []]);
  });

  test('a pipeline commit refused with EBUSY stays queued, is retried, and its frame is shown', async () => {
    await idle();
    const before = counters();
    let k = 1;
    for (let i = 0; i < 20 && counters().busy === before.busy; i++) {
      await idle();
      if (!sideFlip(600 + i)) continue;
      k = 1 + (i % (FRAMES - 1));
      target.show(frames[k].fb, WIN.w, WIN.h); // the CRTC is busy with the second client's flip
    }
    await idle();
    const after = counters();
    expect(after.busy).toBeGreaterThan(before.busy);
    expect(dev.getPlane(overlay.id).fbId).toBe(frames[k].fb);
    expect([after.received - before.received, after.dropped - before.dropped]).toEqual([after.flipped - before.flipped, 0]);
    expect(errors).toEqual([]);
  });

  test('frames far faster than vblank while the CRTC is kept busy: the last one is on screen, replaced ones counted, never a commit while one is in flight', async () => {
    const before = counters();
    const from = log.entries.length;
    const N = 600;
    let stop = false;
    // The second client flips its cursor whenever its last flip is done, every few ms.
    const storm = (async () => {
      for (let x = 0; !stop; x = (x + 8) % 900) {
        if (!side.pending.size) sideFlip(x);
        await sleep(3);
      }
    })();
    let last = 0;
    for (let i = 0; i < N; i++) {
      last = i % FRAMES;
      target.show(frames[last].fb, WIN.w, WIN.h);
      if (i % 3 === 2) await sleep(1);
    }
    stop = true;
    await storm;
    await idle();
    const c = counters();
    const d = { received: c.received - before.received, flipped: c.flipped - before.flipped, dropped: c.dropped - before.dropped, busy: c.busy - before.busy, lost: c.lostFlips - before.lostFlips };
    const s = summarize({ entries: log.entries.slice(from) });
    report(`# ebusy: ${d.received} frames, ${d.flipped} flipped, ${d.dropped} replaced, ${d.busy} pipeline commits refused EBUSY (${s.ebusy} in the log), ${side.ebusy} of the second client's; ${s.accepted} commits, ${s.completed} flip events, ${d.lost} lost`);
    // Every frame was either shown or replaced by a newer one, and each replacement is counted.
    expect(d.received).toBe(N);
    expect(d.flipped + d.dropped).toBe(N);
    expect(d.dropped).toBeGreaterThan(0);
    // Each accepted commit carried one frame of this plane and got its flip event.
    expect([s.accepted, s.completed]).toEqual([d.flipped, d.flipped]);
    // The pipeline's refusals are the kernel's EBUSYs, all counted; no other error.
    expect(s.attempts - s.accepted).toBe(s.ebusy);
    expect(d.busy).toBe(s.ebusy);
    // One commit in flight at most: none issued before the last one's event came (a flip taken
    // as lost would be the only excuse, and is counted).
    expect(s.overlapping).toBeLessThanOrEqual(d.lost);
    // The newest frame is the one on screen, pixel for pixel.
    dev.atomic(planeOffProps(t, cursorPlane.id), 0);
    expect(dev.getPlane(overlay.id).fbId).toBe(frames[last].fb);
    const want = new Image(host.width, host.height);
    want.data.set(host.data);
    want.layer(WIN.x, WIN.y, WIN.w, WIN.h, FRAME(last));
    const got = await wb.capture(crtcId);
    emitPng('ebusy-last-frame', got);
    expect(got.diff(want)).toEqual([]);
    expect(errors).toEqual([]);
  }, 120_000);
});
