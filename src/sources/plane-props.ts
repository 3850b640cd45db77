import type { Topology } from '../kernel/topology';
import type { AtomicProp } from '../kernel/types';

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** DRM_MODE_ROTATE_0 | DRM_MODE_REFLECT_Y, the rotation a bottom-up buffer needs. */
const ROTATE_0 = 1n;
const REFLECT_Y = 1n << 5n;

/** The atomic properties that show `fb` (its `src` part, whole pixels) at `dst` on a CRTC. */
export function showProps(t: Topology, planeId: number, crtcId: number, fb: number, src: Rect, dst: Rect, reflectY = false): AtomicProp[] {
  const p = t.planes.find((x) => x.id === planeId);
  if (!p) throw new Error(`plane ${planeId} is not on this card`);
  const v = (n: string, value: number | bigint) => ({ objectId: p.id, propId: p.props[n].id, value: BigInt.asUintN(64, BigInt(value)) });
  const props = [
    v('FB_ID', fb), v('CRTC_ID', crtcId),
    v('SRC_X', src.x * 65536), v('SRC_Y', src.y * 65536), v('SRC_W', src.w * 65536), v('SRC_H', src.h * 65536),
    v('CRTC_X', dst.x), v('CRTC_Y', dst.y), v('CRTC_W', dst.w), v('CRTC_H', dst.h),
  ];
  if (reflectY) props.push(v('rotation', ROTATE_0 | REFLECT_Y));
  else if (p.props.rotation) props.push(v('rotation', ROTATE_0));
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

/** Whether the plane can mirror vertically (its `rotation` property offers reflect-y). */
export function canReflectY(t: Topology, planeId: number): boolean {
  const r = t.planes.find((x) => x.id === planeId)?.props.rotation;
  return !!r?.enums?.some((e) => e.name === 'reflect-y');
}
