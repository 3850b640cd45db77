/**
 * The `vkms` simulator profile (examples/hosts/vkms.json; vkms-6-12.json on linux 6.12, where vkms
 * gained rotation, gamma and more formats) against the real vkms it claims to be:
 * both snapshots are read through readTopology, normalized (object ids differ; what the driver
 * declares does not) and compared aspect by aspect. Every difference is listed in the failure.
 *
 * Left out on purpose: encoders' possible_clones (the lane's vkms patch sets them so Virtual-1 and
 * Writeback-1 can share the CRTC; stock vkms leaves them 0, which the core fixes up to "itself").
 */
import { DRM_CAP, DRM_CLIENT_CAP, DRM_MODE_PROP, fourccName, modifierName } from '../../src/kernel/constants';
import { SimHost } from '../../src/kernel/sim/host';
import { release } from 'node:os';
import { loadProfile, profileNames } from '../../src/kernel/sim/load-profile';
import { readTopology } from '../../src/kernel/topology';
import type { PropMap, Topology } from '../../src/kernel/topology';
import type { KmsDevice, ModeInfo } from '../../src/kernel/types';
import { cardOf, emitFile, native } from './guest';
import { report } from './runner';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const modeName = (m: ModeInfo) => `${m.hdisplay}x${m.vdisplay}@${m.vrefresh}${m.flags & 0x10 ? 'i' : ''}`;
const modeFull = (m: ModeInfo) =>
  `${m.name} ${m.clock} ${m.hdisplay} ${m.hsyncStart} ${m.hsyncEnd} ${m.htotal} ${m.vdisplay} ${m.vsyncStart} ${m.vsyncEnd} ${m.vtotal} flags 0x${m.flags.toString(16)} type 0x${m.type.toString(16)}`;

/**
 * Properties by name. Flags as the unsigned 32-bit value the ioctl carries and signed-range bounds
 * as signed numbers, whichever way a backend hands them over: how they are encoded is compared
 * separately (`encoding`), so a representation difference does not hide what the driver declares.
 */
function props(dev: KmsDevice, p: PropMap): Json {
  const out: Record<string, Json> = {};
  for (const x of Object.values(p).sort((a, b) => a.name.localeCompare(b.name))) {
    const blob = !!(x.flags & DRM_MODE_PROP.BLOB);
    const object = (x.flags & DRM_MODE_PROP.EXTENDED_TYPE) === DRM_MODE_PROP.OBJECT;
    const signed = (x.flags & DRM_MODE_PROP.EXTENDED_TYPE) === DRM_MODE_PROP.SIGNED_RANGE;
    const o: Record<string, Json> = { flags: `0x${(x.flags >>> 0).toString(16)}` };
    if (x.range) o.range = x.range.map((v) => String(signed ? BigInt.asIntN(64, v) : v));
    if (x.enums) o.enums = x.enums.map((e) => `${e.name}=${e.value}`);
    // Immutable values are what the driver declares; blob and object ids differ per boot.
    if (x.immutable && !blob && !object) o.value = x.value.toString();
    if (x.immutable && blob && x.name === 'WRITEBACK_PIXEL_FORMATS' && x.value) {
      const b = dev.getPropBlob(Number(x.value));
      o.value = Array.from({ length: b.length / 4 }, (_, i) => fourccName(b.readUInt32LE(i * 4)));
    }
    out[x.name] = o;
  }
  return out;
}

function cap(dev: KmsDevice, c: number): string {
  try {
    return dev.getCap(c).toString();
  } catch (e) {
    return (e as { code?: string }).code ?? 'error';
  }
}

/**
 * How property metadata comes back from GETPROPERTY: flags (a __u32) and range bounds (__u64,
 * signed ranges included) as the ioctl carries them. Callers compare flags with bit operations and
 * bounds with bigints, so both backends must hand them over the same way.
 */
function encoding(dev: KmsDevice, p: PropMap): Json {
  // Straight from GETPROPERTY: readTopology reads signed ranges back as signed on both backends.
  const raw = (id: number) => dev.getProperty(id);
  return Object.fromEntries(
    Object.values(p)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((x) => {
        const r = raw(x.id);
        const isRange = (r.flags & DRM_MODE_PROP.RANGE) !== 0 || (r.flags & DRM_MODE_PROP.EXTENDED_TYPE) === DRM_MODE_PROP.SIGNED_RANGE;
        return [x.name, { flags: r.flags < 0 ? `negative (${r.flags})` : 'unsigned', ...(isRange ? { range: r.values.map((v) => (v < 0n ? `negative (${v})` : 'unsigned')) } : {}) }];
      }),
  );
}

