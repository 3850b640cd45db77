import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDomainXml } from '../../src/config';
import { DRM_MODE_ATOMIC, DRM_MODE_PROP } from '../../src/kernel/constants';
import { openHost } from '../../src/kernel/host';
import type { Host } from '../../src/kernel/host';
import { readTopology } from '../../src/kernel/topology';
import type { TopoProp, Topology } from '../../src/kernel/topology';
import type { AtomicProp, KmsDevice } from '../../src/kernel/types';
import { commitPlan } from '../../src/kms/commit';
import { Occupancy } from '../../src/kms/occupancy';
import { planDomain } from '../../src/kms/planner';
import { buildRequest, describeGuests } from '../../src/kms/request';
import { resolvePlane } from '../../src/sources/resolve';
import { restoreSnapshots } from '../../src/kms/restore';
import { snapshotObject } from '../../src/kms/snapshot';
import type { ObjectSnapshot } from '../../src/kms/snapshot';
import { TestOnlyJudge } from '../../src/kms/test-only';
import { REPO } from '../helpers/fixtures';

// Issue 13 item 7: a takeover sets what the guest's picture depends on to neutral, and release
// gives every property back exactly, blobs included, whatever the host had set.

const kiosk = parseDomainXml(readFileSync(join(REPO, 'examples', 'gvt-kiosk-hdmi.xml')));
const dual = parseDomainXml(readFileSync(join(REPO, 'examples', 'two-outputs.xml')));
const PROFILE = JSON.parse(readFileSync(join(REPO, 'examples', 'hosts', 'gvt-skylake.json'), 'utf8')) as { kms: { properties: { name: string; object: string }[] } };

let host: Host;
beforeEach(() => {
  host = openHost('sim:gvt-skylake');
});
afterEach(() => host.close());

type Dump = Record<string, Record<string, string>>;

/** Every property of every object, blob properties by their bytes (ids may be made anew). */
function dump(dev: KmsDevice): { values: Dump; ids: Dump } {
  const t = readTopology(dev);
  const values: Dump = {};
  const ids: Dump = {};
  const add = (key: string, props: Record<string, TopoProp>) => {
    values[key] = {};
    ids[key] = {};
    for (const p of Object.values(props)) {
      const blob = p.flags & DRM_MODE_PROP.BLOB && p.value !== 0n;
      values[key][p.name] = blob ? `blob:${dev.getPropBlob(Number(p.value)).toString('base64')}` : p.value.toString();
      ids[key][p.name] = p.value.toString();
    }
  };
  for (const c of t.crtcs) add(`crtc:${c.id}`, c.props);
  for (const c of t.connectors) add(`connector:${c.name}`, c.props);
  for (const p of t.planes) add(`plane:${p.id}`, p.props);
  return { values, ids };
}

const enumValue = (p: TopoProp, name: string) => {
  const e = p.enums?.find((x) => x.name === name);
  if (!e) throw new Error(`${p.name} has no ${name}`);
  return e.value;
};

function lut(entries: number, f: (i: number) => number): Buffer {
  const b = Buffer.alloc(entries * 8);
  for (let i = 0; i < entries; i++) for (const c of [0, 2, 4]) b.writeUInt16LE(f(i), i * 8 + c);
  return b;
}

function ctm(): Buffer {
  // S31.32 sign-magnitude: a slightly warm matrix.
  const b = Buffer.alloc(72);
  [0.9, 0.1, 0, 0, 1, 0, 0, 0.05, 0.8].forEach((v, i) => b.writeBigUInt64LE(BigInt(Math.round(v * 2 ** 32)), i * 8));
  return b;
}

/**
 * A host compositor that set night-light colour, limited-range RGB, 8 bpc, HDCP, HDR metadata and
 * translucent planes before the guest came, then dropped master (a VT switch). `keepBlobs`: it
 * still holds its blobs; else it destroyed them, and only the committed state keeps them alive.
 */
