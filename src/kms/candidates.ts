import { formatLabel, planeLabel } from '../kernel/topology';
import type { Topology, TopoPlane } from '../kernel/topology';
import { modifierName } from '../kernel/constants';
import type { Occupancy } from './occupancy';
import type { PlaneRequest } from './types';

/** Plane types a request may land on, best first. */
function typesFor(r: PlaneRequest): TopoPlane['type'][] {
  if (typeof r.to === 'number') return ['primary', 'overlay', 'cursor'];
  if (r.to !== 'auto') return [r.to];
  return r.from === 'primary' ? ['primary', 'overlay'] : ['cursor', 'overlay'];
}

/**
 * The host planes that could carry a request, and for every other plane on the CRTC the reason it
 * cannot: the first filters of libliftoff's search, before any TEST_ONLY.
 */
export function candidates(t: Topology, crtcId: number, r: PlaneRequest, occ: Occupancy, domain: string): { planes: TopoPlane[]; reasons: string[] } {
  const types = typesFor(r);
  const planes: TopoPlane[] = [];
  const reasons: string[] = [];
  const g = r.guest;
  for (const p of t.planes) {
    const label = planeLabel(t, p);
    if (typeof r.to === 'number' && p.id !== r.to) continue;
    if (!p.possibleCrtcs.includes(crtcId)) {
      if (typeof r.to === 'number') reasons.push(`${label}: cannot be on CRTC ${crtcId}`);
      continue;
    }
    if (!types.includes(p.type)) continue;
    const holder = occ.planeHolder(p.id);
    if (holder && holder !== domain) {
      reasons.push(`${label}: held by domain ${holder}`);
      continue;
    }
    if (!(p.modifiers.get(g.format) ?? []).includes(g.modifier)) {
      reasons.push(`${label}: format ${formatLabel(g.format)} with ${modifierName(g.modifier)} not in IN_FORMATS`);
      continue;
    }
    if (p.type === 'cursor' && (g.width > t.cursor.width || g.height > t.cursor.height)) {
      reasons.push(`${label}: the guest cursor is ${g.width}x${g.height}, larger than the ${t.cursor.width}x${t.cursor.height} the cursor plane allows`);
      continue;
    }
    if (r.zpos !== null && p.zpos?.immutable && p.zpos.value !== r.zpos) {
      reasons.push(`${label}: zpos is fixed at ${p.zpos.value}, not ${r.zpos}`);
      continue;
    }
    planes.push(p);
  }
  planes.sort((a, b) => types.indexOf(a.type) - types.indexOf(b.type) || a.id - b.id);
  if (typeof r.to === 'number' && !planes.length && !reasons.length) reasons.push(`there is no plane ${r.to} (see directflip probe)`);
  if (!planes.length && !reasons.length) reasons.push(`no ${types.join(' or ')} plane can be on CRTC ${crtcId}`);
  return { planes, reasons };
}
