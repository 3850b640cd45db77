/**
 * Hook budgets (design §5), each against its baseline in the same run, interleaved run by run so
 * a load change on this shared machine hits both alike:
 * - the shim for a VM without our metadata (a realistic 8 KiB `virsh dumpxml`) against a bare
 *   /bin/sh hook that only drains stdin: ≤ 1.5x;
 * - the whole hook process for `prepare`, daemon running, against `node -e 0`: p95 ≤ 150 ms, and
 *   our share (prepare minus `node -e 0`). What was tried to cut that share is bench/startup.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, runHookAsLibvirt } from '../src/demo/processes';
import type { Row } from './table';
import { median, quantile, row } from './table';

export const DUMPXML = readFileSync(join(REPO_ROOT, 'bench', 'fixtures', 'dumpxml-8k.xml'), 'utf8');

/** Wall ms of one synchronous run. */
export function timed(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Runs each of `fns` once per round, in turn, `rounds` times: samples per fn. */
export function interleaved(rounds: number, fns: (() => void)[]): number[][] {
  const out = fns.map(() => [] as number[]);
  for (let i = 0; i < rounds; i++) fns.forEach((f, k) => out[k].push(timed(f)));
  return out;
}

/** A run dir holding `n` journal records (other domains' state), as the shim sees it. */
export function runDirWith(n: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'directflip-bench-run-'));
  mkdirSync(join(dir, 'domains'));
  for (let i = 0; i < n; i++) writeFileSync(join(dir, 'domains', `00000000-0000-4000-8000-${String(i).padStart(12, '0')}.json`), '{}');
  return dir;
}

/** The fast path: shim vs bare sh, `runs` each, interleaved; the run dir holds `records` records. */
export function fastPath(runs: number, records = 0): { shim: number[]; bare: number[] } {
  const dir = runDirWith(records);
  const bare = join(dir, 'bare-hook');
  writeFileSync(bare, '#!/bin/sh\n/bin/cat >/dev/null\n', { mode: 0o755 });
  try {
    const [b, s] = interleaved(runs, [
      () => spawnSync('/usr/bin/env', ['-i', 'LC_ALL=C', 'PATH=/usr/bin:/bin', '/bin/sh', bare, 'win11-office', 'prepare', 'begin', '-'], { input: DUMPXML }),
      () => {
        const r = runHookAsLibvirt(['win11-office', 'prepare', 'begin', '-'], DUMPXML, { DIRECTFLIP_RUN_DIR: dir });
        if (r.status !== 0) throw new Error(`the shim failed on a VM without metadata: ${r.stderr}`);
      },
    ]);
    return { shim: s, bare: b };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function fastPathRow(f: { shim: number[]; bare: number[] }, runs: number): Row {
  const m = median(f.shim);
  const b = median(f.bare);
  return row({ row: `hook, VM without metadata (8 KiB dumpxml, ${runs} runs each, interleaved), median`, budget: '≤ 1.5x baseline', measured: m, baseline: b, unit: 'ms', baselineWhat: 'bare /bin/sh hook draining stdin', note: `p95 shim ${quantile(f.shim, 0.95).toFixed(2)} ms, bare ${quantile(f.bare, 0.95).toFixed(2)} ms` }, m <= 1.5 * b);
}

/** `node -e 0` and the hook's prepare through the shim, interleaved; `env` reaches a running daemon. */
export function prepareRuns(runs: number, xml: string, name: string, env: Record<string, string>): { prepare: number[]; node: number[] } {
  const [n, p] = interleaved(runs, [
    () => spawnSync(process.execPath, ['-e', '0']),
    () => {
      // A second prepare of the same domain replaces the first reservation: each run is a full prepare.
      const r = runHookAsLibvirt([name, 'prepare', 'begin', '-'], xml, env);
      if (r.status !== 0) throw new Error(`prepare failed: ${r.stderr}`);
    },
  ]);
  return { prepare: p, node: n };
}

export function prepareRows(r: { prepare: number[]; node: number[] }, runs: number): Row[] {
  const p95 = quantile(r.prepare, 0.95);
  const share = median(r.prepare) - median(r.node);
  return [
    row({ row: `hook prepare, daemon running (${runs} runs, interleaved), p95`, budget: '≤ 150 ms', measured: p95, baseline: quantile(r.node, 0.95), unit: 'ms', baselineWhat: 'node -e 0, p95' }, p95 <= 150),
    row({ row: "hook prepare: our share (median prepare − median node -e 0)", budget: 'report', measured: share, baseline: median(r.node), unit: 'ms', baselineWhat: 'node -e 0, median', note: `prepare median ${median(r.prepare).toFixed(1)} ms = node start ${median(r.node).toFixed(1)} ms + ours ${share.toFixed(1)} ms (shim, loading the bundle, parsing, the D-Bus call and the daemon's plan)` }, null),
  ];
}