function hostSetsEverything(keepBlobs: boolean): KmsDevice {
  const dev = host.backend.openKms(host.cards()[0]);
  dev.setMaster();
  const t = readTopology(dev);
  const hdmi = t.connectors.find((c) => c.name === 'HDMI-A-1')!;
  const dp = t.connectors.find((c) => c.name === 'DP-1')!;
  const crtc = t.crtcs.find((c) => c.id === hdmi.crtcId)!;
  const props: AtomicProp[] = [];
  const blobs: number[] = [];
  const set = (o: { id: number; props: Record<string, TopoProp> }, name: string, value: bigint) => {
    const p = o.props[name];
    if (!p) throw new Error(`object ${o.id} has no ${name}: the profile's properties are missing`);
    props.push({ objectId: o.id, propId: p.id, value });
  };
  const blob = (b: Buffer) => {
    const id = dev.createPropBlob(b);
    blobs.push(id);
    return BigInt(id);
  };
  for (const c of t.crtcs) {
    set(c, 'GAMMA_LUT', blob(lut(Number(c.props.GAMMA_LUT_SIZE.value), (i) => Math.min(0xffff, Math.round(((i / 1023) ** 0.8) * 0xffff)))));
    set(c, 'DEGAMMA_LUT', blob(lut(Number(c.props.DEGAMMA_LUT_SIZE.value), (i) => Math.round((i / 1023) * 0xffff))));
  }
  set(crtc, 'CTM', blob(ctm()));
  set(hdmi, 'Broadcast RGB', enumValue(hdmi.props['Broadcast RGB'], 'Limited 16:235'));
  set(hdmi, 'max bpc', 8n);
  set(hdmi, 'Colorspace', enumValue(hdmi.props.Colorspace, 'BT709_YCC'));
  set(hdmi, 'Content Protection', enumValue(hdmi.props['Content Protection'], 'Desired'));
  set(dp, 'Broadcast RGB', enumValue(dp.props['Broadcast RGB'], 'Full'));
  set(dp, 'Colorspace', enumValue(dp.props.Colorspace, 'BT2020_RGB'));
  set(dp, 'max bpc', 10n);
  set(dp, 'HDR_OUTPUT_METADATA', blob(Buffer.from([0, 0, 0, 0, 2, 0, ...new Array<number>(26).fill(7)])));
  for (const p of t.planes.filter((x) => x.props.alpha)) {
    set(p, 'alpha', 0xc000n);
    set(p, 'pixel blend mode', enumValue(p.props['pixel blend mode'], 'Coverage'));
    set(p, 'COLOR_ENCODING', enumValue(p.props.COLOR_ENCODING, 'ITU-R BT.601 YCbCr'));
    set(p, 'COLOR_RANGE', enumValue(p.props.COLOR_RANGE, 'YCbCr full range'));
  }
  for (const p of t.planes.filter((x) => x.type === 'cursor')) set(p, 'rotation', 1n << enumValue(p.props.rotation, 'rotate-180'));
  dev.atomic(props, DRM_MODE_ATOMIC.ALLOW_MODESET);
  if (!keepBlobs) for (const b of blobs) dev.destroyPropBlob(b);
  dev.dropMaster();
  return dev;
}

