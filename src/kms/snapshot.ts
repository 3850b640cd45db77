import { DRM_MODE_OBJECT } from '../kernel/constants';
import { readProps } from '../kernel/topology';
import type { KmsDevice } from '../kernel/types';

/**
 * The prior state of every object a domain touches, recorded before the first commit that
 * touches it: every mutable property, and the *contents* of the CRTC's mode blob (blob ids do
 * not survive the process that made them). Plain JSON, so it can be journalled.
 */
export interface ObjectSnapshot {
  kind: 'crtc' | 'connector' | 'plane';
  id: number;
  /** Mutable property name → value as a decimal string. */
  props: Record<string, string>;
  /** CRTC only: the MODE_ID blob's bytes, base64; null when no mode was set. */
  mode?: string | null;
}

const TYPES = { crtc: DRM_MODE_OBJECT.CRTC, connector: DRM_MODE_OBJECT.CONNECTOR, plane: DRM_MODE_OBJECT.PLANE };

/** Properties no commit should write back: fences and write-only pointers. */
const SKIP = new Set(['IN_FENCE_FD', 'OUT_FENCE_PTR', 'WRITEBACK_OUT_FENCE_PTR', 'WRITEBACK_FB_ID']);

export function snapshotObject(dev: KmsDevice, kind: ObjectSnapshot['kind'], id: number): ObjectSnapshot {
  const props = readProps(dev, id, TYPES[kind]);
  const out: ObjectSnapshot = { kind, id, props: {} };
  for (const p of Object.values(props)) {
    if (p.immutable || SKIP.has(p.name) || !p.atomic && kind !== 'plane' && p.name !== 'VRR_ENABLED') continue;
    out.props[p.name] = p.value.toString();
  }
  if (kind === 'crtc') {
    const blob = Number(props.MODE_ID?.value ?? 0n);
    out.mode = blob ? dev.getPropBlob(blob).toString('base64') : null;
    delete out.props.MODE_ID;
  }
  return out;
}

/** Adds snapshots for objects not yet recorded; the first record of an object is its prior state. */
export function recordBefore(dev: KmsDevice, into: ObjectSnapshot[], objects: { kind: ObjectSnapshot['kind']; id: number }[]): void {
  for (const o of objects) {
    if (!into.some((s) => s.kind === o.kind && s.id === o.id)) into.push(snapshotObject(dev, o.kind, o.id));
  }
}
