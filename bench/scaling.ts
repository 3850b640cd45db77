/**
 * Scaling (issue 16 item 4): the hook's fast path, prepare, the planner and status at 1, 4, 16
 * and 64 configured domains, one row per size, each against the same cost at 1 domain in the same
 * run. A cost that grows faster than the number of domains (ratio above N, with 50% for noise)
 * is flagged "missed".
 * - fast path: the shim for a VM without metadata, with N other domains' records in the run dir;
 * - prepare: N Prepare calls (D-Bus, each a new connection, as the hook makes them) to a daemon
 *   on the simulated gvt-skylake, domains spread over its three outputs; those the host's planes
 *   cannot take are refused, which is an answer too (the row says how many were held);
 * - planner: N one-plane domains planned one after another into one occupancy, on a synthetic
 *   CRTC with 64 overlay planes (the simulator, like the kernel, stops at 32 planes);
 * - status: one Status call with those N prepared.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callManager } from '../src/daemon/client';
import { startBus, startDaemon } from '../src/demo/processes';
import { Occupancy } from '../src/kms/occupancy';
import { planDomain } from '../src/kms/planner';
import type { DomainRequest } from '../src/kms/types';
import { fastPath } from './hook';
import { syntheticTopology } from './planner';
import type { Row } from './table';
import { median, row } from './table';

export const SIZES = [1, 4, 16, 64];
const NS = 'https://directflip.github.io/xmlns/domain/1';
const CONNECTORS = ['eDP-1', 'HDMI-A-1', 'DP-1'];
const uuid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const xml = (i: number) => `<domain><name>vm${i}</name><uuid>${uuid(i)}</uuid><metadata><directflip xmlns="${NS}"><output connector="${CONNECTORS[i % 3]}">
  <plane from="primary" mdev="${uuid(i)}" to="overlay" x="0" y="0" width="1920" height="1080"/></output></directflip></metadata>
  <devices><graphics type='dbus'/><hostdev mode='subsystem' type='mdev'><source><address uuid='${uuid(i)}'/></source></hostdev></devices></domain>`;

interface Sized {
  n: number;
  fastPathMs: number;
  prepareMs: number;
  held: number;
  plannerMs: number;
  statusMs: number;
}

async function daemonCosts(address: string, n: number, statusRuns: number): Promise<{ prepareMs: number; held: number; statusMs: number }> {
  const t0 = performance.now();
  let held = 0;
  for (let i = 0; i < n; i++) {
    try {
      await callManager(address, 'Prepare', 'ss', [`vm${i}`, xml(i)], 30_000);
      held++;
    } catch (e) {
      if ((e as { dbusName?: string }).dbusName !== 'io.github.directflip1.Error.Refused') throw e;
    }
  }
  const prepareMs = performance.now() - t0;
  const st: number[] = [];
  for (let k = 0; k < statusRuns; k++) {
    const s0 = performance.now();
    await callManager(address, 'Status', '', [], 30_000);
    st.push(performance.now() - s0);
  }
  for (let i = 0; i < n; i++) await callManager(address, 'Release', 'sss', [`vm${i}`, xml(i), 'bench'], 30_000);
  return { prepareMs, held, statusMs: median(st) };
}

function plannerCost(n: number, reps: number): number {
  const t = syntheticTopology(64);
  const req = (i: number): DomainRequest => ({
    domain: `vm${i}`,
    outputs: [{ key: 'o', connector: 'DP-1', mode: { kind: 'current' }, planes: [{ key: 'p', from: 'primary', to: 'overlay', x: 0, y: 0, width: 100, height: 100, zpos: null, guest: { format: t.planes[0].formats[0], modifier: 0n, width: 100, height: 100, fbId: 1, assumed: true } }] }],
  });
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const occ = new Occupancy();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const plan = planDomain(t, req(i), occ, { budgetMs: 1000 });
      occ.hold({ domain: `vm${i}`, planes: plan.outputs.flatMap((o) => o.planes.map((p) => p.planeId)), crtcs: plan.outputs.map((o) => o.crtcId), connectors: [], modeOwner: [] });
    }
    times.push(performance.now() - t0);
  }
  return median(times);
}

export async function scaling(quick: boolean): Promise<{ rows: Row[]; sizes: Sized[] }> {
  const bus = startBus();
  const root = mkdtempSync(join(tmpdir(), 'directflip-bench-root-'));
  const daemon = await startDaemon(bus.address, 'sim:gvt-skylake', root);
  const sizes: Sized[] = [];
  try {
    for (const n of SIZES) {
      const fp = fastPath(quick ? 10 : 30, n);
      const d = await daemonCosts(bus.address, n, quick ? 5 : 15);
      sizes.push({ n, fastPathMs: median(fp.shim), ...d, plannerMs: plannerCost(n, quick ? 5 : 20) });
    }
  } finally {
    await daemon.stop();
    bus.stop();
    rmSync(root, { recursive: true, force: true });
  }
  const one = sizes[0];
  const rows: Row[] = [];
  const line = (what: string, k: keyof Sized, s: Sized, note?: string) => {
    const ratio = (s[k] as number) / (one[k] as number);
    rows.push(row({ row: `scaling: ${what}, ${s.n} domain${s.n > 1 ? 's' : ''}`, budget: `≤ ${s.n}x (linear)`, measured: s[k] as number, baseline: one[k] as number, unit: 'ms', baselineWhat: 'the same at 1 domain', note }, ratio <= Math.max(1, s.n) * 1.5));
  };
  for (const s of sizes) line('hook fast path (records in the run dir), median', 'fastPathMs', s);
  for (const s of sizes) line('prepare, all N in a row', 'prepareMs', s, `${s.held} held, ${s.n - s.held} refused (the host's planes are taken)`);
  for (const s of sizes) line('planner, N one-plane domains into one occupancy', 'plannerMs', s);
  for (const s of sizes) line('status, one call with N prepared', 'statusMs', s, `${s.held} domains in the answer`);
  return { rows, sizes };
}
