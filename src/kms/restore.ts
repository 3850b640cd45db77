import { DRM_MODE_ATOMIC, DRM_MODE_OBJECT } from '../kernel/constants';
import { isKernelError } from '../kernel/errors';
import { readProps } from '../kernel/topology';
import type { AtomicProp, KmsDevice } from '../kernel/types';
import type { ObjectSnapshot } from './snapshot';

const TYPES = { crtc: DRM_MODE_OBJECT.CRTC, connector: DRM_MODE_OBJECT.CONNECTOR, plane: DRM_MODE_OBJECT.PLANE };
const DISABLE = ['FB_ID', 'CRTC_ID', 'SRC_X', 'SRC_Y', 'SRC_W', 'SRC_H', 'CRTC_X', 'CRTC_Y', 'CRTC_W', 'CRTC_H'];

export interface RestoreResult {
  /** What could not come back exactly, for the log and the status. */
  notes: string[];
}

function fbExists(dev: KmsDevice, id: number): boolean {
  if (!id) return true;
  try {
    dev.getFb2(id);
    return true;
  } catch (e) {
    if (isKernelError(e, 'ENOENT')) return false;
    throw e;
  }
}

/**
 * Gives the host back what it showed: every snapshotted object's properties in one commit
 * (`previous`), or what the domain used switched off (`off`). A plane whose prior fb is gone
 * (its owner closed it) is disabled instead, and the result says so.
 */
export function restoreSnapshots(dev: KmsDevice, snapshots: ObjectSnapshot[], how: 'previous' | 'off'): RestoreResult {
  const notes: string[] = [];
  const props: AtomicProp[] = [];
  const blobs: number[] = [];
  const id = (s: ObjectSnapshot, name: string) => readProps(dev, s.id, TYPES[s.kind])[name]?.id;
  try {
    for (const s of snapshots) {
      const set = (name: string, value: bigint) => {
        const pid = id(s, name);
        if (pid !== undefined) props.push({ objectId: s.id, propId: pid, value });
      };
      if (how === 'off') {
        if (s.kind === 'plane') for (const n of DISABLE) set(n, 0n);
        if (s.kind === 'crtc') {
          set('ACTIVE', 0n);
          set('MODE_ID', 0n);
        }
        if (s.kind === 'connector') set('CRTC_ID', 0n);
        continue;
      }
      if (s.kind === 'plane' && !fbExists(dev, Number(s.props.FB_ID ?? 0))) {
        notes.push(`plane ${s.id}: its previous framebuffer ${s.props.FB_ID} is gone (its owner closed it); the plane is left disabled`);
        for (const n of DISABLE) set(n, 0n);
        continue;
      }
      for (const [name, value] of Object.entries(s.props)) set(name, BigInt(value));
      if (s.kind === 'crtc') {
        let blob = 0;
        if (s.mode) {
          blob = dev.createPropBlob(Buffer.from(s.mode, 'base64'));
          blobs.push(blob);
        }
        set('MODE_ID', BigInt(blob));
      }
    }
    if (props.length) dev.atomic(props, DRM_MODE_ATOMIC.ALLOW_MODESET);
  } finally {
    for (const b of blobs) dev.destroyPropBlob(b);
  }
  return { notes };
}
