import { closeSync, ftruncateSync, writeSync } from 'node:fs';
import { DRM_FORMAT, DRM_FORMAT_MOD, DRM_MODE_FB_MODIFIERS } from '../../src/kernel/constants';
import { memfdCreate } from '../../src/kernel/native-socket';
import type { SimHost } from '../../src/kernel/sim/host';
import type { PeerMessage } from '../../src/sources/dbus-peer';
import { MESSAGE } from '../../src/sources/dbus-peer';
import { DMABUF2 } from '../../src/sources/listener-calls';
import { fdSnapshot, fdsOpenedSince } from '../helpers/fds';
import { closed, listenerRig, withVblanks } from '../helpers/listener-rig';
import type { ListenerRig } from '../helpers/listener-rig';
import { nv12Host } from '../helpers/nv12-host';
import { settleVblanks, shownAt } from '../helpers/screen';

/**
 * The harness plays QEMU 10.1 over a real socketpair: ScanoutDMABUF2 with real fds (memfds the
 * simulated kernel takes as dma-bufs) for a two-plane NV12 buffer and for a cropped XRGB one,
 * then every way its numbers can lie.
 */
const W = 64;
const H = 48;
const LUMA = W * H; // 3072 bytes
const CHROMA_AT = 4096;
const SIG = 'ahuuuuauauuuuutb';

let host: SimHost;
let rig: ListenerRig;
const opened: number[] = [];

/** A memfd of `size` bytes with `bytes` at each offset, made a dma-buf. */
function dmabuf(size: number, parts: [number, Buffer][]): number {
  const fd = memfdCreate('guest-nv12');
  opened.push(fd);
  ftruncateSync(fd, size);
  for (const [at, b] of parts) writeSync(fd, b, 0, b.length, at);
  host.udmabuf(fd);
  return fd;
}

/** Luma: white above, black below, and a 16x16 blue block at the top left (BT.601 limited). */
function lumaPlane(): Buffer {
  const b = Buffer.alloc(LUMA);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) b[y * W + x] = x < 16 && y < 16 ? 41 : y < H / 2 ? 235 : 16;
  return b;
}
function chromaPlane(): Buffer {
  const b = Buffer.alloc((W / 2) * 2 * (H / 2), 128);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) b.set([240, 110], y * W + x * 2);
  return b;
}

/** A call as QEMU makes it: ScanoutDMABUF2 on its own interface, the rest on Listener. */
const send = (member: string, signature: string, body: unknown[]) =>
  member === 'ScanoutDMABUF2' ? rig.qemu.call({ path: '/org/qemu/Display1/Listener', interface: DMABUF2, member, signature, body }, 5000) : rig.call(member, signature, body);
const call = (member: string, signature: string, body: unknown[]): Promise<PeerMessage> => withVblanks(host, send(member, signature, body));
const refusal = (p: Promise<PeerMessage>) => p.then((m) => `unexpected success: ${m.member}`, (e: Error) => e.message);
const expectOk = (m: PeerMessage) => expect([m.type, m.errorName]).toEqual([MESSAGE.METHOD_RETURN, undefined]);
const shown = (x: number, y: number) => shownAt(host, rig.crtc, x, y);
const nv12 = (fds: number[], offsets = [0, CHROMA_AT], extra: Partial<Record<'x' | 'y' | 'w' | 'h' | 'planes' | 'bw' | 'bh' | 'fourcc', number>> = {}, modifier: bigint = DRM_FORMAT_MOD.INVALID) =>
  call('ScanoutDMABUF2', SIG, [fds, extra.x ?? 0, extra.y ?? 0, extra.w ?? W, extra.h ?? H, offsets, [W, W].slice(0, offsets.length), extra.planes ?? 2, extra.fourcc ?? DRM_FORMAT.NV12, extra.bw ?? W, extra.bh ?? H, modifier, false]);
const newestFb = () => [...host.card.fbs.values()].at(-1)!;

beforeEach(async () => {
  host = nv12Host();
  rig = await listenerRig(host, { w: W, h: H, dst: { x: 100, y: 50 }, replyWithinMs: 10_000 });
});
afterEach(() => {
  rig.close();
  for (const fd of opened.splice(0)) closeSync(fd);
  host.stop();
});

test('the listener says it implements ScanoutDMABUF2 through its Interfaces property, as QEMU reads it', async () => {
  const props = (member: string, signature: string, body: unknown[]) => rig.qemu.call({ path: '/org/qemu/Display1/Listener', interface: 'org.freedesktop.DBus.Properties', member, signature, body });
  const all = await props('GetAll', 's', ['org.qemu.Display1.Listener']);
  expect((all.body[0] as Record<string, { signature: string; value: string[] }>).Interfaces).toEqual(expect.objectContaining({ signature: 'as', value: expect.arrayContaining([DMABUF2]) }));
  expect((await props('GetAll', 's', [DMABUF2])).body).toEqual([{}]);
  const one = await props('Get', 'ss', ['org.qemu.Display1.Listener', 'Interfaces']);
  expect((one.body[0] as { value: string[] }).value).toContain(DMABUF2);
  expect(await refusal(props('Get', 'ss', ['org.qemu.Display1.Listener', 'Nope']))).toMatch(/is no property of this listener/);
});

