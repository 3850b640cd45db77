import { readdirSync, writeSync } from 'node:fs';
import { openHost } from '../../src/kernel/host';
import type { Host } from '../../src/kernel/host';
import { PIXMAN } from '../../src/sources/qemu-listener';
import { listenerCall, listenerRig } from '../helpers/listener-rig';
import { faultCase, procStats } from '../helpers/fault-rig';
import { settleVblanks, shownAt } from '../helpers/screen';

// The byte-exact version of a QEMU dying mid-frame, which a real QEMU cannot be made to do on
// cue: the listener harness writes the first half of a Scanout, then its end of the link closes.
const W = 64;
const H = 48;
let host: Host;

beforeEach(() => (host = openHost('sim:vkms')));
afterEach(() => host.close());

const fds = () => readdirSync('/proc/self/fd').length;
const solid = ([r, g, b]: number[]) => {
  const d = Buffer.alloc(W * H * 4);
  for (let i = 0; i < d.length; i += 4) d.set([b, g, r, 0], i);
  return d;
};

test("QEMU's link closed mid-frame: half a Scanout, then EOF; nothing throws, the last whole frame stays, nothing leaks", () =>
  faultCase("QEMU's link closed mid-frame (half a Scanout, then EOF)", async () => {
    const sim = host.sim!;
    const fbs = sim.card.fbCount;
    const gem = sim.card.gemHandleCount;
    const open = fds();
    const rss = procStats(process.pid).rssKiB;
    const rig = await listenerRig(sim, { w: W, h: H });
    try {
      await rig.call('Scanout', 'uuuuay', [W, H, W * 4, PIXMAN.x8r8g8b8, solid([0, 0, 200])]);
      await settleVblanks(sim);
      expect(shownAt(sim, rig.crtc, 10, 10)).toEqual([0, 0, 200]);
      const { buf } = listenerCall('Scanout', 'uuuuay', [W, H, W * 4, PIXMAN.x8r8g8b8, solid([200, 0, 0])], 99, 1);
      writeSync(rig.qemu.fd, buf.subarray(0, buf.length >> 1));
      rig.qemu.close();
      await settleVblanks(sim);
      expect(rig.logs.length).toBeLessThanOrEqual(1); // said once, if at all
      // The half frame is never shown: the plane keeps the last whole one.
      expect(shownAt(sim, rig.crtc, 10, 10)).toEqual([0, 0, 200]);
    } finally {
      rig.close();
    }
    // Everything the link, the listener and its frames held is gone again.
    await new Promise((r) => setImmediate(r));
    expect([fds(), sim.card.fbCount, sim.card.gemHandleCount]).toEqual([open, fbs, gem]);
    return { restoredByteForByte: false, leaks: { fds: fds() - open, fbs: sim.card.fbCount - fbs, gem: sim.card.gemHandleCount - gem, rssKiB: procStats(process.pid).rssKiB - rss } };
  }));
