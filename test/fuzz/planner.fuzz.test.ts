import fc from 'fast-check';
import type { ModeSpec } from '../../src/config';
import { DRM_FORMAT_MOD, DRM_MODE_FB_MODIFIERS, fourcc } from '../../src/kernel/constants';
import { formatInfo } from '../../src/kernel/formats';
import { isKernelError } from '../../src/kernel/errors';
import { SimHost } from '../../src/kernel/sim/host';
import type { ConnectorProfile, KmsProfile, ModeSpec as ModeSpecProfile, PlaneTemplate } from '../../src/kernel/sim/kms-profile';
import { loadProfile, profileNames } from '../../src/kernel/sim/load-profile';
import { explicitMode, modeLabel } from '../../src/kernel/sim/modes';
import type { HostProfile } from '../../src/kernel/sim/profile';
import { readTopology } from '../../src/kernel/topology';
import type { Topology } from '../../src/kernel/topology';
import type { KmsDevice } from '../../src/kernel/types';
import { commitPlan } from '../../src/kms/commit';
import { Occupancy } from '../../src/kms/occupancy';
import { planDomain } from '../../src/kms/planner';
import { TestOnlyJudge } from '../../src/kms/test-only';
import type { DomainRequest, OutputAssignment, Plan, PlaneRequest } from '../../src/kms/types';
import { PlanRefused } from '../../src/kms/types';
import { reportFuzz } from '../helpers/report';

// Issue 12 item 11: random topologies × random requests. Every plan the planner returns must be
// one a fresh simulated kernel accepts (TEST_ONLY, then for real, in the daemon's order), and
// every other outcome a PlanRefused. A fixed seed in CI; DIRECTFLIP_FUZZ_RUNS runs longer.
const RUNS = Number(process.env.DIRECTFLIP_FUZZ_RUNS) || 100;
const SEED = 0x12_11;
jest.setTimeout(Math.max(60_000, RUNS * 500));

const FORMATS = ['XR24', 'AR24', 'XB24', 'AB24', 'RG16', 'XR30', 'XR48', 'AR48', 'YUYV', 'C8  '];
const MODIFIERS = ['LINEAR', 'LINEAR', 'I915_X_TILED', 'I915_Y_TILED'] as const;

/** A template with fewer formats and modifiers, and scaling / full-screen flipped at random. */
const template = (t: PlaneTemplate): fc.Arbitrary<PlaneTemplate> =>
  fc.record({ formats: fc.subarray(t.formats, { minLength: 1 }), modifiers: fc.subarray(t.modifiers, { minLength: 1 }), scaling: fc.boolean(), fullScreen: fc.boolean() })
    .map((m) => ({ ...t, ...m, fullScreen: t.type === 'primary' ? m.fullScreen : t.fullScreen }));

/** A mode no table lists (a monitor's own EDID timing): any size, blanking a driver would accept. */
const oddMode = fc.record({ w: fc.integer({ min: 320, max: 4096 }), h: fc.integer({ min: 200, max: 2200 }), hz: fc.integer({ min: 24, max: 144 }) }).map(({ w, h, hz }): ModeSpecProfile => ({
  name: `${w}x${h}`, clock: Math.round(((w + 160) * (h + 30) * hz) / 1000), h: [w, w + 48, w + 80, w + 160], v: [h, h + 3, h + 8, h + 30], flags: 0xa, type: 0x40,
}));

const connector = (c: ConnectorProfile): fc.Arbitrary<ConnectorProfile> =>
  fc.record({
    modes: fc.oneof({ weight: 24, arbitrary: fc.subarray(c.modes, { minLength: Math.min(1, c.modes.length) }) }, fc.constant([])),
    odd: fc.array(oddMode, { maxLength: 2 }),
    possibleCrtcs: fc.subarray([0, 1, 2, 3], { minLength: 1 }), unplug: fc.nat(24), keepActive: fc.nat(3),
  }).map((m) => ({ ...c, modes: [...m.modes, ...m.odd], possibleCrtcs: m.possibleCrtcs, status: m.unplug === 0 ? 'disconnected' : c.status, active: m.keepActive ? c.active : undefined }));

