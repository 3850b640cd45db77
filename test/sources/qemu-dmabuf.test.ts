import { closeSync, ftruncateSync, openSync, readdirSync, writeSync } from 'node:fs';
import { DRM_CAP, DRM_FORMAT } from '../../src/kernel/constants';
import { openHost } from '../../src/kernel/host';
import type { Host } from '../../src/kernel/host';
import { memfdCreate } from '../../src/kernel/native-socket';
import type { KmsDevice } from '../../src/kernel/types';
import type { PeerLink, PeerMessage } from '../../src/sources/dbus-peer';
import { MESSAGE } from '../../src/sources/dbus-peer';
import type { FramePipeline } from '../../src/sources/pipeline';
import type { DisplayListener } from '../../src/sources/qemu-listener';
import { listenerRig } from '../helpers/listener-rig';
import type { ListenerRig } from '../helpers/listener-rig';
import { settleVblanks, shownAt } from '../helpers/screen';

/**
 * The harness plays QEMU: over a real socketpair it sends ScanoutDMABUF with real fds (memfds
 * the simulated kernel accepts as dma-bufs, as udmabuf makes them) and UpdateDMABUF, and waits
 * for each reply as QEMU does.
 */
const W = 64;
const H = 48;
const STRIDE = W * 4;
const SIZE = 16384; // a page multiple holding STRIDE * H
const tick = () => new Promise((r) => setImmediate(r));
const openFds = () => readdirSync('/proc/self/fd').map(Number).sort((a, b) => a - b);

let host: Host;
let rig: ListenerRig;
let dev: KmsDevice;
let qemu: PeerLink;
let listener: DisplayListener;
let pipeline: FramePipeline;
let crtc: number;
let cursorPlane: number;
let fdsBefore: number[];

/** A guest buffer: a memfd of one colour, made a dma-buf. */
function guestBuffer(rgb: number[]): number {
  const fd = memfdCreate('guest-fb');
  ftruncateSync(fd, SIZE);
  paint(fd, rgb);
  host.sim!.udmabuf(fd);
  return fd;
}
function paint(fd: number, [r, g, b]: number[], rows = H): void {
  const px = Buffer.alloc(STRIDE * rows);
  for (let i = 0; i < px.length; i += 4) px.set([b, g, r, 0], i);
  writeSync(fd, px, 0, px.length, 0);
}
/** A call, with the monitor refreshing until it is answered (dma-buf calls wait for their flip). */
async function call(member: string, signature: string, body: unknown[]): Promise<PeerMessage> {
  const p = rig.call(member, signature, body);
  let done = false;
  p.then(() => (done = true), () => (done = true));
  while (!done) {
    await tick();
    host.sim!.card.advanceVblank();
  }
  return p;
}
const scanout = (fd: number, y0Top = false) => call('ScanoutDMABUF', 'huuuutb', [fd, W, H, STRIDE, DRM_FORMAT.XRGB8888, 0n, y0Top]);
const shown = (x: number, y: number) => shownAt(host.sim!, crtc, x, y);
const settle = () => settleVblanks(host.sim!, 3);
/** The error QEMU would get back, as text. */
const refusal = (p: Promise<PeerMessage>) => p.then((m) => `unexpected success: ${m.member}`, (e: Error) => e.message);
const expectOk = (m: PeerMessage) => expect([m.type, m.errorName, m.body]).toEqual([MESSAGE.METHOD_RETURN, undefined, []]);

beforeEach(async () => {
  fdsBefore = openFds();
  host = openHost('sim:vkms');
  rig = await listenerRig(host.sim!, { w: W, h: H, dst: { x: 100, y: 50 }, cursor: true, replyWithinMs: 10_000 });
  ({ dev, qemu, listener, pipeline, crtc, cursorPlane } = rig);
});

afterEach(() => {
  rig.close();
  host.close();
});

test('ScanoutDMABUF imports the real fd, flips it and replies; the fd is closed; UpdateDMABUF shows new pixels with 0 bytes copied', async () => {
  const buf = guestBuffer([0, 0, 200]);
  const withHarness = openFds();
  expectOk(await scanout(buf));
  // Only the harness's own memfd is open: the copy that crossed the socket was closed.
  expect(openFds()).toEqual(withHarness);
  await settle();
  expect(shown(100 + 5, 50 + 5)).toEqual([0, 0, 200]);
  // The guest draws into the same buffer; QEMU says so; the plane shows it.
  paint(buf, [250, 0, 0], 8);
  expectOk(await call('UpdateDMABUF', 'iiii', [0, 0, W, 8]));
  await settle();
  expect(shown(105, 52)).toEqual([250, 0, 0]);
  expect(shown(105, 50 + 20)).toEqual([0, 0, 200]);
  expect(pipeline.counters.bytesCopied).toBe(0);
  closeSync(buf);
});

test('after the listener and the card are closed, no fd of the run is left open', async () => {
  const buf = guestBuffer([0, 0, 200]);
  expectOk(await scanout(buf));
  await settle();
  closeSync(buf);
  listener.close();
  qemu.close();
  pipeline.stop();
  // The socketpair's two ends were the only other fds this test opened.
  expect(openFds()).toEqual(fdsBefore);
});

