import type { KernelError } from '../kernel/errors';
import { planeLabel } from '../kernel/topology';
import type { Topology, TopoConnector, TopoCrtc } from '../kernel/topology';
import { candidates } from './candidates';
import { destination, scales, source } from './geometry';
import { modeLabel, sameMode, selectMode } from './mode';
import type { Occupancy } from './occupancy';
import type { DomainRequest, OutputAssignment, OutputRequest, Plan, PlaneAssignment, PlaneRequest } from './types';
import { PlanRefused } from './types';

export interface PlanOptions {
  /** TEST_ONLY over the partial assignment; null when the kernel accepts it. Absent: unverified plan. */
  testOnly?: (outputs: OutputAssignment[]) => KernelError | null;
  /**
   * Search time budget in ms (design §5: 1 ms); past it the search fails with its best reason.
   * Time inside `testOnly` is the kernel's, not the search's, and is not counted: the number of
   * TEST_ONLY commits is what the planner controls, and it is reported.
   */
  budgetMs?: number;
  now?: () => number;
}

/**
 * Plans one domain onto the host, libliftoff-style: per output a CRTC and a mode, then a
 * depth-first search over candidate planes (primary first, zpos order kept), with an atomic
 * TEST_ONLY commit as the judge after each plane. Pure: the kernel is reached only through
 * `testOnly`.
 */
export function planDomain(t: Topology, req: DomainRequest, occ: Occupancy, opts: PlanOptions = {}): Plan {
  const now = opts.now ?? (() => performance.now());
  const start = now();
  const budget = opts.budgetMs ?? 1;
  let tests = 0;
  const outputs: OutputAssignment[] = req.outputs.map((o) => routeOutput(t, o, occ, req.domain));
  const requests = outputs.flatMap((o, i) => order(req.outputs[i].planes).map((r) => ({ out: o, r })));
  let best = { depth: -1, request: requests[0]?.r.key ?? req.domain, reasons: [] as string[] };

  let kernelMs = 0;
  let backtracked = false;
  const test = (): KernelError | null => {
    if (!opts.testOnly) return null;
    tests++;
    const t0 = now();
    try {
      return opts.testOnly(outputs);
    } finally {
      kernelMs += now() - t0;
    }
  };

  const search = (i: number): boolean => {
    if (i === requests.length) return true;
    // The first descent always finishes (a cold process must not refuse a plan that fits);
    // the budget cuts off backtracking, where the search can grow.
    if (backtracked && now() - start - kernelMs > budget) {
      throw new PlanRefused(requests[i].r.key, [...best.reasons, `planning took over its ${budget} ms budget (--budget-ms raises it)`], tests);
    }
    const { out, r } = requests[i];
    const c = candidates(t, out.crtcId, r, occ, req.domain);
    const reasons = [...c.reasons];
    for (const p of c.planes) {
      if (out.planes.some((x) => x.planeId === p.id) || outputs.some((o) => o.planes.some((x) => x.planeId === p.id))) continue;
      const below = out.planes.filter((x) => x.from === 'primary');
      if (r.from === 'cursor' && p.zpos && below.some((b) => (b.zpos ?? 0) > p.zpos!.value)) {
        reasons.push(`${planeLabel(t, p)}: would put the cursor under the guest's primary plane`);
        continue;
      }
      const src = source(r);
      const dst = destination(r, out.mode);
      const a: PlaneAssignment = {
        key: r.key, from: r.from, planeId: p.id, planeType: p.type, fbId: r.guest.fbId, src, dst,
        zpos: r.zpos ?? p.zpos?.value ?? null, setZpos: r.zpos !== null && !!p.zpos && !p.zpos.immutable,
      };
      out.planes.push(a);
      const err = test();
      if (!err && search(i + 1)) return true;
      out.planes.pop();
      backtracked = true;
      if (err) reasons.push(`${planeLabel(t, p)}: the kernel refused it (${err.code}${scales(src, dst) ? `; it would scale ${src.w}x${src.h} → ${dst.w}x${dst.h}` : ''})`);
    }
    if (i >= best.depth) best = { depth: i, request: r.key, reasons };
    backtracked = true;
    return false;
  };

  if (!search(0)) throw new PlanRefused(best.request, best.reasons.length ? best.reasons : ['no candidate plane'], tests);
  return { domain: req.domain, outputs, testOnlyCommits: tests, elapsedMs: now() - start, searchMs: now() - start - kernelMs, verified: !!opts.testOnly };
}

/** Primary before cursor, then explicit zpos: the stacking the guest expects. */
function order(planes: PlaneRequest[]): PlaneRequest[] {
  return [...planes].sort((a, b) => (a.from === b.from ? (a.zpos ?? 0) - (b.zpos ?? 0) : a.from === 'primary' ? -1 : 1));
}

function routeOutput(t: Topology, o: OutputRequest, occ: Occupancy, domain: string): OutputAssignment {
  const conn = t.connectors.find((c) => c.name === o.connector);
  if (!conn) throw new PlanRefused(o.key, [`there is no connector ${o.connector} (this card has ${t.connectors.filter((c) => !c.writeback).map((c) => c.name).join(', ')})`]);
  if (conn.status === 'disconnected') throw new PlanRefused(o.key, [`connector ${conn.name} is disconnected: plug in a monitor`]);
  const connHolder = occ.connectorHolder(conn.id);
  const crtc = pickCrtc(t, conn, occ, domain);
  if (typeof crtc === 'string') throw new PlanRefused(o.key, [crtc]);
  const mode = selectMode(o.mode, conn, crtc);
  if (typeof mode === 'string') throw new PlanRefused(o.key, [mode]);
  const modeset = !crtc.active || !sameMode(crtc.mode, mode) || conn.crtcId !== crtc.id;
  const owner = occ.crtcModeOwner(crtc.id) ?? (connHolder && connHolder !== domain ? connHolder : undefined);
  if (modeset && owner && owner !== domain) {
    throw new PlanRefused(o.key, [`CRTC ${crtc.id} on ${conn.name} runs ${crtc.mode ? modeLabel(crtc.mode) : 'no mode'} for domain ${owner}; a second domain cannot change it (${modeLabel(mode)} asked)`]);
  }
  return { key: o.key, connectorId: conn.id, connector: conn.name, crtcId: crtc.id, crtcIndex: crtc.index, mode, modeset, planes: [] };
}

/** The connector's own CRTC when it has one; else a CRTC nobody uses, lowest pipe first. */
function pickCrtc(t: Topology, conn: TopoConnector, occ: Occupancy, domain: string): TopoCrtc | string {
  const own = t.crtcs.find((c) => c.id === conn.crtcId);
  if (own) return own;
  const busy = new Set(t.connectors.filter((c) => c.crtcId).map((c) => c.crtcId));
  const free = t.crtcs.filter((c) => conn.possibleCrtcs.includes(c.id) && !busy.has(c.id) && !c.active && occ.crtcHolders(c.id).every((d) => d === domain));
  if (free[0]) return free[0];
  const users = conn.possibleCrtcs.map((id) => {
    const by = occ.crtcHolders(id).filter((d) => d !== domain);
    return `${id}${by.length ? ` (domain ${by.join(', ')})` : ' (the host)'}`;
  });
  return `no free CRTC can drive ${conn.name}: CRTCs ${users.join(', ')} are all in use`;
}
