/**
 * Bytes the JS heap takes per frame, measured directly rather than through GC pauses:
 * `node --expose-gc --min-semi-space-size=128 --max-semi-space-size=128
 * dist/bench/frame-path-alloc.js`. The young generation is made large enough that no scavenge runs during the loop (checked: a loop that saw
 * a GC says so), so heapUsed after minus before, over N frames, is what they allocated.
 * - flip: ScanoutTarget.show → the pipeline's nonblocking commit → its flip event, on a kernel
 *   stand-in (no JS heap in ioctls), N frames back to back: the per-frame flip commit alone;
 * - dma-buf: the whole dma-buf path at 60 fps (harness playing QEMU over a real socketpair
 *   included) on the same stand-in, as bench/frame-path.ts's stand-in row runs it.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { openHost } from '../src/kernel/host';
import { readTopology } from '../src/kernel/topology';
import type { DrmEvent, KmsDevice } from '../src/kernel/types';
import { EventHub, FramePipeline } from '../src/sources/pipeline';
import { ScanoutTarget } from '../src/sources/scanout-target';
import { dmabufRun } from './frame-path';

const gc = (globalThis as { gc?: () => void }).gc;

/** Runs `body`, returning the heap it took and how many collections ran meanwhile. */
async function allocated(body: () => Promise<void> | void): Promise<{ bytes: number; gcs: number }> {
  let gcs = 0;
  const obs = new PerformanceObserver((l) => (gcs += l.getEntries().length));
  gc?.();
  gc?.();
  obs.observe({ entryTypes: ['gc'] });
  const before = process.memoryUsage().heapUsed;
  await body();
  const bytes = process.memoryUsage().heapUsed - before;
  await new Promise((r) => setImmediate(r));
  obs.disconnect();
  return { bytes, gcs };
}

async function flipLoop(frames: number): Promise<{ bytes: number; gcs: number }> {
  const host = openHost('sim:vkms');
  const sim = host.backend.openKms(host.cards()[0]);
  const t = readTopology(sim);
  let cb: ((ev: DrmEvent[]) => void) | null = null;
  let pending = 0n;
  const events: DrmEvent[] = [{ type: 2, userData: 0n, tvSec: 0, tvUsec: 0, sequence: 0, crtcId: 0 }];
  const dev = Object.assign(Object.create(sim) as KmsDevice, {
    atomic: (_p: unknown, _f: number, userData?: bigint) => void (pending = userData ?? 0n),
    watchEvents: (c: (ev: DrmEvent[]) => void) => ((cb = c), () => void (cb = null)),
  });
  const crtc = t.crtcs[0].id;
  const overlay = t.planes.find((p) => p.type === 'overlay')!;
  const plane = { key: 'p', from: 'primary' as const, planeId: overlay.id, planeType: 'overlay' as const, fbId: 0, src: { x: 0, y: 0, w: 1024, h: 768 }, dst: { x: 0, y: 0, w: 1024, h: 768 }, zpos: null, setZpos: false };
  const pipeline = new FramePipeline(dev, crtc, new EventHub(dev));
  const target = new ScanoutTarget(dev, t, plane, crtc, pipeline);
  const fbs = [101, 102];
  const frame = (i: number) => {
    target.show(fbs[i & 1], 1024, 768);
    events[0].userData = pending;
    cb!(events);
  };
  for (let i = 0; i < 20000; i++) frame(i); // warm: optimised code, grown maps
  const r = await allocated(() => {
    for (let i = 0; i < frames; i++) frame(i);
  });
  pipeline.stop();
  sim.close();
  host.close();
  return r;
}

async function main(): Promise<void> {
  if (!gc) throw new Error('run with node --expose-gc --min-semi-space-size=128 --max-semi-space-size=128');
  const N = Number(process.env.FRAMES ?? 20000);
  const f = await flipLoop(N);
  console.log(`flip commit alone: ${(f.bytes / N).toFixed(1)} bytes/frame over ${N} frames${f.gcs ? ` (${f.gcs} GCs ran: figure too low)` : ''}`);
  const D = Number(process.env.DMABUF_FRAMES ?? 600);
  await dmabufRun(60, true, true); // warm
  let run = 0;
  const d = await allocated(async () => {
    // paced() collects before its loop when it can: not inside this measurement.
    const g = globalThis as { gc?: () => void };
    g.gc = undefined;
    run = (await dmabufRun(D, true, true)).latencies.length;
    g.gc = gc;
  });
  console.log(`dma-buf path, kernel stand-in: ${(d.bytes / D).toFixed(0)} bytes/frame over ${D} frames (${run} commits)${d.gcs ? ` (${d.gcs} GCs ran: figure too low)` : ''}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
