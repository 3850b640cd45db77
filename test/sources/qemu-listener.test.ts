import { openHost } from '../../src/kernel/host';
import type { Host } from '../../src/kernel/host';
import { writeSync } from 'node:fs';
import type { PeerLink, PeerMessage } from '../../src/sources/dbus-peer';
import { MESSAGE } from '../../src/sources/dbus-peer';
import type { FramePipeline } from '../../src/sources/pipeline';
import { PIXMAN } from '../../src/sources/qemu-listener';
import { listenerCall, listenerRig } from '../helpers/listener-rig';
import type { ListenerRig } from '../helpers/listener-rig';
import { settleVblanks, shownAt } from '../helpers/screen';

const W = 64;
const H = 48;
const LISTENER = 'org.qemu.Display1.Listener';

let host: Host;
let rig: ListenerRig;
let qemu: PeerLink;
let pipeline: FramePipeline;
let crtc: number;

beforeEach(async () => {
  host = openHost('sim:vkms');
  rig = await listenerRig(host.sim!, { w: W, h: H });
  ({ qemu, pipeline, crtc } = rig);
});

afterEach(() => {
  rig.close();
  host.close();
});

/** BGRX pixels of one colour: what a little-endian x8r8g8b8 surface holds. */
const solid = (w: number, h: number, [r, g, b]: number[]) => {
  const d = Buffer.alloc(w * h * 4);
  for (let i = 0; i < d.length; i += 4) d.set([b, g, r, 0], i);
  return d;
};
const send = (member: string, signature: string, body: unknown[]) => rig.send(member, signature, body);
const shown = (x: number, y: number) => shownAt(host.sim!, crtc, x, y);
const settle = () => settleVblanks(host.sim!);

test('Scanout shows the frame; Update copies only its rectangle (and what a buffer missed)', async () => {
  send('Scanout', 'uuuuay', [W, H, W * 4, PIXMAN.x8r8g8b8, solid(W, H, [0, 0, 200])]);
  await settle();
  expect(shown(5, 5)).toEqual([0, 0, 200]);
  expect(pipeline.counters.bytesCopied).toBe(W * H * 4);
  send('Update', 'iiiiuuay', [10, 10, 8, 8, 32, PIXMAN.x8r8g8b8, solid(8, 8, [250, 0, 0])]);
  await settle();
  expect(shown(12, 12)).toEqual([250, 0, 0]);
  expect(shown(5, 5)).toEqual([0, 0, 200]);
  // The second buffer first catches up on the whole scanout it missed, once.
  const caughtUp = pipeline.counters.bytesCopied;
  expect(caughtUp).toBe(W * H * 4 + W * H * 4 + 8 * 8 * 4);
  for (let i = 0; i < 10; i++) {
    send('Update', 'iiiiuuay', [i * 4, 30, 4, 4, 16, PIXMAN.x8r8g8b8, solid(4, 4, [0, 250, 0])]);
    await settle();
  }
  expect(shown(38, 31)).toEqual([0, 250, 0]);
  expect(shown(12, 12)).toEqual([250, 0, 0]); // earlier damage survives the buffer rotation
  // Ten 4x4 updates: each copies its own 64 bytes plus, at most, the small rectangles its buffer missed.
  const perUpdate = (pipeline.counters.bytesCopied - caughtUp) / 10;
  expect(perUpdate).toBeLessThanOrEqual(3 * 4 * 4 * 4 + 8 * 8 * 4);
  expect(perUpdate).toBeLessThan((W * H * 4) / 10);
});