/** Everything the profile claims about the card, without object ids. */
function normalize(dev: KmsDevice, t: Topology): Record<string, Json> {
  const res = dev.getResources();
  const crtcIndex = (id: number) => t.crtcs.findIndex((c) => c.id === id);
  return {
    driver: { name: t.driver.name, desc: t.driver.desc, date: t.driver.date, version: `${t.driver.major}.${t.driver.minor}.${t.driver.patch}` },
    caps: {
      cursor: `${t.cursor.width}x${t.cursor.height}`,
      addfb2Modifiers: t.addfb2Modifiers,
      atomic: t.atomic,
      prime: cap(dev, DRM_CAP.PRIME),
      dumbBuffer: cap(dev, DRM_CAP.DUMB_BUFFER),
      limits: `${res.minWidth}x${res.minHeight}..${res.maxWidth}x${res.maxHeight}`,
    },
    connectors: t.connectors.map((c) => ({
      name: c.name,
      status: c.status,
      mm: `${c.mmWidth}x${c.mmHeight}`,
      writeback: c.writeback,
      possibleCrtcs: c.possibleCrtcsMask,
      preferred: c.preferredMode ? modeName(c.preferredMode) : null,
      modes: c.modes.map(modeName),
    })),
    modeTimings: Object.fromEntries(t.connectors.flatMap((c) => c.modes.map((m) => [`${c.name} ${modeName(m)}`, modeFull(m)]))),
    connectorProps: Object.fromEntries(t.connectors.map((c) => [c.name, props(dev, c.props)])),
    encoders: t.encoders.map((e) => ({ type: e.type, possibleCrtcs: e.possibleCrtcsMask })),
    crtcs: t.crtcs.map((c) => props(dev, c.props)),
    planes: t.planes.map((p) => ({
      type: p.type,
      possibleCrtcs: p.possibleCrtcsMask,
      formats: p.formats.map(fourccName),
      modifiers: Object.fromEntries([...p.modifiers].map(([f, m]) => [fourccName(f), m.map(modifierName)])),
      zpos: p.zpos ? `${p.zpos.min}..${p.zpos.max}=${p.zpos.value}${p.zpos.immutable ? ' immutable' : ''}` : null,
    })),
    planeProps: t.planes.map((p) => props(dev, p.props)),
    encoding: {
      connectors: Object.fromEntries(t.connectors.map((c) => [c.name, encoding(dev, c.props)])),
      crtcs: t.crtcs.map((c) => encoding(dev, c.props)),
      planes: t.planes.map((p) => encoding(dev, p.props)),
    },
    boot: {
      crtcs: t.crtcs.map((c) => ({ active: c.active, mode: c.mode ? modeName(c.mode) : null })),
      connectors: Object.fromEntries(t.connectors.map((c) => [c.name, crtcIndex(c.crtcId)])),
      planesShowing: t.planes.map((p, i) => (p.fbId ? `${i}:${p.type}` : null)).filter((x) => x),
    },
  };
}

/**
 * What the device itself answered, unnormalized: every connector's modes with every field, and
 * every property as GETPROPERTY returns it (flags as given, values as decimal strings), per object.
 * A diagnostic for the artifacts, compared by nothing.
 */
function dump(dev: KmsDevice, t: Topology): Record<string, Json> {
  const rawProps = (p: PropMap): Json =>
    Object.fromEntries(
      Object.values(p).map((x) => {
        const g = dev.getProperty(x.id);
        return [x.name, { flags: g.flags, values: g.values.map(String), enums: g.enums.map((e) => `${e.name}=${e.value}`), value: x.value.toString() }];
      }),
    );
  return {
    connectors: t.connectors.map((c) => ({
      name: c.name,
      status: c.status,
      modes: c.modes.map((m) => ({ ...m }) as unknown as Json),
      props: rawProps(c.props),
    })),
    crtcs: t.crtcs.map((c) => ({ index: c.index, props: rawProps(c.props) })),
    planes: t.planes.map((p) => ({ type: p.type, props: rawProps(p.props) })),
  };
}

