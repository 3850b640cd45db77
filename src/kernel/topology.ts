import { decodeInFormats, decodeModeInfo } from './blobs';
import { DRM_CAP, DRM_CLIENT_CAP, DRM_CONNECTOR_TYPE_NAMES, DRM_MODE_OBJECT, DRM_MODE_PROP, fourccName, modifierName } from './constants';
import { isKernelError } from './errors';
import type { DrmVersion, KmsDevice, ModeInfo } from './types';

/**
 * A snapshot of one card's KMS objects, read through the ioctl surface only, so it is the same on
 * the simulator and on real hardware. Plain data (bigint for 64-bit values).
 */

export interface TopoProp {
  id: number;
  name: string;
  flags: number;
  value: bigint;
  immutable: boolean;
  atomic: boolean;
  /**
   * Range and signed-range bounds as numbers: GETPROPERTY carries them as __u64, so a signed
   * range's are converted to signed here (CRTC_X: -2^31..2^31-1, IN_FENCE_FD: -1..2^31-1), on every
   * backend alike. `value` stays the raw __u64 either way.
   */
  range?: [bigint, bigint];
  enums?: { name: string; value: bigint }[];
}

export type PropMap = Record<string, TopoProp>;

export interface TopoConnector {
  id: number;
  name: string;
  type: string;
  status: 'connected' | 'disconnected' | 'unknown';
  modes: ModeInfo[];
  encoders: number[];
  /** Union of the encoders' possible CRTCs, as CRTC ids. */
  possibleCrtcs: number[];
  /** The same union as the kernel's bitmask over CRTC indices. */
  possibleCrtcsMask: number;
  /** The mode the connector flags DRM_MODE_TYPE_PREFERRED (the first one), else null. */
  preferredMode: ModeInfo | null;
  crtcId: number;
  writeback: boolean;
  mmWidth: number;
  mmHeight: number;
  props: PropMap;
}

export interface TopoEncoder {
  id: number;
  type: number;
  crtcId: number;
  possibleCrtcs: number[];
  possibleCrtcsMask: number;
  /** Bitmask over encoder indices of the encoders this one can share a CRTC with. */
  possibleClones: number;
}

export interface TopoCrtc {
  id: number;
  /** The pipe: the CRTC's index in GETRESOURCES, what possible_crtcs bits refer to. */
  index: number;
  active: boolean;
  mode: ModeInfo | null;
  modeBlobId: number;
  fbId: number;
  props: PropMap;
}

export interface TopoPlane {
  id: number;
  type: 'primary' | 'overlay' | 'cursor';
  possibleCrtcs: number[];
  possibleCrtcsMask: number;
  formats: number[];
  /** fourcc → modifiers, from IN_FORMATS; LINEAR only when the plane has no IN_FORMATS. */
  modifiers: Map<number, bigint[]>;
  zpos: { min: number; max: number; value: number; immutable: boolean } | null;
  /**
   * Where the plane blends on its CRTC, bottom first: the zpos value where the driver exposes one,
   * else the plane's index in creation order (drm_plane_index), which is what drivers without zpos
   * blend by (vkms composes its planes in plane-mask order) and what drm_atomic_normalize_zpos()
   * falls back to.
   */
  stack: number;
  crtcId: number;
  fbId: number;
  src: { x: number; y: number; w: number; h: number };
  dst: { x: number; y: number; w: number; h: number };
  props: PropMap;
}

export interface Topology {
  driver: DrmVersion;
  /** DRM_CAP_CURSOR_WIDTH/HEIGHT: the size a cursor buffer should have (64 when not answered). */
  cursor: { width: number; height: number };
  /** DRM_CAP_ADDFB2_MODIFIERS: ADDFB2 takes DRM_MODE_FB_MODIFIERS. */
  addfb2Modifiers: boolean;
  atomic: boolean;
  connectors: TopoConnector[];
  encoders: TopoEncoder[];
  crtcs: TopoCrtc[];
  planes: TopoPlane[];
}

/** DRM_MODE_TYPE_PREFERRED in drm_mode.h. */
const DRM_MODE_TYPE_PREFERRED = 1 << 3;

const STATUS = { 1: 'connected', 2: 'disconnected', 3: 'unknown' } as const;

