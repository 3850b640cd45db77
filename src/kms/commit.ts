import { encodeModeInfo } from '../kernel/blobs';
import { DRM_MODE_ATOMIC } from '../kernel/constants';
import type { Topology } from '../kernel/topology';
import type { AtomicProp, KmsDevice } from '../kernel/types';
import { neutralValues } from './neutral';
import { assignmentProps } from './props';
import { recordBefore } from './snapshot';
import type { ObjectSnapshot } from './snapshot';
import type { OutputAssignment, Plan } from './types';

/**
 * The CRTC and connector properties a guest's picture depends on that are not neutral now (a
 * gamma LUT, limited-range RGB, HDR metadata the host left): only those, so a domain joining a
 * CRTC another already took over touches nothing of it.
 */
export function takeoverProps(t: Topology, outputs: OutputAssignment[]): AtomicProp[] {
  const out: AtomicProp[] = [];
  const seen = new Set<number>();
  for (const o of outputs) {
    const objs = [
      { kind: 'crtc' as const, obj: t.crtcs.find((c) => c.id === o.crtcId) },
      { kind: 'connector' as const, obj: t.connectors.find((c) => c.id === o.connectorId) },
    ];
    for (const { kind, obj } of objs) {
      if (!obj || seen.has(obj.id)) continue;
      seen.add(obj.id);
      for (const [p, v] of neutralValues(kind, obj.props)) if (p.value !== v) out.push({ objectId: obj.id, propId: p.id, value: v });
    }
  }
  return out;
}

/**
 * The objects a plan's commit writes, to snapshot before it: its planes, the CRTC and connector
 * of an output that modesets, and (given the topology) those the takeover changes.
 */
export function touchedObjects(plan: Plan, t?: Topology): { kind: ObjectSnapshot['kind']; id: number }[] {
  const out = plan.outputs.flatMap((o) => [
    ...(o.modeset ? [{ kind: 'crtc' as const, id: o.crtcId }, { kind: 'connector' as const, id: o.connectorId }] : []),
    ...o.planes.map((p) => ({ kind: 'plane' as const, id: p.planeId })),
  ]);
  if (t) for (const id of new Set(takeoverProps(t, plan.outputs).map((p) => p.objectId))) out.push({ kind: kindOf(t, id), id });
  return out;
}

function kindOf(t: Topology, id: number): ObjectSnapshot['kind'] {
  if (t.crtcs.some((c) => c.id === id)) return 'crtc';
  if (t.connectors.some((c) => c.id === id)) return 'connector';
  return 'plane';
}

/**
 * One atomic commit for the whole domain. Every object it writes is snapshotted first. It may
 * modeset (ALLOW_MODESET) when a mode or routing changes, or a connector property does (i915
 * takes Broadcast RGB, Colorspace, HDR metadata, max bpc and HDCP changes as a modeset). The
 * kernel applies all of it or none, so a refusal leaves the hardware as it was; the mode blobs
 * made for it are destroyed either way once the commit holds its own reference.
 */
export function commitPlan(dev: KmsDevice, t: Topology, plan: Plan, snapshots: ObjectSnapshot[]): void {
  const c = planCommit(dev, t, plan, snapshots);
  try {
    dev.atomic(c.props, c.flags);
  } finally {
    c.done();
  }
}

/** The same commit on the addon's worker thread: a modeset takes 100 ms or more on real hardware. */
export async function commitPlanAsync(dev: KmsDevice, t: Topology, plan: Plan, snapshots: ObjectSnapshot[]): Promise<void> {
  const c = planCommit(dev, t, plan, snapshots);
  try {
    await dev.atomicAsync(c.props, c.flags);
  } finally {
    c.done();
  }
}

/** The request, its snapshots taken; `done` destroys the mode blobs made for it. */
function planCommit(dev: KmsDevice, t: Topology, plan: Plan, snapshots: ObjectSnapshot[]): { props: AtomicProp[]; flags: number; done: () => void } {
  const blobs: number[] = [];
  const done = () => {
    for (const b of blobs) dev.destroyPropBlob(b);
  };
  try {
    const takeover = takeoverProps(t, plan.outputs);
    const props = [
      ...assignmentProps(t, plan.outputs, (o: OutputAssignment) => {
        const id = dev.createPropBlob(encodeModeInfo(o.mode));
        blobs.push(id);
        return id;
      }),
      ...takeover,
    ];
    recordBefore(dev, snapshots, touchedObjects(plan, t));
    const modeset = plan.outputs.some((o) => o.modeset) || takeover.some((p) => kindOf(t, p.objectId) === 'connector');
    return { props, flags: modeset ? DRM_MODE_ATOMIC.ALLOW_MODESET : 0, done };
  } catch (e) {
    done();
    throw e;
  }
}