/** Differences as `path: vkms X, profile Y`; lists of strings compare as sets. */
function diff(real: Json, sim: Json, path: string, out: string[]): void {
  const show = (v: Json) => (v === undefined ? 'absent' : JSON.stringify(v));
  if (Array.isArray(real) && Array.isArray(sim) && real.every((x) => typeof x === 'string') && sim.every((x) => typeof x === 'string')) {
    const r = real as string[];
    const s = sim as string[];
    const only = r.filter((x) => !s.includes(x));
    const lacks = s.filter((x) => !r.includes(x));
    if (only.length) out.push(`${path}: vkms has ${only.length} the profile lacks: ${only.join(', ')}`);
    if (lacks.length) out.push(`${path}: the profile has ${lacks.length} vkms lacks: ${lacks.join(', ')}`);
    if (!only.length && !lacks.length && r.join() !== s.join()) out.push(`${path}: same entries, different order: vkms ${r.join(', ')}; profile ${s.join(', ')}`);
    return;
  }
  if (Array.isArray(real) && Array.isArray(sim)) {
    if (real.length !== sim.length) out.push(`${path}: vkms has ${real.length}, the profile ${sim.length}`);
    for (let i = 0; i < Math.min(real.length, sim.length); i++) diff(real[i], sim[i], `${path}[${i}]`, out);
    return;
  }
  if (real && sim && typeof real === 'object' && typeof sim === 'object' && !Array.isArray(real) && !Array.isArray(sim)) {
    for (const k of new Set([...Object.keys(real), ...Object.keys(sim)])) {
      if (!(k in sim)) out.push(`${path}.${k}: vkms ${show(real[k])}, absent from the profile`);
      else if (!(k in real)) out.push(`${path}.${k}: the profile claims ${show(sim[k])}, vkms has none`);
      else diff(real[k], sim[k], `${path}.${k}`, out);
    }
    return;
  }
  if (JSON.stringify(real) !== JSON.stringify(sim)) out.push(`${path}: vkms ${show(real)}, profile ${show(sim)}`);
}

/** The running kernel's own vkms profile (vkms-MAJOR-MINOR) where examples/hosts has one. */
const versioned = `vkms-${release().split('.').slice(0, 2).join('-')}`;
const PROFILE = profileNames().includes(versioned) ? versioned : 'vkms';

describe(`topology: real vkms against the ${PROFILE} simulator profile (examples/hosts/${PROFILE}.json)`, () => {
  let real: Record<string, Json>;
  let sim: Record<string, Json>;

  beforeAll(() => {
    let realDump: Record<string, Json> = {};
    const dev = native().openKms(cardOf('vkms'));
    try {
      dev.setClientCap(DRM_CLIENT_CAP.UNIVERSAL_PLANES, 1);
      const t = readTopology(dev);
      real = normalize(dev, t);
      realDump = dump(dev, t);
    } finally {
      dev.close();
    }
    let simDump: Record<string, Json> = {};
    const host = new SimHost(loadProfile(PROFILE));
    try {
      const s = host.openKms(host.profile.kms.devPath);
      const t = readTopology(s);
      sim = normalize(s, t);
      simDump = dump(s, t);
      s.close();
    } finally {
      host.stop();
    }
    // Both sides in full, for a reader (and for the profile): artifacts/kernel-lane/topology-vkms.txt.
    const text = JSON.stringify({ real, sim, realRaw: realDump, simRaw: simDump }, null, 1);
    emitFile('topology-vkms.txt', Buffer.from(`${text}\n`));
    report('# dump topology-vkms.txt (real vkms and the vkms profile, normalized and raw)');
  });

  const aspects: [string, string[]][] = [
    ['driver name, description, date and version', ['driver']],
    ['caps and size limits', ['caps']],
    ['connectors, their status and mode lists', ['connectors']],
    ['mode timings', ['modeTimings']],
    ['connector properties (writeback formats included)', ['connectorProps']],
    ['encoders', ['encoders']],
    ['CRTC properties', ['crtcs']],
    ['planes: types, formats, modifiers, zpos', ['planes']],
    ['plane properties', ['planeProps']],
    ['the state at boot (fbdev on Virtual-1)', ['boot']],
    ['property flags and range bounds are encoded as the ioctl gives them', ['encoding']],
  ];
  for (const [title, keys] of aspects) {
    test(title, () => {
      const out: string[] = [];
      for (const k of keys) diff(real[k], sim[k], k, out);
      if (out.length) throw new Error(`${out.length} difference(s) from examples/hosts/${PROFILE}.json:\n${out.join('\n')}`);
    });
  }
});
