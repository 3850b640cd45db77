import type { ObjectSnapshot } from './snapshot';
import type { Plan } from './types';

/** What the release planner needs of each live domain. */
export interface LiveDomain {
  domain: string;
  /** Only an active domain has anything on screen. */
  active: boolean;
  restore: 'previous' | 'off';
  plan: Plan;
  snapshots: ObjectSnapshot[];
}

/** Prior states another domain now gives back, because it still shows something through them. */
export interface HandOver {
  to: string;
  snapshots: ObjectSnapshot[];
  /** CRTCs whose mode the receiver now owns (the released domain had set it). */
  modeOwner: number[];
}

export interface ReleaseSteps {
  /** Restored in one commit now; a snapshot marked `restore: 'off'` is switched off instead. */
  now: ObjectSnapshot[];
  handOver: HandOver[];
}

const key = (s: { kind: string; id: number }) => `${s.kind}:${s.id}`;

/** Every object a domain shows something through: its planes, their CRTCs, its connectors. */
function uses(d: LiveDomain): Set<string> {
  const out = new Set<string>();
  for (const o of d.plan.outputs) {
    if (!o.planes.length) continue;
    out.add(key({ kind: 'crtc', id: o.crtcId }));
    out.add(key({ kind: 'connector', id: o.connectorId }));
    for (const p of o.planes) out.add(key({ kind: 'plane', id: p.planeId }));
  }
  return out;
}

/**
 * Which of `releasing`'s snapshots are restored now and which go to a domain that stays. The kernel
 * keeps one state per CRTC, whoever's planes are on it: while another domain still shows a plane
 * on a CRTC, that CRTC's prior mode cannot come back (the kernel refuses a plane on a disabled
 * CRTC, and it would be the wrong picture for the one who stays). So every object another active
 * domain still uses is handed to it, and with a CRTC go the planes whose prior picture was on it
 * (switched off now, shown again when the CRTC's mode returns). The last domain to leave then
 * restores the whole CRTC at once, whatever the order of release. Pure.
 */
export function planRelease(live: LiveDomain[], releasing: string): ReleaseSteps {
  const r = live.find((d) => d.domain === releasing);
  if (!r?.active) return { now: [], handOver: [] };
  const stay = live.filter((d) => d.domain !== releasing && d.active).map((d) => ({ d, uses: uses(d) }));
  const holderOf = (k: string) => stay.find((x) => x.uses.has(k))?.d.domain;
  const mark = (s: ObjectSnapshot): ObjectSnapshot => (r.restore === 'off' && !s.restore ? { ...s, restore: 'off' } : s);
  const given = new Map<string, HandOver>();
  const give = (to: string, s: ObjectSnapshot) => {
    const h = given.get(to) ?? { to, snapshots: [], modeOwner: [] };
    h.snapshots.push(mark(s));
    if (s.kind === 'crtc' && r.plan.outputs.some((o) => o.crtcId === s.id && o.modeset)) h.modeOwner.push(s.id);
    given.set(to, h);
  };
  const now: ObjectSnapshot[] = [];
  const crtcTo = new Map<number, string>();
  for (const s of r.snapshots) {
    const to = holderOf(key(s));
    if (to === undefined) continue;
    give(to, s);
    if (s.kind === 'crtc') crtcTo.set(s.id, to);
  }
  for (const s of r.snapshots) {
    if (holderOf(key(s)) !== undefined) continue;
    const onto = s.kind === 'plane' ? crtcTo.get(Number(s.props.CRTC_ID ?? 0)) : undefined;
    if (onto === undefined) {
      now.push(mark(s));
      continue;
    }
    give(onto, s);
    now.push({ ...s, restore: 'off' });
  }
  return { now, handOver: [...given.values()] };
}

/**
 * The receiver's snapshots with a hand-over merged in. A handed-over snapshot was recorded before
 * the receiver first touched that object, so it is the older, truer prior state: it replaces the
 * receiver's own.
 */
export function mergeSnapshots(mine: ObjectSnapshot[], received: ObjectSnapshot[]): ObjectSnapshot[] {
  const theirs = new Set(received.map(key));
  return [...mine.filter((s) => !theirs.has(key(s))), ...received];
}