test('Disable switches the plane off; bad formats and malformed updates are refused, not crashes', async () => {
  const replies: { type: number; errorName?: string }[] = [];
  qemu.on('message', (m) => replies.push(m));
  send('Scanout', 'uuuuay', [W, H, W * 4, PIXMAN.x8r8g8b8, solid(W, H, [9, 9, 9])]);
  await settle();
  qemu.send({ type: MESSAGE.METHOD_CALL, flags: 0, path: '/org/qemu/Display1/Listener', interface: LISTENER, member: 'Update', signature: 'iiiiuuay', body: [-4, 40, 8, 8, 32, PIXMAN.x8r8g8b8, solid(8, 8, [1, 1, 1])] });
  qemu.send({ type: MESSAGE.METHOD_CALL, flags: 0, path: '/org/qemu/Display1/Listener', interface: LISTENER, member: 'Scanout', signature: 'uuuuay', body: [4, 4, 16, 0x10020565, Buffer.alloc(64)] });
  send('Disable', '', []);
  await settle();
  expect(replies.map((r) => r.errorName)).toEqual(['org.freedesktop.DBus.Error.Failed', 'org.freedesktop.DBus.Error.Failed']);
  expect(shown(5, 5)).not.toEqual([9, 9, 9]);
});

test('10 000 Updates: only damaged bytes are copied, no fb or GEM growth, and a slow display replaces queued frames', async () => {
  const sim = host.sim!;
  const call = rig.call;
  await call('Scanout', 'uuuuay', [W, H, W * 4, PIXMAN.x8r8g8b8, solid(W, H, [0, 0, 0])]);
  await settle();
  const fbs = sim.card.fbs.size;
  const gems = sim.card.gemHandleCount;
  const start = pipeline.counters.bytesCopied;
  let damage = 0;
  let seed = 12345; // a fixed sequence: the run is the same every time
  const rng = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) % n;
  let last = { x: 0, y: 0 };
  for (let i = 0; i < 10_000; i++) {
    const [w, h] = [1 + rng(8), 1 + rng(8)];
    const [x, y] = [rng(W - w), rng(H - h)];
    await call('Update', 'iiiiuuay', [x, y, w, h, w * 4, PIXMAN.x8r8g8b8, solid(w, h, [i & 255, 7, 9])]);
    damage += w * h * 4;
    last = { x, y };
    // Every 40 updates the display stalls for 4: those updates must replace each other.
    if (i % 40 >= 4) sim.card.advanceVblank();
    await new Promise((r) => setImmediate(r));
  }
  await settle();
  const copied = pipeline.counters.bytesCopied - start;
  // Each damaged rectangle reaches each of the three buffers at most once; the first buffer
  // swap after the Scanout may also catch up on the whole frame it missed (at most twice).
  expect(copied).toBeGreaterThanOrEqual(damage);
  expect(copied).toBeLessThanOrEqual(3 * damage + 2 * W * H * 4);
  // For scale: copying whole frames would have cost this many bytes.
  expect(copied).toBeLessThan((10_000 * W * H * 4) / 10);
  expect(pipeline.counters.dropped).toBeGreaterThan(0);
  expect(sim.card.fbs.size).toBe(fbs);
  expect(sim.card.gemHandleCount).toBe(gems);
  expect(shown(last.x, last.y)).toEqual([9_999 & 255, 7, 9]); // the newest update is what shows
}, 120_000);

test('a method name holding a NUL and a newline is refused as NotSupported, escaped, and the link stays open', async () => {
  // D-Bus strings may hold no NUL, but the bytes can: the refusal must still marshal.
  const { buf } = listenerCall('BoXgusY', '', [], 77);
  const at = buf.indexOf('BoXgusY');
  buf.write('\0', at + 2, 'latin1');
  buf.write('\n', at + 6, 'latin1');
  const got = new Promise<PeerMessage>((r) => qemu.once('message', r));
  writeSync(qemu.fd, buf);
  const m = await got;
  expect([m.type, m.errorName, m.replySerial]).toEqual([MESSAGE.ERROR, 'org.freedesktop.DBus.Error.NotSupported', 77]);
  expect(m.body[0]).toBe('"Bo\\u0000gus\\n" is not a Listener method this daemon serves');
  // Still serving: a frame after it is shown.
  send('Scanout', 'uuuuay', [W, H, W * 4, PIXMAN.x8r8g8b8, solid(W, H, [0, 0, 77])]);
  await settle();
  expect(shown(5, 5)).toEqual([0, 0, 77]);
});
