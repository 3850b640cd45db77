import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDomainXml } from '../../src/config';
import type { DomainConfig } from '../../src/config';
import { DRM_FORMAT, DRM_FORMAT_MOD } from '../../src/kernel/constants';
import { openHost } from '../../src/kernel/host';
import type { Host } from '../../src/kernel/host';
import { dumpProperties, readTopology } from '../../src/kernel/topology';
import type { KmsDevice } from '../../src/kernel/types';
import { commitPlan } from '../../src/kms/commit';
import { Occupancy } from '../../src/kms/occupancy';
import { planDomain } from '../../src/kms/planner';
import { buildRequest, describeGuests } from '../../src/kms/request';
import { resolvePlane } from '../../src/sources/resolve';
import { restoreSnapshots } from '../../src/kms/restore';
import type { ObjectSnapshot } from '../../src/kms/snapshot';
import { TestOnlyJudge } from '../../src/kms/test-only';
import { PlanRefused } from '../../src/kms/types';
import type { Plan } from '../../src/kms/types';
import { REPO } from '../helpers/fixtures';

const example = (f: string) => parseDomainXml(readFileSync(join(REPO, 'examples', f)));
const NS = 'https://directflip.github.io/xmlns/domain/1';

function domain(name: string, uuid: string, output: string): DomainConfig {
  return parseDomainXml(`<domain><name>${name}</name><metadata><directflip xmlns="${NS}">${output}</directflip></metadata>
    <devices><graphics type='dbus'/><hostdev mode='subsystem' type='mdev'><source><address uuid='${uuid}'/></source></hostdev></devices></domain>`);
}

interface Ctx {
  host: Host;
  dev: KmsDevice;
  occ: Occupancy;
}

function start(profile: string): Ctx {
  const host = openHost(`sim:${profile}`);
  const dev = host.backend.openKms(host.cards()[0]);
  return { host, dev, occ: new Occupancy() };
}

/** What the daemon does before planning: ask the sources, then build the request. */
function build(c: Ctx, config: DomainConfig) {
  const t = readTopology(c.dev);
  return buildRequest(c.dev, config, describeGuests(t, config, (p, size) => resolvePlane(c.host, c.dev, config, p, size)));
}

function plan(c: Ctx, config: DomainConfig, patch?: (r: ReturnType<typeof build>) => void): Plan {
  const t = readTopology(c.dev);
  const built = build(c, config);
  patch?.(built);
  const judge = new TestOnlyJudge(c.dev, t);
  try {
    return planDomain(t, built.request, c.occ, { testOnly: judge.judge, budgetMs: 50 });
  } finally {
    judge.dispose();
  }
}

function hold(c: Ctx, p: Plan): void {
  c.occ.hold({
    domain: p.domain, planes: p.outputs.flatMap((o) => o.planes.map((x) => x.planeId)), crtcs: p.outputs.map((o) => o.crtcId),
    connectors: p.outputs.map((o) => o.connectorId), modeOwner: p.outputs.filter((o) => o.modeset).map((o) => o.crtcId),
  });
}

function refusal(fn: () => unknown): PlanRefused {
  try {
    fn();
  } catch (e) {
    if (e instanceof PlanRefused) return e;
    throw e;
  }
  throw new Error('planned');
}

afterEach(() => undefined);

test('gvt-skylake: the kiosk gets HDMI-A-1\'s primary and cursor, keeping the running mode, in one TEST_ONLY per plane', () => {
  const c = start('gvt-skylake');
  const p = plan(c, example('gvt-kiosk-hdmi.xml'));
  expect(p.outputs).toHaveLength(1);
  const o = p.outputs[0];
  expect([o.connector, o.crtcIndex, `${o.mode.hdisplay}x${o.mode.vdisplay}@${o.mode.vrefresh}`, o.modeset]).toEqual(['HDMI-A-1', 1, '1920x1080@60', false]);
  expect(o.planes.map((x) => [x.from, x.planeType])).toEqual([['primary', 'primary'], ['cursor', 'cursor']]);
  expect(o.planes[0].dst).toEqual({ x: 0, y: 0, w: 1920, h: 1080 });
  expect(p.testOnlyCommits).toBe(2);
  c.host.close();
});

test('gvt-skylake: one guest on two outputs routes DP-1 to the free pipe with a modeset', () => {
  const c = start('gvt-skylake');
  const p = plan(c, example('two-outputs.xml'));
  expect(p.outputs.map((o) => [o.connector, o.crtcIndex, o.modeset])).toEqual([['HDMI-A-1', 1, false], ['DP-1', 2, true]]);
  expect(p.testOnlyCommits).toBeLessThanOrEqual(4);
  c.host.close();
});

