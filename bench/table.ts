/**
 * The one table `npm run bench` prints (design §5): each row a budget, what was measured, the
 * baseline measured in the same run, their ratio and a verdict. Rows without a design budget
 * report only ("report" budget, verdict "—"), so every number still has its baseline beside it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Row {
  /** What is measured, and at what size. */
  row: string;
  /** The budget in words ("≤ 1.5x baseline", "p99 ≤ 0.5 ms", "report"). */
  budget: string;
  measured: number;
  baseline: number;
  /** Units of `measured` and `baseline` (ms, µs, bytes, MiB, ms/s …). */
  unit: string;
  baselineWhat: string;
  /** met / missed, or "—" where there is no budget to meet. */
  verdict: 'met' | 'missed' | '—';
  /** What else the row's reader needs (counts, the part that dominates). */
  note?: string;
}

/** A row against a budget: `ok` decides the verdict. */
export function row(r: Omit<Row, 'verdict'>, ok: boolean | null): Row {
  return { ...r, verdict: ok === null ? '—' : ok ? 'met' : 'missed' };
}

export function median(xs: number[]): number {
  return quantile(xs, 0.5);
}

/** Nearest-rank quantile of `xs` (0..1). */
export function quantile(xs: number[], q: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

const num = (n: number): string => {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  return a >= 1000 ? n.toFixed(0) : a >= 10 ? n.toFixed(1) : a >= 0.1 ? n.toFixed(2) : n.toFixed(3);
};

export function ratio(r: Row): string {
  if (!r.baseline) return r.measured ? '∞' : '0';
  return `${(r.measured / r.baseline).toFixed(2)}x`;
}

export function format(rows: Row[]): string {
  const cells = rows.map((r) => [r.row, r.budget, `${num(r.measured)} ${r.unit}`, `${num(r.baseline)} ${r.unit} (${r.baselineWhat})`, ratio(r), r.verdict]);
  const head = ['row', 'budget', 'measured', 'baseline, same run', 'ratio', 'verdict'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i])).join(' | ').trimEnd();
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('-|-')];
  for (const c of cells) out.push(line(c));
  const notes = rows.filter((r) => r.note).map((r) => `  ${r.row}: ${r.note}`);
  return [...out, ...(notes.length ? ['', 'notes:', ...notes] : [])].join('\n');
}

/** The same table as Markdown, for the README. */
export function markdown(rows: Row[]): string {
  const out = ['| row | budget | measured | baseline, same run | ratio | verdict |', '|---|---|---|---|---|---|'];
  for (const r of rows) out.push(`| ${r.row} | ${r.budget} | ${num(r.measured)} ${r.unit} | ${num(r.baseline)} ${r.unit} (${r.baselineWhat}) | ${ratio(r)} | ${r.verdict} |`);
  return out.join('\n');
}

export function writeResult(dir: string, name: string, data: unknown): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), `${JSON.stringify(data, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v), 1)}\n`);
}
