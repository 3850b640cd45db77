/**
 * The KMS engine (planner with TEST_ONLY, one atomic commit, snapshot and restore) on real vkms,
 * every picture checked pixel for pixel through the writeback connector: a guest primary on the
 * primary plane, a second guest plane on an overlay at an offset, an ARGB cursor on the cursor
 * plane; then the host's own picture and every property back as they were.
 */
import { DRM_FORMAT } from '../../src/kernel/constants';
import { dumpProperties } from '../../src/kernel/topology';
import type { Topology } from '../../src/kernel/topology';
import type { KmsDevice } from '../../src/kernel/types';
import { commitPlan } from '../../src/kms/commit';
import { Occupancy } from '../../src/kms/occupancy';
import { planDomain } from '../../src/kms/planner';
import { restoreSnapshots } from '../../src/kms/restore';
import type { ObjectSnapshot } from '../../src/kms/snapshot';
import { TestOnlyJudge } from '../../src/kms/test-only';
import type { DomainRequest, Plan, PlaneRequest } from '../../src/kms/types';
import type { FullDump } from './prop-dump';
import { fullDump } from './prop-dump';
import { report } from './runner';
import { collectMappings, openVkmsDisplay, dumbFb, emitPng, freeFb, Image, paint, Writeback } from './guest';
import type { DumbFb } from './guest';

/** Guest pictures: busy enough that an off-by-one in position or stride cannot pass. */
const PRIMARY = (x: number, y: number) => ((x & 0xff) << 16) | ((y & 0xff) << 8) | ((((x >> 8) + (y >> 8) * 4) * 16) & 0xff);
const WINDOW = (x: number, y: number) => (((x >> 4) ^ (y >> 4)) & 1 ? 0x20c020 : 0xc02020) ^ ((x + y) & 0x0f);
/** ARGB: an opaque ring with an opaque dot, fully transparent elsewhere (vkms blends premultiplied). */
const CURSOR = (x: number, y: number) => {
  const d = Math.hypot(x - 31.5, y - 31.5);
  if (d < 6) return 0xff2040ff;
  return d > 20 && d < 28 ? 0xffffff00 : 0x00000000;
};

const WIN = { x: 100, y: 80, w: 256, h: 192 };
const CUR = { x: 700, y: 500, w: 64, h: 64 };