/** One of examples/hosts, mutated: CRTC count, scalers, planes per CRTC, formats, possible_crtcs, modes. */
const topology: fc.Arbitrary<HostProfile> = fc.constantFrom(...profileNames()).chain((name) => {
  const base = loadProfile(name);
  const k = base.kms;
  const of = (type: PlaneTemplate['type']) => k.planesPerCrtc.filter((p) => p.type === type);
  const overlays = of('overlay').length ? of('overlay') : of('primary').map((p) => ({ ...p, type: 'overlay' as const }));
  return fc.record({
    crtcs: fc.oneof({ weight: 3, arbitrary: fc.constant(k.crtcs) }, fc.integer({ min: 1, max: 4 })),
    scalers: fc.option(fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 4, maxLength: 4 })),
    primary: template(of('primary')[0]),
    overlays: fc.array(fc.constantFrom(...overlays).chain(template), { maxLength: 4 }),
    cursor: fc.option(of('cursor').length ? template(of('cursor')[0]) : fc.constant(null)),
    connectors: fc.tuple(...k.connectors.map(connector)),
  // The planner never reads the mdevs; a host without them boots ten times faster.
  }).map((m) => ({ ...base, kms: fixUp(k, m), vfio: { ...base.vfio, mdevs: [] } }));
});

/** Makes a mutated profile one a kernel could report: routes within the CRTCs, boot modes listed. */
function fixUp(k: KmsProfile, m: { crtcs: number; scalers: number[] | null; primary: PlaneTemplate; overlays: PlaneTemplate[]; cursor: PlaneTemplate | null; connectors: ConnectorProfile[] }): KmsProfile {
  const planes = [m.primary, ...m.overlays, ...(m.cursor ? [m.cursor] : [])];
  const zoned = k.planesPerCrtc.some((p) => p.zpos !== undefined);
  const usedCrtcs = new Set<number>();
  const connectors = m.connectors.map((c, i) => {
    const orig = k.connectors[i];
    const possibleCrtcs = c.possibleCrtcs.filter((x) => x < m.crtcs);
    const out: ConnectorProfile = { ...c, possibleCrtcs: possibleCrtcs.length ? possibleCrtcs : [0] };
    const a = c.active;
    if (!a || c.status !== 'connected' || a.crtc >= m.crtcs || usedCrtcs.has(a.crtc) || !out.possibleCrtcs.includes(a.crtc)) {
      delete out.active;
      return out;
    }
    usedCrtcs.add(a.crtc);
    const boot = orig.modes.find((x) => (typeof x === 'string' ? x : modeLabel(explicitMode(x))) === a.mode);
    if (boot && !out.modes.includes(boot)) out.modes = [boot, ...out.modes];
    return out;
  });
  return {
    ...k, crtcs: m.crtcs, connectors,
    scalersPerCrtc: m.scalers ? m.scalers.slice(0, m.crtcs) : undefined,
    planesPerCrtc: planes.map((p, i) => ({ ...p, zpos: zoned ? i : undefined })),
  };
}

interface PlaneSpec {
  from: 'primary' | 'cursor';
  to: 'primary' | 'overlay' | 'cursor' | 'auto' | { plane: number };
  x: number | null; y: number | null; width: number | null; height: number | null; zpos: number | null;
  format: string | { listed: number }; modifier: (typeof MODIFIERS)[number] | { listed: number };
  /** null: the mode's size (the common case), else a size of its own. */
  size: [number, number] | null;
}
interface OutputSpec { connector: number; bogus: boolean; mode: ModeSpec | { kind: 'listed'; index: number; refresh: boolean }; planes: PlaneSpec[] }

