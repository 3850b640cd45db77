import type { Topology } from '../kernel/topology';
import type { AtomicProp } from '../kernel/types';
import { planeOffProps, planeProps } from '../kms/plane-props';
import type { Rect } from '../kms/types';

export type { Rect } from '../kms/types';
export { canReflectY, reflectYRotation } from '../kms/plane-props';

/**
 * A flip's properties, from the one plane builder the activate commit uses too (kms/plane-props),
 * so a flip never undoes what the takeover set.
 */
export function showProps(t: Topology, planeId: number, crtcId: number, fb: number, src: Rect, dst: Rect, reflectY = false): AtomicProp[] {
  return planeProps(t, { planeId, crtcId, fbId: fb, src, dst, reflectY });
}

export function offProps(t: Topology, planeId: number): AtomicProp[] {
  return planeOffProps(t, planeId);
}