describe('KMS engine on vkms, verified through writeback', () => {
  let dev: KmsDevice;
  let t: Topology;
  let wb: Writeback;
  let crtcId = 0;
  let hostPicture: Image | null = null;
  let hostProps: ReturnType<typeof dumpProperties> | null = null;
  let hostDump: FullDump | null = null;
  let plan: Plan | null = null;
  const snaps: ObjectSnapshot[] = [];
  const fbs: DumbFb[] = [];

  beforeAll(async () => {
    ({ dev, t, wb, crtcId } = await openVkmsDisplay());
  });

  afterAll(async () => {
    for (const f of fbs.splice(0)) freeFb(dev, f);
    dev.close();
    await collectMappings();
  });

  test('the host picture (fbdev on Virtual-1) is captured before the domain starts', async () => {
    hostPicture = await wb.capture(crtcId);
    // After the capture: attaching and detaching the writeback connector leaves its legacy DPMS
    // at Off (3), which is the capture's doing, not the engine's.
    hostProps = dumpProperties(dev);
    hostDump = fullDump(dev);
    emitPng('engine-0-host-before', hostPicture);
    expect([hostPicture.width, hostPicture.height]).toEqual([1024, 768]);
  });

  test('the planner places primary, overlay window and cursor with one TEST_ONLY per plane', () => {
    const primary = dumbFb(dev, 1024, 768);
    const window = dumbFb(dev, WIN.w, WIN.h);
    const cursor = dumbFb(dev, CUR.w, CUR.h, DRM_FORMAT.ARGB8888);
    fbs.push(primary, window, cursor);
    paint(primary.map, 1024, 768, primary.pitch, PRIMARY);
    paint(window.map, WIN.w, WIN.h, window.pitch, WINDOW);
    paint(cursor.map, CUR.w, CUR.h, cursor.pitch, CURSOR);
    const guest = (f: DumbFb) => ({ format: f.format, modifier: 0n, width: f.width, height: f.height, fbId: f.fb, assumed: false });
    const none = { x: null, y: null, width: null, height: null, zpos: null };
    const planes: PlaneRequest[] = [
      { key: 'primary', from: 'primary', to: 'primary', ...none, guest: guest(primary) },
      { key: 'window', from: 'primary', to: 'overlay', ...none, x: WIN.x, y: WIN.y, guest: guest(window) },
      { key: 'cursor', from: 'cursor', to: 'cursor', ...none, x: CUR.x, y: CUR.y, guest: guest(cursor) },
    ];
    const req: DomainRequest = { domain: 'lane', outputs: [{ key: 'out', connector: 'Virtual-1', mode: { kind: 'current' }, planes }] };
    const judge = new TestOnlyJudge(dev, t);
    try {
      plan = planDomain(t, req, new Occupancy(), { testOnly: judge.judge, budgetMs: 5000 });
    } finally {
      judge.dispose();
    }
    const o = plan.outputs[0];
    expect([o.connector, o.modeset, plan.verified, plan.testOnlyCommits]).toEqual(['Virtual-1', false, true, 3]);
    expect(o.planes.map((p) => [p.key, p.planeType])).toEqual([['primary', 'primary'], ['window', 'overlay'], ['cursor', 'cursor']]);
    expect(o.planes.map((p) => p.dst)).toEqual([{ x: 0, y: 0, w: 1024, h: 768 }, WIN, CUR]);
  });

  test('one atomic commit shows all three, pixel for pixel', async () => {
    if (!plan) throw new Error('no plan (the planning test failed)');
    commitPlan(dev, t, plan, snaps);
    const want = new Image(1024, 768);
    want.layer(0, 0, 1024, 768, PRIMARY);
    want.layer(WIN.x, WIN.y, WIN.w, WIN.h, WINDOW);
    want.layer(CUR.x, CUR.y, CUR.w, CUR.h, CURSOR, true);
    const got = await wb.capture(crtcId);
    emitPng('engine-1-domain', got);
    expect(got.diff(want)).toEqual([]);
  });

  test('restore gives back every property of every object (blobs by their bytes) and the host picture, pixel for pixel', async () => {
    if (!hostPicture || !hostProps || !hostDump) throw new Error('no picture of the host from before');
    if (!snaps.length) throw new Error('nothing was committed');
    // The domain's commit changed what it should: the dump can see a difference.
    expect(fullDump(dev).objects).not.toEqual(hostDump.objects);
    expect(restoreSnapshots(dev, JSON.parse(JSON.stringify(snaps)) as ObjectSnapshot[], 'previous').notes).toEqual([]);
    expect(dumpProperties(dev)).toEqual(hostProps);
    const after = fullDump(dev);
    expect(after.objects).toEqual(hostDump.objects);
    const kinds = Object.keys(after.objects).map((k) => k.split(':')[0]);
    const n = (k: string) => kinds.filter((x) => x === k).length;
    report(`# restore: ${kinds.length} objects (${n('crtc')} CRTC, ${n('connector')} connectors, ${n('plane')} planes), ${after.properties} properties of which ${after.blobs} blobs, all as before`);
    // The writeback connector (seen only with its client cap) is in the dump too.
    expect(Object.keys(after.objects)).toContain(`connector:${wb.conn.id}`);
    const got = await wb.capture(crtcId);
    emitPng('engine-2-host-after', got);
    expect(got.diff(hostPicture)).toEqual([]);
  });

  test('a domain at another mode (a modeset) and its restore: the mode blob by its bytes, every other property and the host picture as before', async () => {
    if (!hostPicture || !hostDump) throw new Error('no picture of the host from before');
    const W = 800;
    const H = 600;
    const primary = dumbFb(dev, W, H);
    fbs.push(primary);
    paint(primary.map, W, H, primary.pitch, WINDOW);
    const none = { x: null, y: null, width: null, height: null, zpos: null };
    const guest = { format: primary.format, modifier: 0n, width: W, height: H, fbId: primary.fb, assumed: false };
    const req: DomainRequest = { domain: 'lane-mode', outputs: [{ key: 'out', connector: 'Virtual-1', mode: { kind: 'exact', width: W, height: H, refresh: 60 }, planes: [{ key: 'primary', from: 'primary', to: 'primary', ...none, guest }] }] };
    const judge = new TestOnlyJudge(dev, t);
    let p: Plan;
    try {
      p = planDomain(t, req, new Occupancy(), { testOnly: judge.judge, budgetMs: 5000 });
    } finally {
      judge.dispose();
    }
    expect([p.outputs[0].modeset, p.outputs[0].mode.hdisplay, p.outputs[0].mode.vdisplay]).toEqual([true, W, H]);
    const taken: ObjectSnapshot[] = [];
    commitPlan(dev, t, p, taken);
    const shown = await wb.capture(crtcId);
    emitPng('engine-3-domain-800x600', shown);
    const want = new Image(W, H);
    want.layer(0, 0, W, H, WINDOW);
    expect(shown.diff(want)).toEqual([]);
    expect(restoreSnapshots(dev, JSON.parse(JSON.stringify(taken)) as ObjectSnapshot[], 'previous').notes).toEqual([]);
    expect(fullDump(dev).objects).toEqual(hostDump.objects);
    const got = await wb.capture(crtcId);
    emitPng('engine-4-host-after-modeset', got);
    expect(got.diff(hostPicture)).toEqual([]);
  });
});