function tryCap(dev: KmsDevice, cap: number, value: number): boolean {
  try {
    dev.setClientCap(cap, value);
    return true;
  } catch (e) {
    if (isKernelError(e)) return false;
    throw e;
  }
}

export function readProps(dev: KmsDevice, objectId: number, objectType: number): PropMap {
  const { props, values } = dev.objGetProperties(objectId, objectType);
  const out: PropMap = {};
  props.forEach((pid, i) => {
    const p = dev.getProperty(pid);
    const ext = p.flags & DRM_MODE_PROP.EXTENDED_TYPE;
    const signed = ext === DRM_MODE_PROP.SIGNED_RANGE;
    const ranged = p.flags & DRM_MODE_PROP.RANGE || signed;
    const bound = (v: bigint) => (signed ? BigInt.asIntN(64, v) : v);
    out[p.name] = {
      id: pid, name: p.name, flags: p.flags, value: values[i],
      immutable: !!(p.flags & DRM_MODE_PROP.IMMUTABLE), atomic: !!(p.flags & DRM_MODE_PROP.ATOMIC),
      ...(ranged ? { range: [bound(p.values[0]), bound(p.values[1])] as [bigint, bigint] } : {}),
      ...(p.flags & (DRM_MODE_PROP.ENUM | DRM_MODE_PROP.BITMASK) ? { enums: p.enums } : {}),
    };
  });
  return out;
}

function maskToIds(mask: number, crtcIds: number[]): number[] {
  return crtcIds.filter((_, i) => mask & (1 << i));
}

const num = (p: PropMap, k: string) => (p[k] ? Number(BigInt.asIntN(64, p[k].value)) : 0);

/**
 * Reads the whole card. Sets UNIVERSAL_PLANES, ATOMIC and WRITEBACK_CONNECTORS on `dev` (caps are
 * per file and only widen what it sees), falling back quietly where the driver refuses one.
 */
export function readTopology(dev: KmsDevice): Topology {
  tryCap(dev, DRM_CLIENT_CAP.UNIVERSAL_PLANES, 1);
  const atomic = tryCap(dev, DRM_CLIENT_CAP.ATOMIC, 1);
  if (atomic) tryCap(dev, DRM_CLIENT_CAP.WRITEBACK_CONNECTORS, 1);
  const res = dev.getResources();
  const cap = (c: number, d: number) => {
    try {
      return Number(dev.getCap(c));
    } catch {
      return d;
    }
  };
  const encoders: TopoEncoder[] = res.encoders.map((id) => {
    const e = dev.getEncoder(id);
    return { id, type: e.encoderType, crtcId: e.crtcId, possibleCrtcs: maskToIds(e.possibleCrtcs, res.crtcs), possibleCrtcsMask: e.possibleCrtcs, possibleClones: e.possibleClones };
  });
  const crtcs: TopoCrtc[] = res.crtcs.map((id, index) => {
    const props = readProps(dev, id, DRM_MODE_OBJECT.CRTC);
    const info = dev.getCrtc(id);
    const modeBlobId = num(props, 'MODE_ID');
    const mode = modeBlobId ? decodeModeInfo(dev.getPropBlob(modeBlobId)) : info.mode;
    const active = props.ACTIVE ? props.ACTIVE.value === 1n : info.modeValid;
    return { id, index, active, mode: active || modeBlobId ? mode : null, modeBlobId, fbId: info.fbId, props };
  });
  const connectors: TopoConnector[] = res.connectors.map((id) => {
    const c = dev.getConnector(id);
    const props = readProps(dev, id, DRM_MODE_OBJECT.CONNECTOR);
    const type = DRM_CONNECTOR_TYPE_NAMES[c.connectorType] ?? 'Unknown';
    const mask = c.encoders.reduce((m, e) => m | (encoders.find((x) => x.id === e)?.possibleCrtcsMask ?? 0), 0);
    const enc = encoders.find((e) => e.id === c.encoderId);
    return {
      id, name: `${type}-${c.connectorTypeId}`, type, status: STATUS[c.connection as 1 | 2 | 3] ?? 'unknown', modes: c.modes,
      preferredMode: c.modes.find((m) => m.type & DRM_MODE_TYPE_PREFERRED) ?? null,
      encoders: c.encoders, possibleCrtcs: maskToIds(mask, res.crtcs), possibleCrtcsMask: mask,
      crtcId: props.CRTC_ID ? num(props, 'CRTC_ID') : enc?.crtcId ?? 0, writeback: type === 'Writeback',
      mmWidth: c.mmWidth, mmHeight: c.mmHeight, props,
    };
  });
  const planes: TopoPlane[] = dev.getPlaneResources().map((id, index) => {
    const p = dev.getPlane(id);
    const props = readProps(dev, id, DRM_MODE_OBJECT.PLANE);
    const typeEnum = props.type?.enums?.find((e) => e.value === props.type.value)?.name.toLowerCase();
    const inFormats = num(props, 'IN_FORMATS');
    const modifiers = inFormats ? decodeInFormats(dev.getPropBlob(inFormats)) : new Map(p.formats.map((f) => [f, [0n]]));
    const z = props.zpos;
    return {
      id, type: (typeEnum ?? 'overlay') as TopoPlane['type'], possibleCrtcs: maskToIds(p.possibleCrtcs, res.crtcs), possibleCrtcsMask: p.possibleCrtcs,
      formats: p.formats, modifiers,
      zpos: z ? { min: Number(z.range![0]), max: Number(z.range![1]), value: Number(z.value), immutable: z.immutable } : null,
      stack: z ? Number(z.value) : index,
      crtcId: props.CRTC_ID ? num(props, 'CRTC_ID') : p.crtcId, fbId: props.FB_ID ? num(props, 'FB_ID') : p.fbId,
      src: { x: num(props, 'SRC_X') / 65536, y: num(props, 'SRC_Y') / 65536, w: num(props, 'SRC_W') / 65536, h: num(props, 'SRC_H') / 65536 },
      dst: { x: num(props, 'CRTC_X'), y: num(props, 'CRTC_Y'), w: num(props, 'CRTC_W'), h: num(props, 'CRTC_H') },
      props,
    };
  });
  return {
    driver: dev.version(), cursor: { width: cap(DRM_CAP.CURSOR_WIDTH, 64), height: cap(DRM_CAP.CURSOR_HEIGHT, 64) },
    addfb2Modifiers: cap(DRM_CAP.ADDFB2_MODIFIERS, 0) === 1, atomic,
    connectors, encoders, crtcs, planes,
  };
}