test('two domains share a CRTC: A on the primary plane, B in a window on an overlay', () => {
  const c = start('gvt-skylake');
  const a = plan(c, domain('a', 'c2177883-f1bb-47f0-914d-32a22e3a8804', `<output connector="HDMI-A-1"><plane from="primary" mdev="c2177883-f1bb-47f0-914d-32a22e3a8804"/></output>`));
  hold(c, a);
  const b = plan(c, domain('b', '4b20e6f8-8a2c-4a7c-9a51-0c3b1f2d6e01', `<output connector="HDMI-A-1"><plane from="primary" mdev="4b20e6f8-8a2c-4a7c-9a51-0c3b1f2d6e01" to="overlay" x="100" y="100" width="960" height="540"/></output>`));
  expect(b.outputs[0].crtcId).toBe(a.outputs[0].crtcId);
  expect(b.outputs[0].planes[0].planeType).toBe('overlay');
  expect(b.outputs[0].planes[0].planeId).not.toBe(a.outputs[0].planes[0].planeId);
  c.host.close();
});

test('a plane held by another domain is refused with the holder named', () => {
  const c = start('gvt-skylake');
  const a = plan(c, example('gvt-kiosk-hdmi.xml'));
  hold(c, a);
  const e = refusal(() => plan(c, domain('other', '4b20e6f8-8a2c-4a7c-9a51-0c3b1f2d6e01', `<output connector="HDMI-A-1"><plane from="cursor" mdev="4b20e6f8-8a2c-4a7c-9a51-0c3b1f2d6e01" to="cursor"/></output>`)));
  expect(e.reasons.join('\n')).toMatch(/plane \d+ \(cursor, pipe B\): held by domain kiosk-hdmi/);
  c.host.close();
});

test('a second domain cannot change a mode the first set', () => {
  const c = start('gvt-skylake');
  const a = plan(c, example('two-outputs.xml'));
  commitPlan(c.dev, readTopology(c.dev), a, []);
  hold(c, a);
  const e = refusal(() => plan(c, domain('x', 'c2177883-f1bb-47f0-914d-32a22e3a8804', `<output connector="DP-1" mode="1280x720"><plane from="primary" mdev="c2177883-f1bb-47f0-914d-32a22e3a8804" to="overlay"/></output>`)));
  expect(e.reasons[0]).toMatch(/for domain dual-head; a second domain cannot change it/);
  c.host.close();
});

test('an unsupported modifier is refused per candidate plane, naming IN_FORMATS', () => {
  const c = start('vkms');
  const e = refusal(() => plan(c, domain('y', '0f2d7e6a-5c4b-4a39-8e21-7d6c5b4a3f10', `<output connector="Virtual-1"><plane from="primary" mdev="0f2d7e6a-5c4b-4a39-8e21-7d6c5b4a3f10"/></output>`), (b) => {
    b.request.outputs[0].planes[0].guest.modifier = DRM_FORMAT_MOD.I915_Y_TILED;
  }));
  expect(e.request).toBe('directflip/output[1]/plane[1]');
  expect(e.reasons.join('\n')).toMatch(/plane \d+ \(primary, pipe A\): format XR24 with I915_Y_TILED not in IN_FORMATS/);
  c.host.close();
});

test("scaling on vkms's primary is refused by the kernel, with the scale named", () => {
  const c = start('vkms');
  const e = refusal(() => plan(c, domain('z', '0f2d7e6a-5c4b-4a39-8e21-7d6c5b4a3f10', `<output connector="Virtual-1" mode="1920x1080"><plane from="primary" mdev="0f2d7e6a-5c4b-4a39-8e21-7d6c5b4a3f10" to="primary"/></output>`)));
  // The mbochs guest is 1024x768: filling 1920x1080 means scaling, which vkms cannot do.
  expect(e.reasons.join('\n')).toMatch(/primary.*the kernel refused it \(ERANGE; it would scale 1024x768 → 1440x1080\)/);
  c.host.close();
});

test('a cursor larger than the hardware allows is refused', () => {
  const c = start('gvt-skylake');
  const e = refusal(() => plan(c, example('gvt-kiosk-hdmi.xml'), (b) => {
    Object.assign(b.request.outputs[0].planes[1].guest, { width: 512, height: 512 });
  }));
  expect(e.reasons.join('\n')).toMatch(/cursor is 512x512, larger than the 256x256/);
  c.host.close();
});

