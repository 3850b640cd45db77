import { closeSync, ftruncateSync } from 'node:fs';
import { DRM_FORMAT } from '../../src/kernel/constants';
import { openHost } from '../../src/kernel/host';
import type { Host } from '../../src/kernel/host';
import { memfdCreate } from '../../src/kernel/native-socket';
import type { PeerMessage } from '../../src/sources/dbus-peer';
import { MESSAGE } from '../../src/sources/dbus-peer';
import { listenerRig } from '../helpers/listener-rig';
import type { ListenerRig } from '../helpers/listener-rig';

/**
 * QEMU holds the guest's GL until UpdateDMABUF is answered: the listener answers once the flip
 * showing the frame has completed (the page-flip event), so the guest is paced to the monitor,
 * and within a bound when that event never comes.
 */
const W = 64;
const H = 48;
const STRIDE = W * 4;
const tick = () => new Promise((r) => setImmediate(r));
let host: Host;
let rig: ListenerRig;
let buf: number;
const expectOk = (m: PeerMessage) => expect([m.type, m.errorName]).toEqual([MESSAGE.METHOD_RETURN, undefined]);
const calls = [
  ['ScanoutDMABUF', 'huuuutb', () => [buf, W, H, STRIDE, DRM_FORMAT.XRGB8888, 0n, false]],
  ['UpdateDMABUF', 'iiii', () => [0, 0, W, H]],
] as const;

beforeEach(() => {
  host = openHost('sim:vkms');
  buf = memfdCreate('guest-fb');
  ftruncateSync(buf, 16384);
  host.sim!.udmabuf(buf);
});
afterEach(() => {
  rig.close();
  closeSync(buf);
  host.close();
});

test('UpdateDMABUF and ScanoutDMABUF are answered after the flip event that shows their frame, not before', async () => {
  // A bound far beyond the test: only the flip can release the reply.
  rig = await listenerRig(host.sim!, { w: W, h: H, replyWithinMs: 60_000 });
  const { pipeline } = rig;
  for (const [member, signature, body] of calls) {
    const before = pipeline.counters;
    let answered = false;
    const reply = rig.call(member, signature, body()).then((m) => ((answered = true), m));
    // Handled and committed, with no vblank yet: no answer.
    while (pipeline.counters.received === before.received) await tick();
    for (let i = 0; i < 10; i++) await tick();
    expect([member, answered, pipeline.counters.flipped]).toEqual([member, false, before.flipped]);
    host.sim!.card.advanceVblank();
    expectOk(await reply);
    // By the time the reply came, the pipeline had taken the flip event.
    expect(pipeline.counters.flipped).toBe(before.flipped + 1);
  }
  expect(rig.listener.paceTimeouts).toBe(0);
});

test('an UpdateDMABUF sent while a flip to the same buffer is on its way is answered with that flip', async () => {
  rig = await listenerRig(host.sim!, { w: W, h: H, replyWithinMs: 60_000 });
  const scan = rig.call(calls[0][0], calls[0][1], calls[0][2]());
  while (!rig.pipeline.counters.received) await tick();
  const update = rig.call(calls[1][0], calls[1][1], calls[1][2]());
  for (let i = 0; i < 10; i++) await tick();
  host.sim!.card.advanceVblank();
  const [a, b] = await Promise.all([scan, update]);
  expectOk(a);
  expectOk(b);
  // One frame: the update needed no commit of its own, and both waited for the same flip.
  expect(rig.pipeline.counters).toMatchObject({ received: 1, flipped: 1 });
});

test('a flip event that never comes still gets the guest its reply, within the bound, counted', async () => {
  rig = await listenerRig(host.sim!, { w: W, h: H, replyWithinMs: 100, dropEvents: () => true });
  const { pipeline } = rig;
  for (const [member, signature, body] of calls) {
    const reply = rig.call(member, signature, body());
    while (pipeline.counters.received === 0) await tick();
    host.sim!.card.advanceVblank(); // the card flips; the event is lost on the way
    expectOk(await reply);
    // Answered by the bound: the pipeline had heard of no flip (its own timeout is longer).
    expect(pipeline.counters.flipped).toBe(0);
  }
  expect(rig.listener.paceTimeouts).toBe(2);
});
