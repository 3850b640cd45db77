import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDomainXml } from '../../src/config';
import { Engine } from '../../src/daemon/engine';
import { Journal } from '../../src/daemon/journal';
import { openHost } from '../../src/kernel/host';
import type { Host } from '../../src/kernel/host';
import { dumpProperties } from '../../src/kernel/topology';
import { renderCrtc } from '../../src/kernel/sim/render';
import { planRelease } from '../../src/kms/release';
import type { LiveDomain } from '../../src/kms/release';
import type { ObjectSnapshot } from '../../src/kms/snapshot';
import type { Plan } from '../../src/kms/types';

const NS = 'https://directflip.github.io/xmlns/domain/1';
const A_UUID = 'c2177883-f1bb-47f0-914d-32a22e3a8804';
const B_UUID = '4b20e6f8-8a2c-4a7c-9a51-0c3b1f2d6e01';

function domain(name: string, mdev: string, output: string) {
  return parseDomainXml(`<domain><name>${name}</name><metadata><directflip xmlns="${NS}">${output}</directflip></metadata>
    <devices><graphics type='dbus'/><hostdev mode='subsystem' type='mdev'><source><address uuid='${mdev}'/></source></hostdev></devices></domain>`);
}

// A sets 1280x720 on a connector and shows its primary there; B then joins that CRTC in a scaled
// window on an overlay, in the mode A set. HDMI-A-1 runs fbcon at 1920x1080; DP-1 is dark.
const pair = (connector: string) => ({
  a: domain('a', A_UUID, `<output connector="${connector}" mode="1280x720"><plane from="primary" mdev="${A_UUID}"/></output>`),
  b: domain('b', B_UUID, `<output connector="${connector}"><plane from="primary" mdev="${B_UUID}" to="overlay" x="100" y="100" width="640" height="360"/></output>`),
});

let run: string;
let host: Host;
const lines: string[] = [];
const log = (level: string, d: string | null, msg: string) => lines.push(`${level} ${d ?? '-'} ${msg}`);

beforeEach(() => {
  run = mkdtempSync(join(tmpdir(), 'directflip-shared-'));
  host = openHost('sim:gvt-skylake');
  lines.length = 0;
});
afterEach(() => {
  host.close();
  rmSync(run, { recursive: true, force: true });
});

/** What every monitor shows and every property of every object, as another client sees them. */
function screen(): { props: Record<string, Record<string, string>>; pictures: Buffer[] } {
  const dev = host.backend.openKms(host.cards()[0]);
  try {
    const props = dumpProperties(dev);
    const card = host.sim!.card;
    return { props, pictures: card.built.crtcs.map((c) => renderCrtc(card, c.id).rgba) };
  } finally {
    dev.close();
  }
}

function expectSame(now: ReturnType<typeof screen>, before: ReturnType<typeof screen>): void {
  expect(now.props).toEqual(before.props);
  now.pictures.forEach((p, i) => expect(p.equals(before.pictures[i])).toBe(true));
}

async function bothShown(e: Engine, { a, b }: ReturnType<typeof pair>) {
  await e.prepare(a);
  const sa = await e.activate('a', a);
  await e.prepare(b);
  const sb = await e.activate('b', b);
  expect(sb.plan.outputs[0].crtcId).toBe(sa.plan.outputs[0].crtcId);
  expect(sb.plan.outputs[0].modeset).toBe(false);
  return { crtc: sa.plan.outputs[0].crtcId, aPlane: sa.plan.outputs[0].planes[0].planeId, bPlane: sb.plan.outputs[0].planes[0].planeId };
}

test.each([
  ['HDMI-A-1', 'a', 'b'], ['HDMI-A-1', 'b', 'a'], ['DP-1', 'a', 'b'], ['DP-1', 'b', 'a'],
])('two guests on one CRTC of %s, released %s then %s, give the monitor back byte for byte', async (connector, first, second) => {
  const e = new Engine(host, new Journal(run), log);
  const before = screen();
  const { crtc, aPlane, bPlane } = await bothShown(e, pair(connector));
  const during = screen();
  expect(during.props[`crtc:${crtc}`].MODE).toMatch(/"hdisplay":1280/);
  const r1 = await e.release(first, 'destroyed');
  expect(r1.state).toBe('released');
  const mid = screen();
  // The one who stays is still shown, in the mode A set; the one who left is gone.
  const stays = first === 'a' ? bPlane : aPlane;
  const left = first === 'a' ? aPlane : bPlane;
  expect(mid.props[`crtc:${crtc}`].MODE).toMatch(/"hdisplay":1280/);
  expect(mid.props[`plane:${stays}`].FB_ID).toBe(during.props[`plane:${stays}`].FB_ID);
  expect(mid.props[`plane:${left}`].FB_ID).not.toBe(during.props[`plane:${left}`].FB_ID);
  const r2 = await e.release(second, 'destroyed');
  expect(r2.state).toBe('released');
  expectSame(screen(), before);
  expect(lines.filter((l) => l.startsWith('err '))).toEqual([]);
  expect(e.status()).toEqual([]);
});