test('commit then restore brings back every property exactly', () => {
  const c = start('gvt-skylake');
  const before = dumpProperties(c.dev);
  const t = readTopology(c.dev);
  const built = build(c, example('two-outputs.xml'));
  const p = planDomain(t, built.request, c.occ, {});
  const snaps: ObjectSnapshot[] = [];
  commitPlan(c.dev, t, p, snaps);
  const during = dumpProperties(c.dev);
  expect(during).not.toEqual(before);
  expect(restoreSnapshots(c.dev, JSON.parse(JSON.stringify(snaps)), 'previous').notes).toEqual([]);
  expect(dumpProperties(c.dev)).toEqual(before);
  c.host.close();
});

test('restore="off" disables what the domain used', () => {
  const c = start('gvt-skylake');
  const t = readTopology(c.dev);
  const p = planDomain(t, build(c, example('gvt-kiosk-hdmi.xml')).request, c.occ, {});
  const snaps: ObjectSnapshot[] = [];
  commitPlan(c.dev, t, p, snaps);
  restoreSnapshots(c.dev, snaps, 'off');
  for (const x of p.outputs[0].planes) expect(c.dev.getPlane(x.planeId)).toMatchObject({ fbId: 0, crtcId: 0 });
  c.host.close();
});

test('restoring after the previous fb is gone disables that plane and says so', () => {
  const c = start('vkms');
  const other = c.host.backend.openKms(c.host.cards()[0]);
  const t = readTopology(other);
  // A compositor-like client shows its own fb on the overlay, then goes away.
  const d = other.createDumb(64, 64, 32);
  const fb = other.addFb2({ width: 64, height: 64, pixelFormat: DRM_FORMAT.XRGB8888, flags: 0, handles: [d.handle], pitches: [d.pitch], offsets: [0], modifiers: [0n] });
  const overlay = t.planes.find((p) => p.type === 'overlay')!;
  const snaps: ObjectSnapshot[] = [];
  const { snapshotObject } = jest.requireActual('../../src/kms/snapshot') as typeof import('../../src/kms/snapshot');
  const s = snapshotObject(c.dev, 'plane', overlay.id);
  s.props.FB_ID = String(fb);
  s.props.CRTC_ID = String(t.crtcs[0].id);
  snaps.push(s);
  other.close();
  const r = restoreSnapshots(c.dev, snaps, 'previous');
  expect(r.notes[0]).toMatch(new RegExp(`plane ${overlay.id}: its previous framebuffer ${fb} is gone`));
  expect(c.dev.getPlane(overlay.id)).toMatchObject({ fbId: 0, crtcId: 0 });
  c.host.close();
});

test('a commit the kernel refuses (failNext) leaves every property as it was', () => {
  const c = start('gvt-skylake');
  const before = dumpProperties(c.dev);
  const t = readTopology(c.dev);
  const p = planDomain(t, build(c, example('two-outputs.xml')).request, c.occ, {});
  c.host.sim!.card.failNext('DRM_IOCTL_MODE_ATOMIC', 'EINVAL');
  expect(() => commitPlan(c.dev, t, p, [])).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  expect(dumpProperties(c.dev)).toEqual(before);
  c.host.close();
});

test('budget exhaustion fails cleanly with the best reason found', () => {
  const c = start('gvt-skylake');
  let clock = 0;
  const t = readTopology(c.dev);
  const built = build(c, example('gvt-kiosk-hdmi.xml'));
  // Every TEST_ONLY refuses and the clock runs fast: the search must stop, not wander.
  const e = refusal(() => planDomain(t, built.request, c.occ, { testOnly: () => Object.assign(new Error('x'), { code: 'EINVAL', errno: -22, syscall: 'DRM_IOCTL_MODE_ATOMIC' }), budgetMs: 1, now: () => (clock += 0.4) }));
  expect(e.reasons.join('\n')).toMatch(/over its 1 ms budget|the kernel refused it \(EINVAL\)/);
  c.host.close();
});

test('an object that no longer exists is skipped with a note; the rest is still given back', () => {
  const c = start('gvt-skylake');
  const before = dumpProperties(c.dev);
  const t = readTopology(c.dev);
  const p = planDomain(t, build(c, example('gvt-kiosk-hdmi.xml')).request, c.occ, {});
  const snaps: ObjectSnapshot[] = [];
  commitPlan(c.dev, t, p, snaps);
  const gone: ObjectSnapshot = { kind: 'connector', id: 0x7fff0, props: { CRTC_ID: '0' } };
  expect(restoreSnapshots(c.dev, [gone, ...snaps], 'previous').notes).toEqual([`connector ${0x7fff0}: it no longer exists (an MST connector unplugged); nothing to give back to it`]);
  expect(dumpProperties(c.dev)).toEqual(before);
  c.host.close();
});
