/**
 * The frame path against its floor on a real kernel (issue 16, design §5 "≤ 1.5× a C program doing
 * the same ioctls, same guest, same run"). The floor is bench/floor/floor.c: PRIME import once,
 * then per frame ADDFB2, a nonblocking atomic flip, wait for its event. Ours is the daemon's whole
 * dma-buf path: a ScanoutDMABUF on a real socketpair from QEMU's side in its own process
 * (floor-qemu.ts), the PRIME import and the cached fb, the pipeline's nonblocking flip, the flip
 * event, the reply; the daemon's side is the listener and pipeline as the daemon joins them.
 *
 * Both wait for vkms's vblank, which costs neither any work; so a frame's cost is what each does
 * around it: from the frame's start to the commit ioctl's return, plus from the flip (the event's
 * kernel timestamp) to the frame being done (the reply in QEMU's hands; the event read and the old
 * fb removed for the floor). Absolute times under TCG mean nothing; the ratio does.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { DRM_CLOEXEC, DRM_FORMAT, DRM_MODE_ATOMIC, DRM_RDWR } from '../../src/kernel/constants';
import { socketPair } from '../../src/kernel/native-socket';
import type { AtomicProp, KmsDevice } from '../../src/kernel/types';
import type { Topology } from '../../src/kernel/topology';
import type { PlaneAssignment } from '../../src/kms/types';
import { MESSAGE, PeerLink } from '../../src/sources/dbus-peer';
import { EventHub, sharedPipeline } from '../../src/sources/pipeline';
import { DisplayListener } from '../../src/sources/qemu-listener';
import { ScanoutTarget } from '../../src/sources/scanout-target';
import { marshalBasic } from '../../src/sources/wire-write';
import { floorQemu } from './floor-qemu';
import type { FlipLog } from './flip-log';
import { now, quantile, recording } from './flip-log';
import { cardOf, collectMappings, emitFile, native, openVkmsDisplay, sleep } from './guest';
import { report } from './runner';

const FLOOR = process.env.DF_FLOOR ?? '/df/bench/floor/floor';
const W = 320;
const H = 240;
const AT = { x: 64, y: 64 };
const FRAMES = Number(process.env.DF_FLOOR_FRAMES ?? 1000);
/** Floor and ours take turns, a quarter of the frames at a time: a change of load hits both. */
const BLOCKS = 4;
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

