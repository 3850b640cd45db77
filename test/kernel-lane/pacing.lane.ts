/**
 * The guest paced to the monitor, on real vkms: QEMU holds the guest's GL until UpdateDMABUF is
 * answered, and the listener answers once the flip showing the frame has completed. A harness
 * playing QEMU (qemu-rig.ts) sends the calls one at a time, as QEMU does, and times each reply
 * against the page-flip event of the commit that carried its frame: the event's own kernel
 * timestamp (tv_sec/tv_usec, CLOCK_MONOTONIC) and the moment the pipeline's fd delivered it.
 */
import { DRM_FORMAT } from '../../src/kernel/constants';
import type { Topology } from '../../src/kernel/topology';
import type { KmsDevice } from '../../src/kernel/types';
import { MESSAGE } from '../../src/sources/dbus-peer';
import type { PeerMessage } from '../../src/sources/dbus-peer';
import type { Entry } from './flip-log';
import { now, quantile } from './flip-log';
import { collectMappings, openVkmsDisplay } from './guest';
import type { QemuRig } from './qemu-rig';
import { qemuRig } from './qemu-rig';
import { report } from './runner';

const W = 320;
const H = 240;
const N = 200;
const PIC = (x: number, y: number) => ((x & 0xff) << 16) | ((y & 0xff) << 8) | 0x40;

interface Timed {
  member: string;
  sent: bigint;
  /** When the listener sent the reply, and when the harness (QEMU) had it. */
  replySent: bigint;
  replied: bigint;
  /** The accepted commit issued for this call, and its flip event, from the pipeline's log. */
  commit?: Entry;
  event?: Entry & { kind: 'event' };
}

describe('replies paced by flip events on vkms', () => {
  let dev: KmsDevice;
  let t: Topology;
  let crtcId = 0;
  let rig: QemuRig | null = null;

  beforeAll(async () => {
    ({ dev, t, crtcId } = await openVkmsDisplay());
    // A bound far beyond any flip: only the flip event can release a reply.
    rig = await qemuRig(dev, t, crtcId, { x: 64, y: 64, w: W, h: H }, { replyWithinMs: 10_000 });
  });

  afterAll(async () => {
    try {
      await rig?.close();
    } finally {
      dev.close();
      await collectMappings();
    }
  });

  /** One call as QEMU makes it, timed, with the commit and event its frame went out with. */
  const timed = async (member: string, signature: string, body: unknown[]): Promise<Timed> => {
    const r = rig!;
    const from = r.log.entries.length;
    const reply = r.replySent.length;
    const sent = now();
    const m: PeerMessage = await r.call(member, signature, body);
    const replied = now();
    expect(r.replySent.length).toBe(reply + 1);
    expect([member, m.type, m.errorName]).toEqual([member, MESSAGE.METHOD_RETURN, undefined]);
    const entries = r.log.entries.slice(from);
    const commit = entries.find((e) => e.kind === 'commit' && e.ok);
    const event = commit && (entries.find((e) => e.kind === 'event' && e.tag === commit.tag) as (Entry & { kind: 'event' }) | undefined);
    return { member, sent, replySent: r.replySent[reply], replied, commit, event };
  };

  test(`each of ${N} UpdateDMABUF replies (and the ScanoutDMABUF's) comes after the flip event of its frame`, async () => {
    const r = rig!;
    const g = r.buffer(W, H);
    r.draw(g, PIC);
    const calls = [await timed('ScanoutDMABUF', 'huuuutb', [g.fd, W, H, g.pitch, DRM_FORMAT.XRGB8888, 0n, false])];
    for (let i = 0; i < N; i++) calls.push(await timed('UpdateDMABUF', 'iiii', [0, 0, W, H]));
    const wrong: string[] = [];
    const delays: number[] = [];
    calls.forEach((c, i) => {
      if (!c.commit) return wrong.push(`call ${i} (${c.member}): no commit was issued for its frame before the reply`);
      if (!c.event) return wrong.push(`call ${i} (${c.member}): replied before its flip event (user_data ${c.commit.tag}) reached the pipeline`);
      if (c.event.at > c.replySent) wrong.push(`call ${i}: the listener replied before the event reached the pipeline`);
      if (c.event.kernelNs > c.replied) wrong.push(`call ${i}: the flip completed (kernel time) after the reply`);
      if (c.commit.at < c.sent) wrong.push(`call ${i}: its commit predates the call`);
      if (i > 0) delays.push(Number(c.replied - c.event.kernelNs) / 1e6);
      return undefined;
    });
    expect(wrong).toEqual([]);
    const ms = (q: number) => quantile(delays, q).toFixed(2);
    report(`# pacing: reply after event by p50 ${ms(0.5)} ms, p99 ${ms(0.99)} ms over ${delays.length} frames`);
    const part = (f: (c: Timed) => bigint) => {
      const xs = calls.slice(1).map((c) => Number(f(c)) / 1e6);
      return `p50 ${quantile(xs, 0.5).toFixed(2)}, p99 ${quantile(xs, 0.99).toFixed(2)} ms`;
    };
    report(`# pacing, in parts: flip (kernel timestamp) to the event read from our fd ${part((c) => c.event!.at - c.event!.kernelNs)}; event read to reply sent ${part((c) => c.replySent - c.event!.at)}; reply sent to QEMU's side having it ${part((c) => c.replied - c.replySent)}`);
    // One flip per call, every reply released by its flip, not by the bound.
    expect([r.listener.paceTimeouts, r.pipeline.counters.flipped, r.pipeline.counters.lostFlips]).toEqual([0, N + 1, 0]);
    expect([r.logs, r.errors]).toEqual([[], []]);
  }, 120_000);
});