test('a two-plane NV12 buffer in one dma-buf is flipped with both planes, pixel-exact, 0 bytes copied, every fd closed', async () => {
  const fd = dmabuf(8192, [[0, lumaPlane()], [CHROMA_AT, chromaPlane()]]);
  const before = fdSnapshot();
  const gems = host.card.gemHandleCount;
  expectOk(await nv12([fd]));
  await settleVblanks(host, 3);
  expect(fdsOpenedSince(before)).toEqual([]);
  expect([shown(105, 55), shown(140, 55), shown(140, 90)]).toEqual([[0, 0, 255], [255, 255, 255], [0, 0, 0]]);
  const fb = newestFb();
  expect([fb.format, fb.objs.length, fb.objs[0] === fb.objs[1], fb.offsets, fb.pitches, fb.flags]).toEqual([DRM_FORMAT.NV12, 2, true, [0, CHROMA_AT], [W, W], 0]);
  expect(host.card.gemHandleCount - gems).toBe(1); // one buffer, one handle for both planes
  expect(rig.pipeline.counters.bytesCopied).toBe(0);
  expect(rig.listener.showing).toBe(`${W}x${H} dma-buf2`);
  expectOk(await call('UpdateDMABUF', 'iiii', [0, 0, W, H]));
});

test('NV12 from two dma-bufs, one per plane; a named modifier goes to ADDFB2 with DRM_MODE_FB_MODIFIERS', async () => {
  const y = dmabuf(4096, [[0, lumaPlane()]]);
  const c = dmabuf(4096, [[0, chromaPlane()]]);
  expectOk(await nv12([y, c], [0, 0], {}, DRM_FORMAT_MOD.LINEAR));
  await settleVblanks(host, 3);
  expect([shown(105, 55), shown(140, 55), shown(140, 90)]).toEqual([[0, 0, 255], [255, 255, 255], [0, 0, 0]]);
  const fb = newestFb();
  expect([fb.objs[0] === fb.objs[1], fb.flags, fb.modifiers]).toEqual([false, DRM_MODE_FB_MODIFIERS, [DRM_FORMAT_MOD.LINEAR, DRM_FORMAT_MOD.LINEAR]]);
});

test('a region of a larger backing is shown, not the whole buffer', async () => {
  rig.close();
  rig = await listenerRig(host, { w: 32, h: 24, dst: { x: 100, y: 50 }, replyWithinMs: 10_000 });
  const px = Buffer.alloc(W * 4 * H);
  for (let i = 0; i < W * H; i++) px.set((i % W) >= 32 && Math.floor(i / W) >= 24 ? [0, 200, 0, 0] : [0, 0, 200, 0], i * 4);
  const fd = dmabuf(16384, [[0, px]]);
  expectOk(await call('ScanoutDMABUF2', SIG, [[fd], 32, 24, 32, 24, [0], [W * 4], 1, DRM_FORMAT.XRGB8888, W, H, DRM_FORMAT_MOD.INVALID, false]));
  await settleVblanks(host, 3);
  expect([shown(100, 50), shown(131, 73)]).toEqual([[0, 200, 0], [0, 200, 0]]);
  expect(newestFb().width).toBe(W);
});