test('10 000 frames from a two-buffer swapchain: 0 bytes copied, no growth in fbs or GEM handles, newer frames replace queued ones', async () => {
  const sim = host.sim!;
  const bufs = [guestBuffer([200, 0, 0]), guestBuffer([0, 200, 0])];
  const fbsBefore = sim.card.fbs.size;
  const gemBefore = sim.card.gemHandleCount;
  const fds = openFds();
  let maxFbs = 0;
  const rawScanout = (i: number) => rig.call('ScanoutDMABUF', 'huuuutb', [bufs[i % 2], W, H, STRIDE, DRM_FORMAT.XRGB8888, 0n, false]);
  for (let i = 0; i < 10_000; i += 50) {
    // Every 50 frames QEMU sends 6 without waiting while the display stalls: those replace
    // each other in the mailbox, and all are answered once the newest is shown.
    const burst = Array.from({ length: 6 }, (_, k) => (k % 2 ? rig.call('UpdateDMABUF', 'iiii', [0, 0, W, H]) : rawScanout(k / 2)));
    for (let k = 0; k < 3; k++) await tick();
    sim.card.advanceVblank();
    (await Promise.all(burst)).forEach(expectOk);
    for (let k = 6; k < 50; k++) {
      await (k % 2 ? call('UpdateDMABUF', 'iiii', [0, 0, W, H]) : scanout(bufs[(k / 2) % 2]));
      maxFbs = Math.max(maxFbs, sim.card.fbs.size - fbsBefore);
    }
  }
  await settle();
  const c = pipeline.counters;
  // Every ScanoutDMABUF is a frame; an UpdateDMABUF is one only when no flip to its buffer is
  // already on its way (that flip shows the new pixels anyway).
  expect(c.received).toBeGreaterThanOrEqual(5_000);
  expect(c.received).toBeLessThanOrEqual(10_000);
  expect(c.bytesCopied).toBe(0);
  expect(c.dropped).toBeGreaterThan(0);
  expect(c.flipped + c.dropped).toBe(c.received);
  expect(listener.paceTimeouts).toBe(0); // every reply waited for its flip, none for the bound
  expect(maxFbs).toBeLessThanOrEqual(2); // one fb per swapchain buffer, made once
  expect(sim.card.gemHandleCount - gemBefore).toBeLessThanOrEqual(2);
  expect(openFds()).toEqual(fds);
  for (const b of bufs) closeSync(b);
}, 120_000);

test('buffers the guest stopped using are freed once off screen; the cache stays bounded', async () => {
  const sim = host.sim!;
  const gemBefore = sim.card.gemHandleCount;
  for (let i = 0; i < 12; i++) {
    const b = guestBuffer([i * 20, 0, 0]);
    expectOk(await scanout(b));
    closeSync(b);
    await settle();
  }
  expect(listener.cachedFbs).toBeLessThanOrEqual(4);
  expect(sim.card.gemHandleCount - gemBefore).toBeLessThanOrEqual(4);
  expect(shown(101, 51)).toEqual([220, 0, 0]);
});

test('refusals answer QEMU with the reason and still close the fd: not a dma-buf, y0_top without reflect-y, Update before Scanout', async () => {
  const file = openSync('/proc/self/status', 'r');
  const withFile = openFds();
  expect(await refusal(scanout(file))).toMatch(/EINVAL: DRM_IOCTL_PRIME_FD_TO_HANDLE failed \(fd \d+ is not a dma-buf\)/);
  expect(openFds()).toEqual(withFile);
  closeSync(file);
  const buf = guestBuffer([1, 2, 3]);
  expect(await refusal(scanout(buf, true))).toMatch(/bottom-up \(y0_top\) and plane \d+ cannot reflect-y/);
  expect(await refusal(call('UpdateDMABUF', 'iiii', [0, 0, 4, 4]))).toMatch(/UpdateDMABUF before ScanoutDMABUF$/);
  expectOk(await scanout(buf));
  expect(await refusal(call('UpdateDMABUF', 'iiii', [W - 2, 0, 4, 4]))).toMatch(/outside the 64x48 scanout/);
  closeSync(buf);
});

test('CursorDefine and MouseSet drive the cursor plane at the pointer, minus the hot spot; on=0 hides it', async () => {
  const buf = guestBuffer([0, 0, 90]);
  expectOk(await scanout(buf));
  const arrow = Buffer.alloc(8 * 8 * 4);
  for (let i = 0; i < arrow.length; i += 4) arrow.set([0, 255, 255, 255], i); // opaque yellow, BGRA
  expectOk(await call('CursorDefine', 'iiiiay', [8, 8, 2, 2, arrow]));
  expectOk(await call('MouseSet', 'iii', [20, 10, 1]));
  await settle();
  // The picture is at (100, 50); the pointer at guest (20, 10), hot spot (2, 2).
  expect(shown(100 + 18, 50 + 8)).toEqual([255, 255, 0]);
  expect(shown(100 + 25, 50 + 15)).toEqual([255, 255, 0]);
  expect(shown(100 + 17, 50 + 8)).toEqual([0, 0, 90]);
  const cursorState = () => dev.getPlane(cursorPlane);
  expect(cursorState().fbId).not.toBe(0);
  expectOk(await call('MouseSet', 'iii', [20, 10, 0]));
  await settle();
  expect(shown(100 + 18, 50 + 8)).toEqual([0, 0, 90]);
  expect(cursorState().fbId).toBe(0);
  const cw = Number(dev.getCap(DRM_CAP.CURSOR_WIDTH));
  expect(await refusal(call('CursorDefine', 'iiiiay', [cw + 1, 2, 0, 0, Buffer.alloc((cw + 1) * 2 * 4)]))).toMatch(new RegExp(`cursor ${cw + 1}x2 is larger than the cursor plane's ${cw}x\\d+`));
  closeSync(buf);
});
