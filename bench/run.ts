/**
 * `npm run bench [-- --quick]`: every budget of design §5 in one table (row, budget, measured,
 * the baseline measured in the same run, ratio, verdict), the raw samples in bench/results/*.json
 * and the frame paths' latency CDF in bench/results/frame-cdf.svg. --quick takes fewer samples
 * (well under two minutes on a 2-core machine); the rows are the same. The real-kernel row comes
 * from the kernel lane's last run (artifacts/kernel-lane/floor.json), where ours and the C floor
 * were measured in one guest, one run. Nothing here gates CI: these numbers only report.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, runHookAsLibvirt, startBus, startDaemon } from '../src/demo/processes';
import { concurrentStarts } from './concurrent-starts';
import { framePaths } from './frame-path';
import { fastPath, fastPathRow, prepareRows, prepareRuns } from './hook';
import { plannerRows } from './planner';
import { scaling } from './scaling';
import { startupAttempts } from './startup';
import { cdfSvg } from './svg';
import type { Row } from './table';
import { format, markdown, median, quantile, row, writeResult } from './table';

const quick = process.argv.includes('--quick');
const OUT = join(REPO_ROOT, 'bench', 'results');
const N = quick ? { fast: 60, prepare: 10, startup: 8, frames: 120, planner: 50 } : { fast: 200, prepare: 30, startup: 20, frames: 600, planner: 200 };

function step(what: string): void {
  process.stderr.write(`bench: [${(process.uptime()).toFixed(0)}s] ${what}\n`);
}

async function hookSection(rows: Row[], results: Record<string, unknown>): Promise<void> {
  step(`hook fast path, ${N.fast} runs each`);
  const f = fastPath(N.fast);
  rows.push(fastPathRow(f, N.fast));
  const kiosk = readFileSync(join(REPO_ROOT, 'examples', 'gvt-kiosk-hdmi.xml'), 'utf8');
  const bus = startBus();
  const root = mkdtempSync(join(tmpdir(), 'directflip-bench-root-'));
  const work = mkdtempSync(join(tmpdir(), 'directflip-bench-startup-'));
  const daemon = await startDaemon(bus.address, 'sim:gvt-skylake', root);
  try {
    const env = { DIRECTFLIP_BUS_ADDRESS: bus.address, DIRECTFLIP_RUN_DIR: join(root, 'run/directflip'), DIRECTFLIP_ROOT: root };
    step(`hook prepare, ${N.prepare} runs`);
    const p = prepareRuns(N.prepare, kiosk, 'kiosk-hdmi', env);
    rows.push(...prepareRows(p, N.prepare));
    step(`hook start-up attempts, ${N.startup} rounds`);
    const s = startupAttempts(work, N.startup, 'kiosk-hdmi', kiosk, env);
    rows.push(...s.rows);
    runHookAsLibvirt(['kiosk-hdmi', 'release', 'end', '-'], kiosk, env);
    results.hook = { fastPath: f, prepare: p, startup: s.samples };
  } finally {
    await daemon.stop();
    bus.stop();
    rmSync(root, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
}

interface FloorFile {
  date: string;
  kernel: string;
  frames: number;
  floor: { cost: number[]; cpuUsPerFrame: number };
  ours: { cost: number[]; cpuUsPerFrame: number };
}

const FLOOR_FILE = join(REPO_ROOT, 'artifacts', 'kernel-lane', 'floor.json');

/** The kernel lane's last floor run, if there is one on this machine (else no row: see main). */
function floorRows(): Row[] {
  const f = FLOOR_FILE;
  if (!existsSync(f)) return [];
  const d = JSON.parse(readFileSync(f, 'utf8')) as FloorFile;
  const at = `kernel lane ${d.date.slice(0, 16)}Z, linux ${d.kernel} under TCG, ${d.frames} frames each`;
  return [0.5, 0.99].map((q) => {
    const m = quantile(d.ours.cost, q);
    const b = quantile(d.floor.cost, q);
    return row({ row: `frame path on a real kernel, per-frame cost ${q === 0.5 ? 'median' : 'p99'} (${at})`, budget: '≤ 1.5x baseline', measured: m, baseline: b, unit: 'µs', baselineWhat: 'bench/floor/floor.c, same guest, same run', note: q === 0.5 ? `CPU per frame: ours ${d.ours.cpuUsPerFrame.toFixed(0)} µs (QEMU's side of the link included), floor ${d.floor.cpuUsPerFrame.toFixed(0)} µs` : undefined }, m <= 1.5 * b);
  });
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const rows: Row[] = [];
  const results: Record<string, unknown> = {};
  step(`planner, ${N.planner} plans per case`);
  const pl = plannerRows(N.planner);
  rows.push(...pl.rows);
  results.planner = pl.cases;
  await hookSection(rows, results);
  step(`frame paths, ${N.frames} frames each at 60 fps`);
  const fp = await framePaths(N.frames);
  rows.push(...fp.rows);
  results.framePath = fp.runs;
  rows.push(...floorRows());
  step('16 prepares at once and in a row');
  const cs = await concurrentStarts();
  rows.push(...cs.rows);
  results.concurrentStarts = { serial: cs.serial, together: cs.together };
  step('scaling at 1, 4, 16, 64 domains');
  const sc = await scaling(quick);
  rows.push(...sc.rows);
  results.scaling = sc.sizes;
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, ${quick ? '--quick' : 'full'} run in ${((performance.now() - t0) / 1000).toFixed(0)} s`;
  console.log(`directflip benchmarks (${new Date().toISOString().slice(0, 16)}Z; ${machine})\n`);
  console.log(format(rows));
  const missed = rows.filter((r) => r.verdict === 'missed').length;
  if (!existsSync(FLOOR_FILE)) console.log('\nno real-kernel rows: artifacts/kernel-lane/floor.json is made by `npm run lane:kernel` (as root), whose floor test runs ours and the C floor in one guest');
  console.log(`\n${rows.filter((r) => r.verdict === 'met').length} met, ${missed} missed, ${rows.filter((r) => r.verdict === '—').length} report only; raw samples in bench/results/*.json, CDF in bench/results/frame-cdf.svg`);
  for (const [k, v] of Object.entries(results)) writeResult(OUT, `${k}.json`, { date: new Date().toISOString(), quick, machine, [k]: v });
  writeResult(OUT, 'table.json', { date: new Date().toISOString(), quick, machine, rows });
  writeFileSync(join(OUT, 'table.md'), `${markdown(rows)}\n`);
  const dm = median(fp.runs.dmabuf.latencies);
  writeFileSync(join(OUT, 'frame-cdf.svg'), cdfSvg(`message → commit, ${N.frames} frames per path at 60 fps (simulated vkms; dma-buf median ${dm.toFixed(3)} ms)`, fp.curves, [{ at: 0.5, label: 'budget 0.5 ms' }, { at: 1000 / 60, label: 'a vblank' }]));
}

void main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`bench: failed: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  },
);
