import { DRM_MODE_OBJECT, DRM_MODE_PROP } from '../constants';
import type { ModeInfo } from '../types';
import type { PropertyDef } from './kms-profile';

/**
 * The simulated card's mode objects and properties, numbered from one id space as the kernel's
 * idr does. Property values live in one map so an atomic request can be applied to a copy and
 * thrown away (TEST_ONLY, or any refusal) without touching the real state.
 */

/** DRM_MODE_ROTATE_0 … DRM_MODE_REFLECT_Y, by bit number. */
export const ROTATION_BITS = ['rotate-0', 'rotate-90', 'rotate-180', 'rotate-270', 'reflect-x', 'reflect-y'];

export interface SimProperty {
  id: number;
  name: string;
  /** The __u32 drm_mode_get_property.flags, as an unsigned number (DRM_MODE_PROP_ATOMIC is bit 31). */
  flags: number;
  /**
   * Range bounds, or the object type for object properties: the __u64 values GETPROPERTY gives,
   * so a signed range's negative bound is its two's complement (CRTC_X min 2^64 - 2^31).
   */
  values: bigint[];
  enums: { name: string; value: bigint }[];
  /** Blob properties: what the kernel checks of a new blob's length. */
  blob?: { size?: number; elementSize?: number; countProperty?: string };
}

export type ObjectKind = 'crtc' | 'connector' | 'encoder' | 'plane';

export interface SimCrtc {
  kind: 'crtc';
  id: number;
  index: number;
}

export interface SimEncoder {
  kind: 'encoder';
  id: number;
  encoderType: number;
  possibleCrtcs: number;
}

export interface SimConnector {
  kind: 'connector';
  id: number;
  name: string;
  connectorType: number;
  typeId: number;
  encoder: SimEncoder;
  status: number;
  mmWidth: number;
  mmHeight: number;
  modes: ModeInfo[];
  writeback: { formats: number[] } | null;
}

export interface SimPlane {
  kind: 'plane';
  id: number;
  type: 'primary' | 'overlay' | 'cursor';
  possibleCrtcs: number;
  formats: number[];
  modifiers: Map<number, bigint[]>;
  /** The 16.16 scale factors drm_atomic_helper_check_plane_state() accepts; null: no scaling. */
  scale: { min: number; max: number; maxSemiplanar: number; unscalable: number[] } | null;
  fullScreen: boolean;
  sizes: number[] | null;
  cursorHeights: 'square' | 'up-to-width';
  zpos: number | null;
}

export type SimObject = SimCrtc | SimEncoder | SimConnector | SimPlane;

export const OBJECT_TYPE: Record<ObjectKind, number> = {
  crtc: DRM_MODE_OBJECT.CRTC,
  connector: DRM_MODE_OBJECT.CONNECTOR,
  encoder: DRM_MODE_OBJECT.ENCODER,
  plane: DRM_MODE_OBJECT.PLANE,
};

const U32_MAX = 0xffffffffn;
const INT_MAX = 0x7fffffffn;
/** INT_MIN and -1 as drm_property_create_signed_range() stores them: I642U64, a __u64. */
const INT_MIN = BigInt.asUintN(64, -0x80000000n);
const MINUS_ONE = BigInt.asUintN(64, -1n);

/** Property values of every object: object id → property name → raw u64 value. */
export type PropState = Map<number, Map<string, bigint>>;

export function cloneState(s: PropState): PropState {
  return new Map([...s].map(([k, v]) => [k, new Map(v)]));
}

export class PropertyTable {
  readonly byId = new Map<number, SimProperty>();
  /** object id → the property ids attached, in attach order. */
  readonly attached = new Map<number, number[]>();
  private readonly shared = new Map<string, SimProperty>();

  constructor(private readonly nextId: () => number) {}