/** The neutral values a guest is shown under, on the objects it uses. */
function expectNeutral(t: Topology, plan: { outputs: { crtcId: number; connectorId: number; planes: { planeId: number }[] }[] }): void {
  for (const o of plan.outputs) {
    const crtc = t.crtcs.find((c) => c.id === o.crtcId)!;
    expect([crtc.props.GAMMA_LUT.value, crtc.props.DEGAMMA_LUT.value, crtc.props.CTM.value]).toEqual([0n, 0n, 0n]);
    const conn = t.connectors.find((c) => c.id === o.connectorId)!;
    const c = (n: string) => conn.props[n];
    expect(c('Broadcast RGB').value).toBe(enumValue(c('Broadcast RGB'), 'Automatic'));
    expect(c('Colorspace').value).toBe(enumValue(c('Colorspace'), 'Default'));
    expect(c('max bpc').value).toBe(c('max bpc').range![1]);
    if (c('HDR_OUTPUT_METADATA')) expect(c('HDR_OUTPUT_METADATA').value).toBe(0n);
    if (c('Content Protection')) expect(c('Content Protection').value).toBe(enumValue(c('Content Protection'), 'Undesired'));
    for (const x of o.planes) {
      const p = t.planes.find((y) => y.id === x.planeId)!;
      expect(p.props.rotation.value).toBe(1n << enumValue(p.props.rotation, 'rotate-0'));
      if (!p.props.alpha) continue;
      expect(p.props.alpha.value).toBe(0xffffn);
      expect(p.props['pixel blend mode'].value).toBe(enumValue(p.props['pixel blend mode'], 'Pre-multiplied'));
      expect(p.props.COLOR_ENCODING.value).toBe(enumValue(p.props.COLOR_ENCODING, 'ITU-R BT.709 YCbCr'));
      expect(p.props.COLOR_RANGE.value).toBe(enumValue(p.props.COLOR_RANGE, 'YCbCr limited range'));
    }
  }
}

test('the Skylake card carries every property its profile defines', () => {
  const dev = host.backend.openKms(host.cards()[0]);
  const t = readTopology(dev);
  const names = (o: { props: Record<string, TopoProp> }[]) => new Set(o.flatMap((x) => Object.keys(x.props)));
  const have = { plane: names(t.planes), crtc: names(t.crtcs), connector: names(t.connectors) } as Record<string, Set<string>>;
  for (const p of PROFILE.kms.properties) expect(`${p.object} ${p.name}: ${have[p.object].has(p.name)}`).toBe(`${p.object} ${p.name}: true`);
  dev.close();
});

test.each([
  ['the host keeps its blobs', true, kiosk],
  ['the host destroyed its blobs (made again from their bytes)', false, kiosk],
  ['a modeset on a second output, blobs destroyed', false, dual],
])('every property of every object comes back exactly after a guest: %s', (_label, keepBlobs, config) => {
  const other = hostSetsEverything(keepBlobs);
  const before = dump(other);
  // The daemon's file: master, plans with TEST_ONLY, commits, and journals its snapshots as JSON.
  const dev = host.backend.openKms(host.cards()[0]);
  dev.setMaster();
  const t = readTopology(dev);
  const built = buildRequest(dev, config, describeGuests(t, config, (p, size) => resolvePlane(host, dev, config, p, size)));
  const judge = new TestOnlyJudge(dev, t);
  const plan = planDomain(t, built.request, new Occupancy(), { testOnly: judge.judge, budgetMs: 50 });
  judge.dispose();
  const snapshots: ObjectSnapshot[] = [];
  commitPlan(dev, t, plan, snapshots);
  expectNeutral(readTopology(other), plan);
  expect(restoreSnapshots(dev, JSON.parse(JSON.stringify(snapshots)) as ObjectSnapshot[], 'previous').notes).toEqual([]);
  built.standIns.cleanup();
  const after = dump(other);
  expect(after.values).toEqual(before.values);
  // Where the host still holds a blob, the very same id is back, so even the raw dump matches.
  if (keepBlobs) expect(after.ids).toEqual(before.ids);
  dev.close();
  other.close();
});

test('Content Protection seen Enabled is given back as Desired: only the driver may set Enabled, and it enables again', () => {
  const dev = host.backend.openKms(host.cards()[0]);
  dev.setMaster();
  const hdmi = readTopology(dev).connectors.find((c) => c.name === 'HDMI-A-1')!;
  const cp = hdmi.props['Content Protection'];
  const snap = snapshotObject(dev, 'connector', hdmi.id);
  snap.props['Content Protection'] = enumValue(cp, 'Enabled').toString();
  expect(restoreSnapshots(dev, [snap], 'previous').notes).toEqual([]);
  expect(readTopology(dev).connectors.find((c) => c.id === hdmi.id)!.props['Content Protection'].value).toBe(enumValue(cp, 'Desired'));
  dev.close();
});
