import { DRM_MODE_ATOMIC, DRM_MODE_PROP } from '../kernel/constants';
import { isKernelError } from '../kernel/errors';
import { readProps } from '../kernel/topology';
import type { TopoProp } from '../kernel/topology';
import type { AtomicProp, KmsDevice } from '../kernel/types';
import { fbExists } from './fb-info';
import { OBJECT_TYPES } from './snapshot';
import type { ObjectSnapshot } from './snapshot';

const DISABLE = ['FB_ID', 'CRTC_ID', 'SRC_X', 'SRC_Y', 'SRC_W', 'SRC_H', 'CRTC_X', 'CRTC_Y', 'CRTC_W', 'CRTC_H'];
const OFF: Record<ObjectSnapshot['kind'], string[]> = { plane: DISABLE, crtc: ['ACTIVE', 'MODE_ID'], connector: ['CRTC_ID'] };

export interface RestoreResult {
  /** What could not come back exactly, for the log and the status. */
  notes: string[];
}

/** The bytes a snapshot holds for a blob property; `mode` is how older journals kept MODE_ID. */
function savedBlob(s: ObjectSnapshot, name: string): Buffer | null {
  const b64 = s.blobs?.[name] ?? (name === 'MODE_ID' ? s.mode : undefined);
  return b64 ? Buffer.from(b64, 'base64') : null;
}

/**
 * The blob id that holds `bytes` now: the original when it still exists with those bytes (ids are
 * reused, so the bytes are compared), else a new one made from them, listed in `made`.
 */
function blobFor(dev: KmsDevice, id: number, bytes: Buffer, made: number[]): number {
  if (id) {
    try {
      if (dev.getPropBlob(id).equals(bytes)) return id;
    } catch (e) {
      if (!isKernelError(e, 'ENOENT')) throw e;
    }
  }
  const created = dev.createPropBlob(bytes);
  made.push(created);
  return created;
}

/** The object's properties now; null when the object is gone (ENOENT). */
function liveProps(dev: KmsDevice, s: ObjectSnapshot): Record<string, TopoProp> | null {
  try {
    return readProps(dev, s.id, OBJECT_TYPES[s.kind]);
  } catch (e) {
    if (isKernelError(e, 'ENOENT')) return null;
    throw e;
  }
}

/** The value to write back for one property: what a client may set for what it saw. */
function writable(p: TopoProp, value: bigint): bigint {
  // Only the driver may set Content Protection to Enabled (EINVAL); Desired asks it to enable again.
  if (p.name === 'Content Protection' && p.enums?.find((e) => e.value === value)?.name === 'Enabled') {
    return p.enums.find((e) => e.name === 'Desired')?.value ?? value;
  }
  return value;
}

/**
 * Gives the host back what it showed: every snapshotted property of every object, blobs made
 * again from their bytes where the original is gone, in one commit. `off` (the domain's, or the
 * snapshot's own `restore`) switches the object off instead, its other properties still restored.
 * A plane whose prior fb is gone (its owner closed it) is left off, and the result says so. On a
 * kernel error nothing changed, and the same snapshots can be tried again.
 */
export function restoreSnapshots(dev: KmsDevice, snapshots: ObjectSnapshot[], how: 'previous' | 'off'): RestoreResult {
  const c = planRestore(dev, snapshots, how);
  try {
    if (c.props.length) dev.atomic(c.props, DRM_MODE_ATOMIC.ALLOW_MODESET);
  } finally {
    c.done();
  }
  return { notes: c.notes };
}

/** The same restore on the addon's worker thread: giving a mode back is a modeset. */
export async function restoreSnapshotsAsync(dev: KmsDevice, snapshots: ObjectSnapshot[], how: 'previous' | 'off'): Promise<RestoreResult> {
  const c = planRestore(dev, snapshots, how);
  try {
    if (c.props.length) await dev.atomicAsync(c.props, DRM_MODE_ATOMIC.ALLOW_MODESET);
  } finally {
    c.done();
  }
  return { notes: c.notes };
}

/** The restore request; `done` destroys the blobs made for it (the committed state holds its own reference). */
function planRestore(dev: KmsDevice, snapshots: ObjectSnapshot[], how: 'previous' | 'off'): { props: AtomicProp[]; notes: string[]; done: () => void } {
  const notes: string[] = [];
  const props: AtomicProp[] = [];
  const made: number[] = [];
  const done = () => {
    for (const b of made) dev.destroyPropBlob(b);
  };
  try {
    for (const s of snapshots) {
      const live = liveProps(dev, s);
      if (!live) {
        notes.push(`${s.kind} ${s.id}: it no longer exists (an MST connector unplugged); nothing to give back to it`);
        continue;
      }
      const values = new Map(Object.entries(s.props).map(([k, v]) => [k, BigInt(v)]));
      // Older journals kept only the mode's bytes, not the blob id.
      const legacyMode = s.kind === 'crtc' && !values.has('MODE_ID');
      if (legacyMode) values.set('MODE_ID', s.mode ? 1n : 0n);
      let off = (s.restore ?? how) === 'off' ? OFF[s.kind] : [];
      if (!off.length && s.kind === 'plane' && !fbExists(dev, Number(values.get('FB_ID') ?? 0n))) {
        notes.push(`plane ${s.id}: its previous framebuffer ${s.props.FB_ID} is gone (its owner closed it); the plane is left disabled`);
        off = DISABLE;
      }
      for (const [name, saved] of values) {
        const p = live[name];
        if (!p || p.immutable) continue;
        let value = off.includes(name) ? 0n : writable(p, saved);
        if (p.flags & DRM_MODE_PROP.BLOB && value !== 0n) {
          const bytes = savedBlob(s, name);
          value = bytes ? BigInt(blobFor(dev, legacyMode && name === 'MODE_ID' ? 0 : Number(value), bytes, made)) : 0n;
        }
        props.push({ objectId: s.id, propId: p.id, value });
      }
    }
    return { props, notes, done };
  } catch (e) {
    done();
    throw e;
  }
}