  private create(name: string, flags: number, values: bigint[] = [], enums: { name: string; value: bigint }[] = []): SimProperty {
    // `|` in JS yields a signed 32-bit number; the ioctl's flags are a __u32.
    const p = { id: this.nextId(), name, flags: flags >>> 0, values, enums };
    this.byId.set(p.id, p);
    return p;
  }

  /** Standard properties exist once per device, like dev->mode_config.*_property. */
  standard(name: string): SimProperty {
    const existing = this.shared.get(name);
    if (existing) return existing;
    const A = DRM_MODE_PROP.ATOMIC;
    const defs: Record<string, () => SimProperty> = {
      EDID: () => this.create('EDID', DRM_MODE_PROP.BLOB | DRM_MODE_PROP.IMMUTABLE),
      DPMS: () => this.create('DPMS', DRM_MODE_PROP.ENUM, [0n, 1n, 2n, 3n], [
        { name: 'On', value: 0n }, { name: 'Standby', value: 1n }, { name: 'Suspend', value: 2n }, { name: 'Off', value: 3n },
      ]),
      'non-desktop': () => this.create('non-desktop', DRM_MODE_PROP.RANGE | DRM_MODE_PROP.IMMUTABLE, [0n, 1n]),
      TILE: () => this.create('TILE', DRM_MODE_PROP.BLOB | DRM_MODE_PROP.IMMUTABLE),
      'link-status': () => this.create('link-status', DRM_MODE_PROP.ENUM, [0n, 1n], [{ name: 'Good', value: 0n }, { name: 'Bad', value: 1n }]),
      CRTC_ID: () => this.create('CRTC_ID', DRM_MODE_PROP.OBJECT | A, [BigInt(DRM_MODE_OBJECT.CRTC)]),
      FB_ID: () => this.create('FB_ID', DRM_MODE_PROP.OBJECT | A, [BigInt(DRM_MODE_OBJECT.FB)]),
      ACTIVE: () => this.create('ACTIVE', DRM_MODE_PROP.RANGE | A, [0n, 1n]),
      MODE_ID: () => this.create('MODE_ID', DRM_MODE_PROP.BLOB | A),
      OUT_FENCE_PTR: () => this.create('OUT_FENCE_PTR', DRM_MODE_PROP.RANGE | A, [0n, 0xffffffffffffffffn]),
      VRR_ENABLED: () => this.create('VRR_ENABLED', DRM_MODE_PROP.RANGE, [0n, 1n]),
      type: () => this.create('type', DRM_MODE_PROP.ENUM | DRM_MODE_PROP.IMMUTABLE, [0n, 1n, 2n], [
        { name: 'Overlay', value: 0n }, { name: 'Primary', value: 1n }, { name: 'Cursor', value: 2n },
      ]),
      IN_FENCE_FD: () => this.create('IN_FENCE_FD', DRM_MODE_PROP.SIGNED_RANGE | A, [MINUS_ONE, INT_MAX]),
      SRC_X: () => this.create('SRC_X', DRM_MODE_PROP.RANGE | A, [0n, U32_MAX]),
      SRC_Y: () => this.create('SRC_Y', DRM_MODE_PROP.RANGE | A, [0n, U32_MAX]),
      SRC_W: () => this.create('SRC_W', DRM_MODE_PROP.RANGE | A, [0n, U32_MAX]),
      SRC_H: () => this.create('SRC_H', DRM_MODE_PROP.RANGE | A, [0n, U32_MAX]),
      CRTC_X: () => this.create('CRTC_X', DRM_MODE_PROP.SIGNED_RANGE | A, [INT_MIN, INT_MAX]),
      CRTC_Y: () => this.create('CRTC_Y', DRM_MODE_PROP.SIGNED_RANGE | A, [INT_MIN, INT_MAX]),
      CRTC_W: () => this.create('CRTC_W', DRM_MODE_PROP.RANGE | A, [0n, INT_MAX]),
      CRTC_H: () => this.create('CRTC_H', DRM_MODE_PROP.RANGE | A, [0n, INT_MAX]),
      IN_FORMATS: () => this.create('IN_FORMATS', DRM_MODE_PROP.BLOB | DRM_MODE_PROP.IMMUTABLE),
      // create_writeback_properties() in drm_writeback.c: atomic as well as immutable.
      WRITEBACK_PIXEL_FORMATS: () => this.create('WRITEBACK_PIXEL_FORMATS', DRM_MODE_PROP.BLOB | A | DRM_MODE_PROP.IMMUTABLE),
      WRITEBACK_FB_ID: () => this.create('WRITEBACK_FB_ID', DRM_MODE_PROP.OBJECT | A, [BigInt(DRM_MODE_OBJECT.FB)]),
      WRITEBACK_OUT_FENCE_PTR: () => this.create('WRITEBACK_OUT_FENCE_PTR', DRM_MODE_PROP.RANGE | A, [0n, 0xffffffffffffffffn]),
    };
    const make = defs[name];
    if (!make) throw new Error(`sim: no standard property ${name}`);
    const p = make();
    this.shared.set(name, p);
    return p;
  }

