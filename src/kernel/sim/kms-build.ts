import { encodeInFormats, encodeModeInfo } from '../blobs';
import { DRM_FORMAT_MOD, fourcc } from '../constants';
import { DRM_CONNECTOR_TYPE_NAMES } from '../constants';
import type { KmsProfile, PropertyDef } from './kms-profile';
import { explicitMode, modeLabel, standardMode } from './modes';
import type { PropState, SimConnector, SimCrtc, SimEncoder, SimPlane } from './kms-objects';
import { PropertyTable } from './kms-objects';

/** The card's objects as a profile describes them, with their boot-time property values. */
export interface BuiltCard {
  crtcs: SimCrtc[];
  encoders: SimEncoder[];
  connectors: SimConnector[];
  planes: SimPlane[];
  props: PropertyTable;
  state: PropState;
  /** Kernel-owned blobs created at boot (IN_FORMATS, EDID, boot modes): id → bytes. */
  blobs: Map<number, Buffer>;
  /** Boot-time "console": CRTC index → mode, for fbcon's framebuffers. */
  console: { crtc: SimCrtc; connector: SimConnector; width: number; height: number; modeBlob: number }[];
  nextId: () => number;
  /** The last id handed out while building: the card's objects, properties and boot blobs. */
  lastId: () => number;
}

const ENCODER_TYPE: Record<string, number> = { eDP: 2, 'HDMI-A': 2, DP: 2, VGA: 1, LVDS: 3, Virtual: 5, Writeback: 5, DSI: 6 };

export function modifierByName(name: string): bigint {
  const m = (DRM_FORMAT_MOD as Record<string, bigint>)[name];
  if (m === undefined) throw new Error(`sim profile: unknown modifier ${name}`);
  return m;
}

