/**
 * The frame path against its floor on a real kernel (issue 16, design §5 "≤ 1.5× a C program doing
 * the same ioctls, same guest, same run"). The floor is bench/floor/floor.c: PRIME import once,
 * then per frame ADDFB2, a nonblocking atomic flip, wait for its event. Ours is the daemon's whole
 * dma-buf path: a ScanoutDMABUF on a real socketpair (QEMU's side is the harness, qemu-rig.ts),
 * the PRIME import and the cached fb, the pipeline's nonblocking flip, the flip event, the reply.
 *
 * Both wait for vkms's vblank, which costs neither any work; so a frame's cost is what each does
 * around it: from the frame's start to the commit ioctl's return, plus from the flip (the event's
 * kernel timestamp) to the frame being done (the reply in QEMU's hands; the event read and the old
 * fb removed for the floor). Absolute times under TCG mean nothing; the ratio does.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { DRM_FORMAT, DRM_MODE_ATOMIC } from '../../src/kernel/constants';
import type { AtomicProp, KmsDevice } from '../../src/kernel/types';
import type { Topology } from '../../src/kernel/topology';
import { now, quantile } from './flip-log';
import { cardOf, collectMappings, emitFile, openVkmsDisplay } from './guest';
import { qemuRig } from './qemu-rig';
import { report } from './runner';

const FLOOR = process.env.DF_FLOOR ?? '/df/bench/floor/floor';
const W = 320;
const H = 240;
const AT = { x: 64, y: 64 };
const FRAMES = Number(process.env.DF_FLOOR_FRAMES ?? 1000);
const PLANE_PROPS = ['FB_ID', 'CRTC_ID', 'SRC_X', 'SRC_Y', 'SRC_W', 'SRC_H', 'CRTC_X', 'CRTC_Y', 'CRTC_W', 'CRTC_H'];

interface Run {
  /** Per frame, µs: start → commit ioctl returned, flip → done, and their sum. */
  issue: number[];
  after: number[];
  cost: number[];
  cpuUsPerFrame: number;
}

const us = (ns: bigint) => Number(ns) / 1000;
const fmt = (xs: number[]) => `median ${quantile(xs, 0.5).toFixed(0)} µs, p99 ${quantile(xs, 0.99).toFixed(0)} µs`;