  /**
   * drm_plane_create_rotation_property(): a bitmask listing only the supported bits, per plane.
   * Enum values are bit numbers, as the kernel reports them.
   */
  rotation(supported: string[]): SimProperty {
    const bits = supported.map((n) => {
      const bit = ROTATION_BITS.indexOf(n);
      if (bit < 0) throw new Error(`sim profile: unknown rotation ${n} (known: ${ROTATION_BITS.join(', ')})`);
      return { name: n, value: BigInt(bit) };
    });
    return this.create('rotation', DRM_MODE_PROP.BITMASK, bits.map((b) => b.value), bits);
  }

  /**
   * A driver property from the profile: per object, or one per device when `shared` (created at
   * its first attach, as intel_attach_broadcast_rgb_property() does).
   */
  driver(d: PropertyDef): SimProperty {
    const key = `${d.object}:${d.name}:${(d.planes ?? d.connectors ?? []).join()}`;
    if (!d.perObject && this.shared.has(key)) return this.shared.get(key)!;
    const F = DRM_MODE_PROP;
    const type = { range: F.RANGE, signed_range: F.SIGNED_RANGE, enum: F.ENUM, bitmask: F.BITMASK, blob: F.BLOB }[d.type];
    const flags = type | (d.immutable ? F.IMMUTABLE : 0) | (d.atomic ? F.ATOMIC : 0);
    const enums = (d.enums ?? []).map((e) => ({ name: e.name, value: BigInt(e.value) }));
    const values = d.type === 'enum' || d.type === 'bitmask' ? enums.map((e) => e.value) : d.type === 'blob' ? [] : [BigInt.asUintN(64, BigInt(d.min ?? 0)), BigInt.asUintN(64, BigInt(d.max ?? 0))];
    const p = this.create(d.name, flags, values, enums);
    if (d.type === 'blob') p.blob = { size: d.blobSize, elementSize: d.blobElementSize, countProperty: d.lutSizeProperty };
    if (!d.perObject) this.shared.set(key, p);
    return p;
  }

  /** zpos is created per plane (drm_plane_create_zpos_immutable_property). */
  zpos(value: number): SimProperty {
    return this.create('zpos', DRM_MODE_PROP.RANGE | DRM_MODE_PROP.IMMUTABLE, [BigInt(value), BigInt(value)]);
  }

  attach(state: PropState, objectId: number, prop: SimProperty, value: bigint): void {
    const list = this.attached.get(objectId) ?? [];
    list.push(prop.id);
    this.attached.set(objectId, list);
    const vals = state.get(objectId) ?? new Map<string, bigint>();
    vals.set(prop.name, value);
    state.set(objectId, vals);
  }

  propOf(objectId: number, propId: number): SimProperty | undefined {
    return this.attached.get(objectId)?.includes(propId) ? this.byId.get(propId) : undefined;
  }
}
