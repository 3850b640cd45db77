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

function setter(p: TopoPlane): (name: string, value: number | bigint) => AtomicProp {
  return (name, value) => {
    const prop = p.props[name];
    if (!prop) throw new Error(`plane ${p.id} has no ${name} property`);
    return { objectId: p.id, propId: prop.id, value: BigInt.asUintN(64, BigInt(value)) };
  };
}

/**
 * The one builder of a shown plane's properties: position, framebuffer, and every property the
 * guest's picture depends on at its neutral value (rotation, alpha, blend mode, YCbCr encoding
 * and range), so the activate commit and each flip say the same and nothing the host left on the
 * plane shows through.
 */
export function planeProps(t: Topology, s: PlaneShow): AtomicProp[] {
  const p = planeOf(t, s.planeId);
  const v = setter(p);
  const out = [
    v('FB_ID', s.fbId), v('CRTC_ID', s.crtcId),
    v('SRC_X', BigInt(s.src.x) << 16n), v('SRC_Y', BigInt(s.src.y) << 16n), v('SRC_W', BigInt(s.src.w) << 16n), v('SRC_H', BigInt(s.src.h) << 16n),
    v('CRTC_X', s.dst.x), v('CRTC_Y', s.dst.y), v('CRTC_W', s.dst.w), v('CRTC_H', s.dst.h),
  ];
  for (const [prop, value] of neutralValues('plane', p.props)) {
    if (prop.name === 'rotation' && s.reflectY) continue;
    out.push(v(prop.name, value));
  }
  if (s.reflectY) {
    const r = reflectYRotation(t, p.id);
    if (r === null) throw new Error(`plane ${p.id} cannot reflect-y`);
    out.push(v('rotation', r));
  }
  if (s.zpos !== undefined && s.zpos !== null && p.zpos && !p.zpos.immutable) out.push(v('zpos', s.zpos));
  return out;
}

/** Takes the plane off its CRTC. */
export function planeOffProps(t: Topology, planeId: number): AtomicProp[] {
  const v = setter(planeOf(t, planeId));
  return [v('FB_ID', 0), v('CRTC_ID', 0)];
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
