import { DRM_MODE_OBJECT, DRM_MODE_PROP } from '../kernel/constants';
import { readProps } from '../kernel/topology';
import type { KmsDevice } from '../kernel/types';

/**
 * The prior state of every object a domain touches, recorded before the first commit that
 * touches it: every property a commit may write, and the *contents* of each blob property (a
 * blob dies with the file that made it, and ids are reused). Plain JSON, so it can be journalled.
 */
export interface ObjectSnapshot {
  kind: 'crtc' | 'connector' | 'plane';
  id: number;
  /** Property name → value as a decimal string (blob properties: the blob id). */
  props: Record<string, string>;
  /** Blob property name → the blob's bytes, base64, for every blob property set. */
  blobs?: Record<string, string>;
  /** Journals written before `blobs`: the MODE_ID blob's bytes, base64; null when no mode. */
  mode?: string | null;
  /**
   * `off`: switch the object off instead of bringing its prior state back (restore="off", or a
   * plane whose prior picture went with its CRTC to another domain).
   */
  restore?: 'previous' | 'off';
}

export const OBJECT_TYPES = { crtc: DRM_MODE_OBJECT.CRTC, connector: DRM_MODE_OBJECT.CONNECTOR, plane: DRM_MODE_OBJECT.PLANE };

/**
 * Properties a commit must not write back: one-shot fences and writeback jobs, damage of one
 * commit, DPMS (atomic commits refuse it: ACTIVE is its atomic form) and link-status (the
 * kernel's report of the link, which userspace can only reset).
 */
const SKIP = new Set(['IN_FENCE_FD', 'OUT_FENCE_PTR', 'WRITEBACK_OUT_FENCE_PTR', 'WRITEBACK_FB_ID', 'FB_DAMAGE_CLIPS', 'DPMS', 'link-status']);

export function snapshotObject(dev: KmsDevice, kind: ObjectSnapshot['kind'], id: number): ObjectSnapshot {
  const out: ObjectSnapshot = { kind, id, props: {}, blobs: {} };
  for (const p of Object.values(readProps(dev, id, OBJECT_TYPES[kind]))) {
    if (p.immutable || SKIP.has(p.name)) continue;
    out.props[p.name] = p.value.toString();
    if (p.flags & DRM_MODE_PROP.BLOB && p.value !== 0n) out.blobs![p.name] = dev.getPropBlob(Number(p.value)).toString('base64');
  }
  return out;
}

/** Adds snapshots for objects not yet recorded; the first record of an object is its prior state. */
export function recordBefore(dev: KmsDevice, into: ObjectSnapshot[], objects: { kind: ObjectSnapshot['kind']; id: number }[]): void {
  for (const o of objects) {
    if (!into.some((s) => s.kind === o.kind && s.id === o.id)) into.push(snapshotObject(dev, o.kind, o.id));
  }
}
