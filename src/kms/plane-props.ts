import type { Topology, TopoPlane } from '../kernel/topology';
import type { AtomicProp } from '../kernel/types';
import { neutralValues } from './neutral';
import type { Rect } from './types';

/** One plane showing one framebuffer: what the activate commit and every later flip say. */
export interface PlaneShow {
  planeId: number;
  crtcId: number;
  fbId: number;
  /** The fb's part shown, in whole pixels. */
  src: Rect;
  dst: Rect;
  /** Upside down (a y0_top dma-buf), with the rotation `reflectYRotation` finds for the plane. */
  reflectY?: boolean;
  /** Set only where the plane's zpos is mutable. */
  zpos?: number | null;
}

function planeOf(t: Topology, id: number): TopoPlane {
  const p = t.planes.find((x) => x.id === id);
  if (!p) throw new Error(`plane ${id} is not on this card`);
  return p;
}

function slot(p: TopoPlane, name: string, value: bigint): AtomicProp {
  const prop = p.props[name];
  if (!prop) throw new Error(`plane ${p.id} has no ${name} property`);
  return { objectId: p.id, propId: prop.id, value };
}

const u64 = (n: number | bigint): bigint => BigInt.asUintN(64, BigInt(n));
/** The position and framebuffer properties, in the order `PlaneWriter.write` fills them. */
const GEOMETRY = ['FB_ID', 'CRTC_ID', 'SRC_X', 'SRC_Y', 'SRC_W', 'SRC_H', 'CRTC_X', 'CRTC_Y', 'CRTC_W', 'CRTC_H'];
/** The framebuffer values kept made, so alternating buffers make no new BigInt per frame. */
const FB_VALUES = 32;

/**
 * The one builder of a shown plane's properties: position, framebuffer, and every property the
 * guest's picture depends on at its neutral value (rotation, alpha, blend mode, YCbCr encoding
 * and range), so the activate commit and each flip say the same and nothing the host left on the
 * plane shows through. The property objects are laid out once per plane and `write` sets their
 * values in place (design §5: a flip allocates nothing), so what `write` returns is valid until
 * the next `write`: a commit made per frame uses it at once; `planeProps` takes a fresh writer.
 */
export class PlaneWriter {
  private readonly plain: AtomicProp[];
  /** The same objects, with `rotation` at its reflect-y value; null where the plane cannot. */
  private readonly mirrored: AtomicProp[] | null;
  private readonly geometry: AtomicProp[];
  private readonly rotation: AtomicProp | null = null;
  private readonly rotate0: bigint | null = null;
  private readonly reflect: bigint | null;
  private readonly zpos: AtomicProp | null;
  /** The numbers the geometry slots were last set from (NaN: never), so unchanged ones stay. */
  private readonly last = new Array<number>(GEOMETRY.length).fill(NaN);
  private lastReflect: boolean | null = null;
  private readonly fbValues = new Map<number, bigint>();

  /** `zpos`: whether every write sets zpos (only where it is mutable; else it is left out). */
  constructor(t: Topology, readonly planeId: number, zpos = false) {
    const p = planeOf(t, planeId);
    this.geometry = GEOMETRY.map((name) => slot(p, name, 0n));
    this.plain = [...this.geometry];
    for (const [prop, value] of neutralValues('plane', p.props)) {
      const s = slot(p, prop.name, value);
      this.plain.push(s);
      if (prop.name !== 'rotation') continue;
      this.rotation = s;
      this.rotate0 = value;
    }
    this.reflect = reflectYRotation(t, planeId);
    this.mirrored = this.reflect === null ? null : this.rotation ? this.plain : [...this.plain, slot(p, 'rotation', this.reflect)];
    this.zpos = zpos && p.zpos && !p.zpos.immutable ? slot(p, 'zpos', 0n) : null;
    if (this.zpos) for (const list of new Set([this.plain, this.mirrored])) list?.push(this.zpos);
  }

  /** The plane's properties showing `s` (its planeId is this writer's). */
  write(s: PlaneShow): AtomicProp[] {
    const reflect = s.reflectY === true;
    // Refused before anything is written: the previous values stay whole.
    if (reflect && !this.mirrored) throw new Error(`plane ${this.planeId} cannot reflect-y`);
    if (this.zpos && (s.zpos === undefined || s.zpos === null)) throw new Error(`plane ${this.planeId}'s writer sets zpos: a show without one would leave the last`);
    this.set(0, s.fbId, true);
    this.set(1, s.crtcId, false);
    this.setSrc(2, s.src.x);
    this.setSrc(3, s.src.y);
    this.setSrc(4, s.src.w);
    this.setSrc(5, s.src.h);
    this.set(6, s.dst.x, false);
    this.set(7, s.dst.y, false);
    this.set(8, s.dst.w, false);
    this.set(9, s.dst.h, false);
    if (this.lastReflect !== reflect && this.rotation) this.rotation.value = (reflect ? this.reflect : this.rotate0)!;
    this.lastReflect = reflect;
    if (this.zpos) this.zpos.value = u64(s.zpos!);
    return reflect ? this.mirrored! : this.plain;
  }

  private set(i: number, n: number, fb: boolean): void {
    if (this.last[i] === n) return;
    this.last[i] = n;
    this.geometry[i].value = fb ? this.fbValue(n) : u64(n);
  }

  /** SRC_* are 16.16 fixed point. */
  private setSrc(i: number, n: number): void {
    if (this.last[i] === n) return;
    this.last[i] = n;
    this.geometry[i].value = u64(BigInt(n) << 16n);
  }

  private fbValue(fb: number): bigint {
    let v = this.fbValues.get(fb);
    if (v === undefined) {
      if (this.fbValues.size >= FB_VALUES) this.fbValues.clear();
      this.fbValues.set(fb, (v = u64(fb)));
    }
    return v;
  }
}

/** A shown plane's properties, as fresh objects (the takeover commit's, and any one-off commit's). */
export function planeProps(t: Topology, s: PlaneShow): AtomicProp[] {
  return new PlaneWriter(t, s.planeId, s.zpos !== undefined && s.zpos !== null).write(s);
}

/** Takes the plane off its CRTC. */
export function planeOffProps(t: Topology, planeId: number): AtomicProp[] {
  const p = planeOf(t, planeId);
  return [slot(p, 'FB_ID', 0n), slot(p, 'CRTC_ID', 0n)];
}

/**
 * The `rotation` value that mirrors the plane vertically: reflect-y, or rotate-180 with
 * reflect-x (the same picture; i915 gen11+ offers only the latter). Null when it cannot.
 */
export function reflectYRotation(t: Topology, planeId: number): bigint | null {
  const bits = new Map((t.planes.find((x) => x.id === planeId)?.props.rotation?.enums ?? []).map((e) => [e.name, 1n << e.value]));
  if (bits.has('reflect-y') && bits.has('rotate-0')) return bits.get('rotate-0')! | bits.get('reflect-y')!;
  if (bits.has('rotate-180') && bits.has('reflect-x')) return bits.get('rotate-180')! | bits.get('reflect-x')!;
  return null;
}

export function canReflectY(t: Topology, planeId: number): boolean {
  return reflectYRotation(t, planeId) !== null;
}