/** `frames` of the C program on the overlay plane, added to `run`; it takes DRM master, so the caller has dropped it. */
function floorRun(t: Topology, crtcId: number, frames: number, run: Run): void {
  const overlay = t.planes.find((p) => p.type === 'overlay')!;
  const args = [cardOf('vkms'), cardOf('vgem'), crtcId, overlay.id, ...PLANE_PROPS.map((n) => overlay.props[n].id), W, H, AT.x, AT.y, frames].map(String);
  const r = spawnSync(FLOOR, args, { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`${FLOOR} exited ${r.status ?? r.signal}: ${r.stderr.trim() || r.error?.message}`);
  for (const line of r.stdout.split('\n')) {
    const f = /^f \d+ (\d+) (\d+)$/.exec(line);
    if (f) {
      run.issue.push(Number(f[1]) / 1000);
      run.after.push(Number(f[2]) / 1000);
      run.cost.push((Number(f[1]) + Number(f[2])) / 1000);
    }
    const u = /^rusage (\d+) (\d+)$/.exec(line);
    if (u) run.cpuUsPerFrame += (Number(u[1]) + Number(u[2])) / FRAMES;
  }
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

/** ScanoutDMABUF of a guest buffer, marshalled as QEMU sends it (QEMU's stand-in sets the serial). */
function scanoutCall(fd: number, pitch: number): Buffer {
  const buf = Buffer.alloc(4096);
  const n = marshalBasic({ type: MESSAGE.METHOD_CALL, flags: 0, path: '/org/qemu/Display1/Listener', interface: 'org.qemu.Display1.Listener', member: 'ScanoutDMABUF', signature: 'huuuutb' }, 1, [fd, W, H, pitch, DRM_FORMAT.XRGB8888, 0n, false], buf, []);
  return Buffer.from(buf.subarray(0, n));
}

const ADDON = ['../..', '../../..'].map((up) => join(__dirname, up, 'build', 'Release', 'directflip_native.node')).find((f) => existsSync(f)) ?? '';
const WARM_UP = 4;

describe('frame path vs floor on vkms', () => {
  test(`our dma-buf path and the bare ioctls, ${FRAMES} frames each in ${BLOCKS} turns, in the same guest`, async () => {
    expect([existsSync(FLOOR), ADDON !== '']).toEqual([true, true]);
    const { dev, t, crtcId } = await openVkmsDisplay();
    const vgem = native().openKms(cardOf('vgem'));
    const floor: Run = { issue: [], after: [], cost: [], cpuUsPerFrame: 0 };
    const issued = new Map<bigint, bigint>();
    const log: FlipLog = { entries: [] };
    const rec = recording(stamping(dev, issued), log);
    const errors: Error[] = [];
    const logs: string[] = [];
    const hub = new EventHub(rec, (e) => errors.push(e));
    const joined = sharedPipeline(hub, rec, crtcId);
    const overlay = t.planes.find((p) => p.type === 'overlay')!;
    const plane: PlaneAssignment = { key: 'console', from: 'primary', planeId: overlay.id, planeType: 'overlay', fbId: 0, src: { x: 0, y: 0, w: W, h: H }, dst: { ...AT, w: W, h: H }, zpos: null, setZpos: false };
    const [a, b] = socketPair();
    const ours = new PeerLink(a, 'client');
    const listener = new DisplayListener(ours, new ScanoutTarget(rec, t, plane, crtcId, joined.pipeline), { log: (m) => logs.push(m), replyWithinMs: 10_000 });
    const disown = joined.pipeline.own([overlay.id], { retire: () => listener.retire(), error: (e) => errors.push(e) });
    // A two-buffer guest swapchain: vgem dumb buffers, their dma-buf fds handed to QEMU's side.
    const bufs = [0, 1].map(() => {
      const d = vgem.createDumb(W, H, 32);
      return { handle: d.handle, pitch: d.pitch, fd: vgem.primeHandleToFd(d.handle, DRM_CLOEXEC | DRM_RDWR) };
    });
    try {
      const opened = ours.open();
      const qemu = await floorQemu(b, [bufs[0].fd, bufs[1].fd], [scanoutCall(bufs[0].fd, bufs[0].pitch), scanoutCall(bufs[1].fd, bufs[1].pitch)], ADDON);
      closeSync(b); // QEMU's side has its own copy
      await opened;
      await qemu.block(WARM_UP); // the imports and the first fbs: not the steady state
      // What the earlier suites left on the heap is collected first: the pauses counted are ours.
      (globalThis as { gc?: () => void }).gc?.();
      const gc: number[] = [];
      const obs = new PerformanceObserver((l) => gc.push(...l.getEntries().map((e) => e.duration)));
      obs.observe({ entryTypes: ['gc'] });
      let cpuUs = 0;
      for (let k = 0; k < BLOCKS; k++) {
        dev.dropMaster();
        try {
          floorRun(t, crtcId, FRAMES / BLOCKS, floor);
        } finally {
          dev.setMaster();
        }
        const cpu0 = process.cpuUsage();
        await qemu.block(FRAMES / BLOCKS);
        const cpu = process.cpuUsage(cpu0);
        cpuUs += cpu.user + cpu.system;
      }
      obs.disconnect();
      listener.detach(); // QEMU's side sees the link close and reports
      const calls = await qemu.done();
      // One accepted commit per call, in order, and its flip event by user_data.
      const commits = log.entries.filter((e) => e.kind === 'commit' && e.ok);
      const events = new Map(log.entries.filter((e) => e.kind === 'event').map((e) => [e.tag, e]));
      expect([calls.length, commits.length]).toEqual([WARM_UP + FRAMES, WARM_UP + FRAMES]);
      const ours2: Run = { issue: [], after: [], cost: [], cpuUsPerFrame: cpuUs / FRAMES };
      const missing: string[] = [];
      calls.slice(WARM_UP).forEach(([sent, done], j) => {
        const c = commits[WARM_UP + j];
        const at = issued.get(c.tag);
        const ev = events.get(c.tag);
        if (at === undefined || !ev || ev.kind !== 'event') return missing.push(`frame ${j}: no flip event for its commit`);
        ours2.issue.push(us(at - sent));
        ours2.after.push(us(done - ev.kernelNs));
        ours2.cost.push(us(at - sent) + us(done - ev.kernelNs));
        return undefined;
      });
      expect(missing.slice(0, 5)).toEqual([]);
      expect([floor.cost.length, ours2.cost.length]).toEqual([FRAMES, FRAMES]);
      const ratio = (q: number) => (quantile(ours2.cost, q) / quantile(floor.cost, q)).toFixed(2);
      // '# ': the lane passes result lines and comments on to the host's output.
      report(`# frame path vs floor: ours ${quantile(ours2.cost, 0.5).toFixed(0)} µs, floor ${quantile(floor.cost, 0.5).toFixed(0)} µs, ratio ${ratio(0.5)} (medians; p99 ours ${quantile(ours2.cost, 0.99).toFixed(0)} µs, floor ${quantile(floor.cost, 0.99).toFixed(0)} µs, ratio ${ratio(0.99)}; ${FRAMES} frames each)`);
      report(`# floor, in parts: start to commit issued ${fmt(floor.issue)}; flip to done ${fmt(floor.after)}; CPU ${floor.cpuUsPerFrame.toFixed(0)} µs per frame`);
      report(`# ours, in parts: message sent to commit issued ${fmt(ours2.issue)}; flip to the reply in QEMU's hands ${fmt(ours2.after)}; the daemon side's CPU ${ours2.cpuUsPerFrame.toFixed(0)} µs per frame (QEMU's side runs in its own process)`);
      report(`# ours, GC during the ${FRAMES} frames: ${gc.length} pauses, ${gc.reduce((x, y) => x + y, 0).toFixed(1)} ms in all, longest ${Math.max(0, ...gc).toFixed(2)} ms`);
      emitFile('floor.json', Buffer.from(JSON.stringify({ date: new Date().toISOString(), kernel: release(), frames: FRAMES, floor, ours: ours2, gcMs: gc })));
      expect([listener.paceTimeouts, joined.pipeline.counters.lostFlips, logs, errors]).toEqual([0, 0, [], []]);
    } finally {
      listener.detach();
      await sleep(50);
      dev.atomic(['FB_ID', 'CRTC_ID'].map((n) => ({ objectId: overlay.id, propId: overlay.props[n].id, value: 0n })), 0);
      await sleep(100);
      disown();
      joined.leave();
      listener.free();
      for (const g of bufs) {
        native().closeFd(g.fd);
        vgem.gemClose(g.handle);
      }
      vgem.close();
      dev.close();
      await collectMappings();
    }
  }, 240_000);
});