test.each(['HDMI-A-1', 'DP-1'])('a daemon stop with two guests on one CRTC of %s gives the monitor back exactly, and keeps both records', async (connector) => {
  // Another client keeps the card open, so the engine's close is not the last (which would let
  // fbcon repaint and hide a wrong restore).
  const bystander = host.backend.openKms(host.cards()[0]);
  bystander.dropMaster(); // the first opener is made master; it wants none
  const e = new Engine(host, new Journal(run), log);
  const before = screen();
  await bothShown(e, pair(connector));
  await e.shutdown();
  expectSame(screen(), before);
  expect(new Journal(run).readAll().records.map((r) => r.name).sort()).toEqual(['a', 'b']);
  expect(lines.filter((l) => l.startsWith('err '))).toEqual([]);
  bystander.close();
});

// The planner alone, on hand-made records: what goes where.
const snap = (kind: ObjectSnapshot['kind'], id: number, props: Record<string, string> = {}): ObjectSnapshot => ({ kind, id, props });
const plan = (d: string, planes: number[], modeset: boolean): Plan => ({
  domain: d, testOnlyCommits: 0, elapsedMs: 0, searchMs: 0, verified: true,
  outputs: [{
    key: 'o', connectorId: 9, connector: 'HDMI-A-1', crtcId: 5, crtcIndex: 1, modeset, mode: {} as Plan['outputs'][0]['mode'],
    planes: planes.map((planeId) => ({ key: 'p', from: 'primary', planeId, planeType: 'overlay', fbId: 1, src: { x: 0, y: 0, w: 1, h: 1 }, dst: { x: 0, y: 0, w: 1, h: 1 }, zpos: null, setZpos: false })),
  }],
});
const A: LiveDomain = { domain: 'a', active: true, restore: 'previous', plan: plan('a', [1], true), snapshots: [snap('crtc', 5), snap('connector', 9), snap('plane', 1, { CRTC_ID: '5' }), snap('plane', 3, { CRTC_ID: '0' })] };
const B: LiveDomain = { domain: 'b', active: true, restore: 'previous', plan: plan('b', [2], false), snapshots: [snap('plane', 2, { CRTC_ID: '0' })] };

test('planRelease: the mode owner leaving first hands its CRTC, connector and the planes whose picture was on it to the one who stays', () => {
  const steps = planRelease([A, B], 'a');
  expect(steps.handOver).toEqual([{ to: 'b', modeOwner: [5], snapshots: [snap('crtc', 5), snap('connector', 9), snap('plane', 1, { CRTC_ID: '5' })] }]);
  // Plane 1 goes dark now (its prior picture needs the prior mode); plane 3 was elsewhere: back now.
  expect(steps.now).toEqual([{ ...snap('plane', 1, { CRTC_ID: '5' }), restore: 'off' }, snap('plane', 3, { CRTC_ID: '0' })]);
});

test('planRelease: the other order restores only the leaver\'s planes; the last one out restores everything; restore="off" travels with a hand-over', () => {
  expect(planRelease([A, B], 'b')).toEqual({ now: B.snapshots, handOver: [] });
  expect(planRelease([A], 'a')).toEqual({ now: A.snapshots, handOver: [] });
  expect(planRelease([A, { ...B, active: false }], 'a').handOver).toEqual([]);
  expect(planRelease([{ ...A, active: false }, B], 'a')).toEqual({ now: [], handOver: [] });
  const off = planRelease([{ ...A, restore: 'off' }, B], 'a');
  expect(off.handOver[0].snapshots.every((s) => s.restore === 'off')).toBe(true);
});
