import { encodeModeInfo } from '../kernel/blobs';
import { DRM_MODE_ATOMIC } from '../kernel/constants';
import type { Topology } from '../kernel/topology';
import type { KmsDevice } from '../kernel/types';
import { assignmentProps } from './props';
import { recordBefore } from './snapshot';
import type { ObjectSnapshot } from './snapshot';
import type { OutputAssignment, Plan } from './types';

/** The objects a plan touches: what must be snapshotted before it is committed. */
export function touchedObjects(plan: Plan): { kind: ObjectSnapshot['kind']; id: number }[] {
  return plan.outputs.flatMap((o) => [
    ...(o.modeset ? [{ kind: 'crtc' as const, id: o.crtcId }, { kind: 'connector' as const, id: o.connectorId }] : []),
    ...o.planes.map((p) => ({ kind: 'plane' as const, id: p.planeId })),
  ]);
}

/**
 * One atomic commit for the whole domain, ALLOW_MODESET only when a mode or routing changes. The
 * kernel applies all of it or none, so a refusal leaves the hardware as it was; the mode blobs
 * made for it are destroyed either way once the commit holds its own reference.
 */
export function commitPlan(dev: KmsDevice, t: Topology, plan: Plan, snapshots: ObjectSnapshot[]): void {
  recordBefore(dev, snapshots, touchedObjects(plan));
  const blobs: number[] = [];
  try {
    const props = assignmentProps(t, plan.outputs, (o: OutputAssignment) => {
      const id = dev.createPropBlob(encodeModeInfo(o.mode));
      blobs.push(id);
      return id;
    });
    const modeset = plan.outputs.some((o) => o.modeset);
    dev.atomic(props, modeset ? DRM_MODE_ATOMIC.ALLOW_MODESET : 0);
  } finally {
    for (const b of blobs) dev.destroyPropBlob(b);
  }
}