/** The C program on the overlay plane; it takes DRM master, so the caller has dropped it. */
function floorRun(t: Topology, crtcId: number): Run {
  const overlay = t.planes.find((p) => p.type === 'overlay')!;
  const args = [cardOf('vkms'), cardOf('vgem'), crtcId, overlay.id, ...PLANE_PROPS.map((n) => overlay.props[n].id), W, H, AT.x, AT.y, FRAMES].map(String);
  const r = spawnSync(FLOOR, args, { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`${FLOOR} exited ${r.status ?? r.signal}: ${r.stderr.trim() || r.error?.message}`);
  const run: Run = { issue: [], after: [], cost: [], cpuUsPerFrame: 0 };
  for (const line of r.stdout.split('\n')) {
    const f = /^f \d+ (\d+) (\d+)$/.exec(line);
    if (f) {
      run.issue.push(Number(f[1]) / 1000);
      run.after.push(Number(f[2]) / 1000);
      run.cost.push((Number(f[1]) + Number(f[2])) / 1000);
    }
    const u = /^rusage (\d+) (\d+)$/.exec(line);
    if (u) run.cpuUsPerFrame = (Number(u[1]) + Number(u[2])) / FRAMES;
  }
  return run;
}

/** `dev`, noting when each nonblocking commit's ioctl returned, by its user_data. */
function stamping(dev: KmsDevice, issued: Map<bigint, bigint>): KmsDevice {
  return new Proxy(dev, {
    get(target, k) {
      if (k === 'atomic') {
        return (props: AtomicProp[], flags: number, userData?: bigint) => {
          target.atomic(props, flags, userData);
          if (flags & DRM_MODE_ATOMIC.NONBLOCK && userData !== undefined) issued.set(userData, now());
        };
      }
      const v = Reflect.get(target, k) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe('frame path vs floor on vkms', () => {
  test(`our dma-buf path and the bare ioctls, ${FRAMES} frames each, in the same guest`, async () => {
    expect(existsSync(FLOOR)).toBe(true);
    const { dev, t, crtcId } = await openVkmsDisplay();
    let floor: Run;
    const issued = new Map<bigint, bigint>();
    const rig = await qemuRig(stamping(dev, issued), t, crtcId, { ...AT, w: W, h: H }, { replyWithinMs: 10_000 });
    try {
      dev.dropMaster();
      try {
        floor = floorRun(t, crtcId);
      } finally {
        dev.setMaster();
      }
      // A two-buffer guest swapchain, as QEMU sends it: each frame a ScanoutDMABUF with its fd.
      const bufs = [rig.buffer(W, H), rig.buffer(W, H)];
      const scanout = (i: number) => rig.call('ScanoutDMABUF', 'huuuutb', [bufs[i % 2].fd, W, H, bufs[i % 2].pitch, DRM_FORMAT.XRGB8888, 0n, false]);
      for (let i = 0; i < 4; i++) await scanout(i); // the imports and the first fbs: not the steady state
      // What the earlier suites left on the heap is collected first: the pauses counted are ours.
      (globalThis as { gc?: () => void }).gc?.();
      const gc: number[] = [];
      const obs = new PerformanceObserver((l) => gc.push(...l.getEntries().map((e) => e.duration)));
      obs.observe({ entryTypes: ['gc'] });
      const ours: Run = { issue: [], after: [], cost: [], cpuUsPerFrame: 0 };
      const missing: string[] = [];
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < FRAMES; i++) {
        const from = rig.log.entries.length;
        const sent = now();
        await scanout(i);
        const done = now();
        const entries = rig.log.entries.slice(from);
        const commit = entries.find((e) => e.kind === 'commit' && e.ok);
        const event = commit && entries.find((e) => e.kind === 'event' && e.tag === commit.tag);
        const at = commit && issued.get(commit.tag);
        if (!commit || !event || event.kind !== 'event' || at === undefined) {
          missing.push(`frame ${i}: ${!commit ? 'no accepted commit' : 'no flip event'} before its reply`);
          continue;
        }
        ours.issue.push(us(at - sent));
        ours.after.push(us(done - event.kernelNs));
        ours.cost.push(us(at - sent) + us(done - event.kernelNs));
      }
      const cpu = process.cpuUsage(cpu0);
      ours.cpuUsPerFrame = (cpu.user + cpu.system) / FRAMES;
      obs.disconnect();
      expect(missing.slice(0, 5)).toEqual([]);
      expect([floor.cost.length, ours.cost.length]).toEqual([FRAMES, FRAMES]);
      const ratio = (q: number) => (quantile(ours.cost, q) / quantile(floor.cost, q)).toFixed(2);
      // '# ': the lane passes result lines and comments on to the host's output.
      report(`# frame path vs floor: ours ${quantile(ours.cost, 0.5).toFixed(0)} µs, floor ${quantile(floor.cost, 0.5).toFixed(0)} µs, ratio ${ratio(0.5)} (medians; p99 ours ${quantile(ours.cost, 0.99).toFixed(0)} µs, floor ${quantile(floor.cost, 0.99).toFixed(0)} µs, ratio ${ratio(0.99)}; ${FRAMES} frames each)`);
      report(`# floor, in parts: start to commit issued ${fmt(floor.issue)}; flip to done ${fmt(floor.after)}; CPU ${floor.cpuUsPerFrame.toFixed(0)} µs per frame`);
      report(`# ours, in parts: message to commit issued ${fmt(ours.issue)}; flip to reply in QEMU's hands ${fmt(ours.after)}; CPU ${ours.cpuUsPerFrame.toFixed(0)} µs per frame (QEMU's side of the link included: it runs in this process)`);
      report(`# ours, GC during the ${FRAMES} frames: ${gc.length} pauses, ${gc.reduce((a, b) => a + b, 0).toFixed(1)} ms in all, longest ${Math.max(0, ...gc).toFixed(2)} ms`);
      emitFile('floor.json', Buffer.from(JSON.stringify({ date: new Date().toISOString(), kernel: release(), frames: FRAMES, floor, ours, gcMs: gc })));
      expect([rig.listener.paceTimeouts, rig.pipeline.counters.lostFlips, rig.logs, rig.errors]).toEqual([0, 0, [], []]);
    } finally {
      await rig.close();
      dev.close();
      await collectMappings();
    }
  }, 240_000);
});