/** Mostly absent, sometimes given: the attributes an admin leaves out are the common case. */
const opt = <T>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: a });
/** Mostly what the card lists (`listed`: an index into the plane's own list), sometimes anything. */
const pick = <T>(any: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: fc.record({ listed: fc.nat(40) }) }, { weight: 1, arbitrary: any });
const plane: fc.Arbitrary<PlaneSpec> = fc.record({
  from: fc.constantFrom('primary' as const, 'primary' as const, 'cursor' as const),
  to: fc.oneof({ weight: 4, arbitrary: fc.constant('auto' as const) }, fc.constantFrom('primary' as const, 'overlay' as const, 'cursor' as const), fc.record({ plane: fc.nat(40) })),
  x: opt(fc.integer({ min: 0, max: 4000 })), y: opt(fc.integer({ min: 0, max: 2500 })),
  width: opt(fc.integer({ min: 1, max: 4096 })), height: opt(fc.integer({ min: 1, max: 2500 })), zpos: opt(fc.nat(6)),
  format: pick(fc.constantFrom(...FORMATS)), modifier: pick(fc.constantFrom(...MODIFIERS)),
  size: opt(fc.tuple(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 1, max: 2500 }))),
});
const output: fc.Arbitrary<OutputSpec> = fc.record({
  connector: fc.nat(5),
  bogus: fc.nat(40).map((n) => n === 0),
  mode: fc.oneof(
    { weight: 3, arbitrary: fc.constant({ kind: 'current' as const }) }, fc.constant({ kind: 'preferred' as const }),
    fc.record({ kind: fc.constant('listed' as const), index: fc.nat(40), refresh: fc.boolean() }),
    fc.record({ kind: fc.constant('exact' as const), width: fc.integer({ min: 1, max: 4096 }), height: fc.integer({ min: 1, max: 2200 }), refresh: fc.option(fc.integer({ min: 24, max: 144 })) }),
  ),
  planes: fc.oneof({ weight: 3, arbitrary: fc.array(plane, { minLength: 1, maxLength: 1 }) }, fc.array(plane, { minLength: 2, maxLength: 3 })),
});
const domain = fc.oneof({ weight: 4, arbitrary: fc.array(output, { minLength: 1, maxLength: 1 }) }, fc.array(output, { minLength: 2, maxLength: 2 }));
const scenario = fc.record({ profile: topology, domains: fc.array(domain, { minLength: 1, maxLength: 3 }) });

type Guest = { width: number; height: number; format: number; modifier: bigint };
interface Planned { plan: Plan; guests: Map<string, Guest> }

/** A guest-sized buffer as the daemon's stand-ins make it, unpainted: the planner only needs its id. */
function makeFb(dev: KmsDevice, g: Guest): number {
  const d = dev.createDumb(g.width, g.height, (formatInfo(g.format)?.cpp[0] ?? 4) * 8);
  return dev.addFb2({ width: g.width, height: g.height, pixelFormat: g.format, flags: DRM_MODE_FB_MODIFIERS, handles: [d.handle], pitches: [d.pitch], offsets: [0], modifiers: [g.modifier] });
}

function open(profile: HostProfile): { host: SimHost; dev: KmsDevice; t: Topology } {
  const host = new SimHost(profile);
  const dev = host.openKms(profile.kms.devPath);
  dev.setMaster();
  return { host, dev, t: readTopology(dev) };
}

/** The spec → the planner's request on this card; planes whose buffer the card cannot make are left out. */
function request(name: string, outs: OutputSpec[], t: Topology, dev: KmsDevice, guests: Map<string, Guest>): DomainRequest {
  const conns = t.connectors.filter((c) => !c.writeback);
  return {
    domain: name,
    outputs: outs.map((o, i) => {
      const conn = conns[o.connector % conns.length];
      const listed = o.mode.kind === 'listed' && conn.modes.length ? conn.modes[o.mode.index % conn.modes.length] : null;
      const mode: ModeSpec = o.mode.kind !== 'listed' ? o.mode : listed ? { kind: 'exact', width: listed.hdisplay, height: listed.vdisplay, refresh: o.mode.refresh ? listed.vrefresh : null } : { kind: 'preferred' };
      const size = listed ?? conn.modes[0] ?? { hdisplay: 1024, vdisplay: 768 };
      const planes: PlaneRequest[] = [];
      o.planes.forEach((p, j) => {
        const key = `${name}/output[${i + 1}]/plane[${j + 1}]`;
        const like = t.planes.find((x) => x.type === (p.from === 'cursor' ? 'cursor' : 'primary')) ?? t.planes[0];
        const format = typeof p.format === 'string' ? fourcc(p.format) : like.formats[p.format.listed % like.formats.length];
        const inFormats = like.modifiers.get(format);
        const mods = inFormats?.length ? inFormats : [0n];
        const g: Guest = {
          width: p.size?.[0] ?? (p.from === 'cursor' ? 64 : size.hdisplay), height: p.size?.[1] ?? (p.from === 'cursor' ? 64 : size.vdisplay),
          format, modifier: typeof p.modifier === 'string' ? DRM_FORMAT_MOD[p.modifier] : mods[p.modifier.listed % mods.length],
        };
        let fbId: number;
        try {
          fbId = makeFb(dev, g);
        } catch (e) {
          if (isKernelError(e)) return; // ADDFB2 refused the guest's buffer: nothing to plan
          throw e;
        }
        guests.set(key, g);
        const to = typeof p.to === 'object' ? t.planes[p.to.plane % t.planes.length].id + (p.to.plane > 30 ? 1000 : 0) : p.to;
        planes.push({ key, from: p.from, to, x: p.x, y: p.y, width: p.width, height: p.height, zpos: p.zpos, guest: { ...g, fbId, assumed: false } });
      });
      return { key: `${name}/output[${i + 1}]`, connector: o.bogus ? 'HDMI-A-9' : conn.name, mode, planes };
    }).filter((o) => o.planes.length),
  };
}

