import type { Topology } from '../kernel/topology';
import type { AtomicProp } from '../kernel/types';
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
      const plane = t.planes.find((x) => x.id === p.planeId)!;
      out.push(
        prop(plane, 'FB_ID', p.fbId), prop(plane, 'CRTC_ID', o.crtcId),
        prop(plane, 'SRC_X', BigInt(p.src.x) << 16n), prop(plane, 'SRC_Y', BigInt(p.src.y) << 16n),
        prop(plane, 'SRC_W', BigInt(p.src.w) << 16n), prop(plane, 'SRC_H', BigInt(p.src.h) << 16n),
        prop(plane, 'CRTC_X', p.dst.x), prop(plane, 'CRTC_Y', p.dst.y), prop(plane, 'CRTC_W', p.dst.w), prop(plane, 'CRTC_H', p.dst.h),
      );
      if (p.setZpos && p.zpos !== null) out.push(prop(plane, 'zpos', p.zpos));
    }
  }
  return out;
}
