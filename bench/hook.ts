/**
 * Hook budgets (design §5): the shim for a VM without our metadata against a bare /bin/sh hook
 * that only drains stdin (budget ≤ 1.5×), and `prepare` with the daemon running (p95 ≤ 150 ms)
 * against `node -e 0`, all in the same run. Prints a table; writes bench/results/hook.json.
 * Run: npm run bench (after npm ci; needs dbus-daemon).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, runHookAsLibvirt, startBus, startDaemon } from '../src/demo/processes';

const RUNS = 30;

function timeRuns(fn: () => void, runs = RUNS): { median: number; p95: number } {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(runs / 2)], p95: ms[Math.floor(runs * 0.95)] };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'directflip-bench-'));
  const bare = join(dir, 'bare-hook');
  writeFileSync(bare, '#!/bin/sh\n/bin/cat >/dev/null\n', { mode: 0o755 });
  const plain = readFileSync(join(REPO_ROOT, 'examples', 'no-metadata.xml'), 'utf8');
  const kiosk = readFileSync(join(REPO_ROOT, 'examples', 'gvt-kiosk-hdmi.xml'), 'utf8');
  const bareT = timeRuns(() => spawnSync('/usr/bin/env', ['-i', 'LC_ALL=C', 'PATH=/usr/bin:/bin', '/bin/sh', bare, 'plain', 'prepare', 'begin', '-'], { input: plain }));
  const shimT = timeRuns(() => runHookAsLibvirt(['plain-server', 'prepare', 'begin', '-'], plain, { DIRECTFLIP_RUN_DIR: join(dir, 'run') }));
  const nodeT = timeRuns(() => spawnSync(process.execPath, ['-e', '0']));
  const bus = startBus();
  const root = mkdtempSync(join(tmpdir(), 'directflip-bench-root-'));
  const daemon = await startDaemon(bus.address, 'sim:gvt-skylake', root);
  let prepT;
  try {
    const henv = { DIRECTFLIP_BUS_ADDRESS: bus.address, DIRECTFLIP_RUN_DIR: join(root, 'run/directflip') };
    // A second prepare of the same domain replaces the first reservation, so each run is a full prepare.
    prepT = timeRuns(() => {
      const r = runHookAsLibvirt(['kiosk-hdmi', 'prepare', 'begin', '-'], kiosk, henv);
      if (r.status !== 0) throw new Error(`prepare failed: ${r.stderr}`);
    }, 20);
    runHookAsLibvirt(['kiosk-hdmi', 'release', 'end', '-'], kiosk, henv);
  } finally {
    await daemon.stop();
    bus.stop();
    rmSync(root, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
  const rows = [
    { what: 'bare /bin/sh hook draining stdin', ...bareT, budget: '' },
    { what: 'shim, VM without metadata', ...shimT, budget: `${(shimT.median / bareT.median).toFixed(2)}x bare (≤ 1.5x: ${shimT.median <= 1.5 * bareT.median ? 'ok' : 'OVER'})` },
    { what: 'node -e 0', ...nodeT, budget: '' },
    { what: 'hook prepare, daemon running', ...prepT, budget: `p95 ≤ 150 ms: ${prepT.p95 <= 150 ? 'ok' : 'OVER'}; ${(prepT.median / nodeT.median).toFixed(1)}x node -e 0` },
  ];
  console.log('what                                     median ms   p95 ms   against the budget');
  for (const r of rows) console.log(`${r.what.padEnd(40)} ${r.median.toFixed(2).padStart(9)}  ${r.p95.toFixed(2).padStart(7)}   ${r.budget}`);
  mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(REPO_ROOT, 'bench', 'results', 'hook.json'), JSON.stringify({ date: new Date().toISOString(), runs: RUNS, rows }, null, 2));
}

void main();