/** What the planner promises whatever the kernel says: each plane once, on a CRTC it can reach, in a format it lists. */
function checkShape(t: Topology, plans: Plan[]): void {
  const seen = new Set<number>();
  for (const o of plans.flatMap((p) => p.outputs)) {
    const conn = t.connectors.find((c) => c.id === o.connectorId)!;
    expect(conn.status).not.toBe('disconnected');
    expect(conn.possibleCrtcs).toContain(o.crtcId);
    for (const a of o.planes) {
      expect(seen.has(a.planeId)).toBe(false);
      seen.add(a.planeId);
      expect(t.planes.find((p) => p.id === a.planeId)!.possibleCrtcs).toContain(o.crtcId);
    }
  }
}

/** The plans on a fresh card of the same profile, with buffers made anew: TEST_ONLY in the daemon's order, then committed. */
function replay(profile: HostProfile, planned: Planned[]): void {
  const { host, dev, t } = open(profile);
  const judge = new TestOnlyJudge(dev, t);
  try {
    const fresh = planned.map(({ plan, guests }) => ({
      ...plan, outputs: plan.outputs.map((o): OutputAssignment => ({ ...o, planes: o.planes.map((a) => ({ ...a, fbId: makeFb(dev, guests.get(a.key)!) })) })),
    }));
    for (let k = 1; k <= fresh.length; k++) {
      const err = judge.judge(fresh.slice(0, k).flatMap((p) => p.outputs));
      expect([fresh[k - 1].domain, err && `${err.code}: ${err.message}`]).toEqual([fresh[k - 1].domain, null]);
    }
    for (const p of fresh) commitPlan(dev, readTopology(dev), p, []);
  } finally {
    judge.dispose();
    dev.close();
    host.stop();
  }
}

test('every plan on a random topology is one a fresh simulated kernel accepts, or a PlanRefused', () => {
  let cases = 0;
  let crashes = 0;
  let plans = 0;
  let refusals = 0;
  try {
    fc.assert(
      fc.property(scenario, ({ profile, domains }) => {
        const { host, dev, t } = open(profile);
        const occ = new Occupancy();
        const planned: Planned[] = [];
        try {
          domains.forEach((outs, d) => {
            const guests = new Map<string, Guest>();
            const req = request(`vm${d}`, outs, t, dev, guests);
            if (!req.outputs.length) return;
            const judge = new TestOnlyJudge(dev, t, planned.flatMap((p) => p.plan.outputs));
            cases++;
            try {
              const plan = planDomain(t, req, occ, { testOnly: judge.judge, budgetMs: 50 });
              occ.hold({ domain: req.domain, planes: plan.outputs.flatMap((o) => o.planes.map((p) => p.planeId)), crtcs: plan.outputs.map((o) => o.crtcId), connectors: plan.outputs.map((o) => o.connectorId), modeOwner: plan.outputs.filter((o) => o.modeset).map((o) => o.crtcId) });
              planned.push({ plan, guests });
              plans++;
            } catch (e) {
              if (!(e instanceof PlanRefused)) {
                crashes++;
                throw e;
              }
              refusals++;
              expect(e.message).toMatch(/no host plane fits: \S/);
            } finally {
              judge.dispose();
            }
          });
          checkShape(t, planned.map((p) => p.plan));
          replay(profile, planned);
        } finally {
          dev.close();
          host.stop();
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  } finally {
    reportFuzz('planner', { suite: 'planner (random topologies × requests)', cases, crashes });
  }
  // The fuzz must reach both outcomes often, or it tests nothing (about 1 case in 5 gets a plan).
  expect(plans).toBeGreaterThan(cases / 10);
  expect(refusals).toBeGreaterThan(cases / 10);
});