export function buildCard(p: KmsProfile): BuiltCard {
  let id = 0;
  const nextId = () => ++id;
  const props = new PropertyTable(nextId);
  const state: PropState = new Map();
  const blobs = new Map<number, Buffer>();
  const blob = (b: Buffer) => {
    const bid = nextId();
    blobs.set(bid, b);
    return bid;
  };
  // The kernel creates the standard properties at mode_config init, before any object.
  for (const n of ['EDID', 'DPMS', 'link-status', 'non-desktop', 'TILE', 'CRTC_ID', 'FB_ID', 'ACTIVE', 'MODE_ID', 'OUT_FENCE_PTR', 'VRR_ENABLED', 'type', 'IN_FENCE_FD', 'SRC_X', 'SRC_Y', 'SRC_W', 'SRC_H', 'CRTC_X', 'CRTC_Y', 'CRTC_W', 'CRTC_H', 'IN_FORMATS']) {
    props.standard(n);
  }

  const driverProps = (o: PropertyDef['object']) => (p.properties ?? []).filter((d) => d.object === o);
  const crtcs: SimCrtc[] = [];
  const planes: SimPlane[] = [];
  for (let index = 0; index < p.crtcs; index++) {
    // i915 and vkms create a pipe's planes before its CRTC.
    for (const t of p.planesPerCrtc) {
      const formats = t.formats.map(fourcc);
      const mods = t.modifiers.map(modifierByName);
      const linearOnly = new Set((t.linearOnly ?? []).map(fourcc));
      const modifiers = new Map(formats.map((f) => [f, linearOnly.has(f) ? [DRM_FORMAT_MOD.LINEAR] : mods]));
      const plane: SimPlane = {
        kind: 'plane', id: nextId(), type: t.type, possibleCrtcs: t.anyCrtc ? (1 << p.crtcs) - 1 : 1 << index, formats, modifiers,
        scale: t.scaling ? { min: 1, max: ((t.maxDownscale ?? 3) << 16) - 1, maxSemiplanar: ((t.maxDownscaleSemiplanar ?? t.maxDownscale ?? 3) << 16) - 1, unscalable: (t.unscalableFormats ?? []).map(fourcc) } : null,
        fullScreen: !!t.fullScreen, sizes: t.sizes ?? null, cursorHeights: t.cursorHeights ?? 'square', zpos: t.zpos ?? null,
      };
      planes.push(plane);
      const inFormats = blob(encodeInFormats(formats, mods.map((m) => ({ modifier: m, formats: formats.filter((f) => modifiers.get(f)!.includes(m)) }))));
      props.attach(state, plane.id, props.standard('type'), { overlay: 0n, primary: 1n, cursor: 2n }[t.type]);
      for (const n of ['FB_ID', 'IN_FENCE_FD', 'CRTC_ID', 'CRTC_X', 'CRTC_Y', 'CRTC_W', 'CRTC_H', 'SRC_X', 'SRC_Y', 'SRC_W', 'SRC_H']) {
        props.attach(state, plane.id, props.standard(n), n === 'IN_FENCE_FD' ? BigInt.asUintN(64, -1n) : 0n);
      }
      props.attach(state, plane.id, props.standard('IN_FORMATS'), BigInt(inFormats));
      if (t.zpos !== undefined) props.attach(state, plane.id, props.zpos(t.zpos), BigInt(t.zpos));
      if (t.rotations) props.attach(state, plane.id, props.rotation(t.rotations), 1n); // DRM_MODE_ROTATE_0
      for (const d of driverProps('plane')) if (!d.planes || d.planes.includes(t.type)) props.attach(state, plane.id, props.driver(d), BigInt.asUintN(64, BigInt(d.default)));
    }
    const crtc: SimCrtc = { kind: 'crtc', id: nextId(), index };
    crtcs.push(crtc);
    for (const n of ['ACTIVE', 'MODE_ID', 'OUT_FENCE_PTR', 'VRR_ENABLED']) props.attach(state, crtc.id, props.standard(n), 0n);
    for (const d of driverProps('crtc')) props.attach(state, crtc.id, props.driver(d), BigInt.asUintN(64, BigInt(d.default)));
  }

  const encoders: SimEncoder[] = [];
  const connectors: SimConnector[] = [];
  const console: BuiltCard['console'] = [];
  const typeCount = new Map<string, number>();
  for (const c of p.connectors) {
    const typeNo = Number(Object.entries(DRM_CONNECTOR_TYPE_NAMES).find(([, n]) => n === c.type)?.[0]);
    if (Number.isNaN(typeNo)) throw new Error(`sim profile: unknown connector type ${c.type}`);
    const encoder: SimEncoder = { kind: 'encoder', id: nextId(), encoderType: ENCODER_TYPE[c.type] ?? 0, possibleCrtcs: c.possibleCrtcs.reduce((m, i) => m | (1 << i), 0) };
    encoders.push(encoder);
    const typeId = (typeCount.get(c.type) ?? 0) + 1;
    typeCount.set(c.type, typeId);
    const conn: SimConnector = {
      kind: 'connector', id: nextId(), name: `${c.type}-${typeId}`, connectorType: typeNo, typeId, encoder,
      status: { connected: 1, disconnected: 2, unknown: 3 }[c.status], mmWidth: c.mmWidth, mmHeight: c.mmHeight,
      modes: c.modes.map((m, i) => (typeof m === 'string' ? standardMode(m, i === 0) : explicitMode(m))), writeback: c.writebackFormats ? { formats: c.writebackFormats.map(fourcc) } : null,
    };
    connectors.push(conn);
    // __drm_connector_init(): EDID for all but Virtual and Writeback connectors, then DPMS,
    // link-status, non-desktop, TILE and (atomic drivers) CRTC_ID, in that order.
    if (c.type !== 'Virtual' && !conn.writeback) {
      const edid = blob(fakeEdid(conn.name, c.mmWidth, c.mmHeight));
      props.attach(state, conn.id, props.standard('EDID'), BigInt(edid));
    }
    for (const n of ['DPMS', 'link-status', 'non-desktop', 'TILE', 'CRTC_ID']) props.attach(state, conn.id, props.standard(n), 0n);
    for (const d of driverProps('connector')) if (!d.connectors || d.connectors.includes(c.type)) props.attach(state, conn.id, props.driver(d), BigInt.asUintN(64, BigInt(d.default)));
    if (conn.writeback) {
      // drm_writeback_connector_init() adds its three after the connector's own.
      props.attach(state, conn.id, props.standard('WRITEBACK_OUT_FENCE_PTR'), 0n);
      props.attach(state, conn.id, props.standard('WRITEBACK_FB_ID'), 0n);
      const wb = blob(Buffer.from(new Uint32Array(conn.writeback.formats).buffer));
      props.attach(state, conn.id, props.standard('WRITEBACK_PIXEL_FORMATS'), BigInt(wb));
      continue;
    }
    if (c.active) {
      const crtc = crtcs[c.active.crtc];
      // fbdev shows a copy of one of the connector's own modes (drm_client_modeset).
      const listed = conn.modes.find((m) => modeLabel(m) === c.active!.mode);
      const mode = listed ? { ...listed } : standardMode(c.active.mode, c.modes[0] === c.active.mode);
      const modeBlob = blob(encodeModeInfo(mode));
      state.get(conn.id)!.set('CRTC_ID', BigInt(crtc.id));
      state.get(crtc.id)!.set('ACTIVE', 1n);
      state.get(crtc.id)!.set('MODE_ID', BigInt(modeBlob));
      console.push({ crtc, connector: conn, width: mode.hdisplay, height: mode.vdisplay, modeBlob });
    }
  }
  return { crtcs, encoders, connectors, planes, props, state, blobs, console, nextId, lastId: () => id };
}

/** A 128-byte EDID base block: header, a vendor, the monitor's size, a name descriptor. */
function fakeEdid(name: string, mmW: number, mmH: number): Buffer {
  const b = Buffer.alloc(128);
  Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0]).copy(b, 0);
  b.writeUInt16BE(0x10ac, 8); // a manufacturer id
  b[18] = 1;
  b[19] = 4;
  b[21] = Math.round(mmW / 10);
  b[22] = Math.round(mmH / 10);
  b.set([0, 0, 0, 0xfc, 0], 54);
  Buffer.from(`${name.slice(0, 12)}\n`.padEnd(13, ' '), 'latin1').copy(b, 59);
  let sum = 0;
  for (let i = 0; i < 127; i++) sum += b[i];
  b[127] = (256 - (sum % 256)) % 256;
  return b;
}
