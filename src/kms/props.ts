import type { Topology } from '../kernel/topology';
import type { AtomicProp } from '../kernel/types';
import { planeProps } from './plane-props';
import type { OutputAssignment } from './types';

type PropsOf = { id: number; props: Record<string, { id: number }> };

function prop(obj: PropsOf, name: string, value: bigint | number): AtomicProp {
  const p = obj.props[name];
  if (!p) throw new Error(`object ${obj.id} has no ${name} property`);
  return { objectId: obj.id, propId: p.id, value: typeof value === 'bigint' ? value : BigInt.asUintN(64, BigInt(value)) };
}

/**
 * The atomic properties that show one domain's outputs. `modeBlob` gives the MODE_ID blob for an
 * output that needs a modeset (the caller creates it, so planning stays free of side effects).
 */
export function assignmentProps(t: Topology, outputs: OutputAssignment[], modeBlob: (o: OutputAssignment) => number): AtomicProp[] {
  const out: AtomicProp[] = [];
  for (const o of outputs) {
    const crtc = t.crtcs.find((c) => c.id === o.crtcId)!;
    if (o.modeset) {
      const conn = t.connectors.find((c) => c.id === o.connectorId)!;
      out.push(prop(conn, 'CRTC_ID', o.crtcId), prop(crtc, 'MODE_ID', modeBlob(o)), prop(crtc, 'ACTIVE', 1));
    }
    for (const p of o.planes) {
      out.push(...planeProps(t, { planeId: p.planeId, crtcId: o.crtcId, fbId: p.fbId, src: p.src, dst: p.dst, zpos: p.setZpos ? p.zpos : null }));
    }
  }
  return out;
}