test('numbers that describe no buffer are refused with the reason, every fd closed, and the stream goes on', async () => {
  const fd = dmabuf(8192, [[0, lumaPlane()], [CHROMA_AT, chromaPlane()]]);
  const other = dmabuf(4096, []);
  const before = fdSnapshot();
  const cases: [Promise<PeerMessage>, RegExp][] = [
    [nv12([]), /carried 0 dma-buf handles/],
    [nv12([fd], [0, CHROMA_AT], { planes: 1 }), /says 1 planes, but "NV12" has 2/],
    [nv12([fd], [0], { planes: 2 }), /gave 1 offsets and 1 strides for 2 planes/],
    [nv12([fd, other], [0], { planes: 1, fourcc: DRM_FORMAT.XRGB8888 }), /carried 2 dma-bufs for 1 planes/],
    [nv12([fd], [0, 0xffffff00]), /plane 1: offset 4294967040 \+ 24 rows of 64 bytes ends beyond 4 GiB/],
    [nv12([fd], [0, 8192 - 64]), /plane 1: bytes 8128\.\.9664 lie beyond its 8192-byte dma-buf/],
    [nv12([fd], [0, CHROMA_AT], { x: 8 }), /shows 64x48\+8\+0, outside its 64x48 backing/],
    [nv12([fd], [0, CHROMA_AT], { fourcc: 0x20202020 }), /format 0x20202020 \(" {4}"\) is not one directflip can describe/],
    [nv12([fd], [0, CHROMA_AT], { bw: 0 }), /has an empty picture \(64x48\) or backing \(0x48\)/],
    [call('ScanoutDMABUF2', SIG, [[fd], 0, 0, W, H, [0], [W - 1], 1, DRM_FORMAT.XRGB8888, W, H, 0n, false]), /plane 0: stride 63 is less than its 64 pixels take \(256 bytes\)/],
  ];
  for (const [p, why] of cases) expect(await refusal(p)).toMatch(why);
  expect(fdsOpenedSince(before)).toEqual([]);
  expectOk(await nv12([fd]));
  await settleVblanks(host, 3);
  expect(shown(140, 55)).toEqual([255, 255, 255]);
});

test('a modifier may bring auxiliary planes (CCS), but only a plane that lists format and modifier is given the buffer', async () => {
  const fd = dmabuf(16384, []);
  const before = fdSnapshot();
  const ccs = (planes: number) =>
    call('ScanoutDMABUF2', SIG, [[fd], 0, 0, W, H, [0, 12288].slice(0, planes), [W * 4, 128].slice(0, planes), planes, DRM_FORMAT.XRGB8888, W, H, DRM_FORMAT_MOD.I915_Y_TILED_CCS, false]);
  // vkms lists no Intel modifier: refused naming the plane and what it takes, before any import.
  expect(await refusal(ccs(2))).toMatch(new RegExp(`plane ${rig.overlay} cannot show the guest's XR24 with modifier I915_Y_TILED_CCS buffer: it takes XR24 only as LINEAR; put this console on a plane that lists it`));
  expect(await refusal(ccs(1))).toMatch(/cannot show the guest's XR24 with modifier I915_Y_TILED_CCS buffer/);
  // A format the plane does not list at all.
  expect(await refusal(call('ScanoutDMABUF2', SIG, [[fd], 0, 0, W, H, [0], [W * 2], 1, DRM_FORMAT.YUYV, W, H, DRM_FORMAT_MOD.INVALID, false]))).toMatch(/cannot show the guest's YUYV buffer: it takes .*XR24.*NV12/);
  expect(await refusal(call('ScanoutDMABUF2', SIG, [[fd], 0, 0, W, H, [0, 0, 0, 0, 0], [256, 256, 256, 256, 256], 5, DRM_FORMAT.XRGB8888, W, H, DRM_FORMAT_MOD.I915_Y_TILED_CCS, false]))).toMatch(/says 5 planes, but "XR24" has 1 \(and a modifier at most 4 in all\)/);
  // ScanoutDMABUF (v1) takes any fourcc: one with NULs is named printably, so the reply is sendable.
  expect(await refusal(call('ScanoutDMABUF', 'huuuutb', [fd, W, H, W * 4, 0, DRM_FORMAT_MOD.INVALID, false]))).toMatch(/cannot show the guest's 0x0 \(unprintable\) buffer/);
  expect(fdsOpenedSince(before)).toEqual([]);
  expect(host.card.gemHandleCount).toBe(0);
});

test('a ScanoutDMABUF2 of the wrong signature, or with more fds than planes exist, closes the link with the reason', async () => {
  const fd = dmabuf(4096, []);
  const before = fdSnapshot();
  const gone = closed(rig.ours);
  expect(await refusal(send('ScanoutDMABUF2', 'ahuuuuauauuuuut', [[fd], 0, 0, W, H, [0], [W * 4], 1, DRM_FORMAT.XRGB8888, W, H, 0n]))).toMatch(/signature "ahuuuuauauuuuut", not "ahuuuuauauuuuutb"/);
  expect((await gone)?.message).toMatch(/QEMU sent a malformed call: ScanoutDMABUF2 came with the signature/);
  expect(fdsOpenedSince(before)).toEqual([]);
  rig.close();
  rig = await listenerRig(host, { w: W, h: H, replyWithinMs: 10_000 });
  const five = [0, 1, 2, 3, 4].map(() => dmabuf(4096, []));
  const gone2 = closed(rig.ours);
  void send('ScanoutDMABUF2', SIG, [five, 0, 0, W, H, [0], [W * 4], 1, DRM_FORMAT.XRGB8888, W, H, 0n, false]).catch(() => undefined);
  expect((await gone2)?.message).toMatch(/ScanoutDMABUF2 came with 5 file descriptors; a buffer has at most 4 planes/);
});
