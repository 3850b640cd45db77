import type { Topology } from '../kernel/topology';
import type { AtomicProp } from '../kernel/types';

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

const ROTATE_0 = 1n;

/**
 * The atomic properties that show `fb` (its `src` part, whole pixels) at `dst` on a CRTC;
 * `reflectY`: upside down, with the value `reflectYRotation` found for the plane.
 */
export function showProps(t: Topology, planeId: number, crtcId: number, fb: number, src: Rect, dst: Rect, reflectY = false): AtomicProp[] {
  const p = t.planes.find((x) => x.id === planeId);
  if (!p) throw new Error(`plane ${planeId} is not on this card`);
  const v = (n: string, value: number | bigint) => ({ objectId: p.id, propId: p.props[n].id, value: BigInt.asUintN(64, BigInt(value)) });
  const props = [
    v('FB_ID', fb), v('CRTC_ID', crtcId),
    v('SRC_X', src.x * 65536), v('SRC_Y', src.y * 65536), v('SRC_W', src.w * 65536), v('SRC_H', src.h * 65536),
    v('CRTC_X', dst.x), v('CRTC_Y', dst.y), v('CRTC_W', dst.w), v('CRTC_H', dst.h),
  ];
  if (reflectY) {
    const r = reflectYRotation(t, planeId);
    if (r === null) throw new Error(`plane ${planeId} cannot reflect-y`);
    props.push(v('rotation', r));
  } else if (p.props.rotation) props.push(v('rotation', ROTATE_0));
  return props;
}

export function offProps(t: Topology, planeId: number): AtomicProp[] {
  const p = t.planes.find((x) => x.id === planeId);
  if (!p) throw new Error(`plane ${planeId} is not on this card`);
  return [
    { objectId: p.id, propId: p.props.FB_ID.id, value: 0n },
    { objectId: p.id, propId: p.props.CRTC_ID.id, value: 0n },
  ];
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