/** Every object's every property value, for exact before/after comparisons. */
export function dumpProperties(dev: KmsDevice): Record<string, Record<string, string>> {
  const t = readTopology(dev);
  const out: Record<string, Record<string, string>> = {};
  const add = (kind: string, id: number, props: PropMap) => {
    out[`${kind}:${id}`] = Object.fromEntries(Object.values(props).map((p) => [p.name, p.value.toString()]));
  };
  for (const c of t.crtcs) {
    add('crtc', c.id, c.props);
    // The blob id may change on restore; what must match is the mode it holds.
    out[`crtc:${c.id}`].MODE = c.mode ? JSON.stringify(c.mode) : 'none';
    delete out[`crtc:${c.id}`].MODE_ID;
  }
  for (const c of t.connectors) add('connector', c.id, c.props);
  for (const p of t.planes) add('plane', p.id, p.props);
  return out;
}

/** Short human names: `plane 47 (overlay, pipe B)`. */
export function planeLabel(t: Topology, p: TopoPlane): string {
  const pipes = p.possibleCrtcs.map((c) => String.fromCharCode(65 + t.crtcs.find((x) => x.id === c)!.index)).join('');
  return `plane ${p.id} (${p.type}, pipe ${pipes})`;
}

export function formatLabel(f: number): string {
  return fourccName(f).trim();
}

/** Whether the plane's IN_FORMATS lists `format` with `modifier`. */
export function planeSupports(p: TopoPlane, format: number, modifier: bigint): boolean {
  return (p.modifiers.get(format) ?? []).includes(modifier);
}

/**
 * The topology as plain JSON: Maps become `{ "XR24": ["LINEAR", ...] }` objects keyed by fourcc
 * name and bigints become decimal strings, so `JSON.stringify(topologyToJSON(t))` loses nothing
 * a reader needs (property values stay exact).
 */
export function topologyToJSON(t: Topology): unknown {
  return JSON.parse(
    JSON.stringify(t, (_k, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Map) return Object.fromEntries([...v].map(([f, mods]: [number, bigint[]]) => [formatLabel(f), mods.map(modifierName)]));
      return v;
    }),
  );
}
