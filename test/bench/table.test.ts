import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SaxesParser } from 'saxes';
import { cdfSvg } from '../../bench/svg';
import { format, markdown, quantile, row, writeResult } from '../../bench/table';

/**
 * The bench's outputs are well-formed (never its numbers: benchmarks report, they gate nothing):
 * one table with every column for every row, a Markdown twin, JSON that reads back, and an SVG
 * that parses as XML with one curve per frame path.
 */
const rows = [
  row({ row: 'hook fast path', budget: '≤ 1.5x baseline', measured: 3.1, baseline: 2.9, unit: 'ms', baselineWhat: 'bare sh', note: 'p95 4 ms' }, true),
  row({ row: 'dma-buf p99', budget: '≤ 0.5 ms', measured: 0.7, baseline: 16.7, unit: 'ms', baselineWhat: 'a vblank' }, false),
  row({ row: 'CPU', budget: 'report', measured: 50, baseline: 0, unit: 'ms/s', baselineWhat: 'responder' }, null),
];

test('one table: a header, a rule, one line per row with all six columns, then the notes', () => {
  const lines = format(rows).split('\n');
  expect(lines[0].split('|').map((c) => c.trim())).toEqual(['row', 'budget', 'measured', 'baseline, same run', 'ratio', 'verdict']);
  const body = lines.slice(2, 2 + rows.length).map((l) => l.split('|').map((c) => c.trim()));
  expect(body.map((c) => c.length)).toEqual([6, 6, 6]);
  expect(body.map((c) => [c[4], c[5]])).toEqual([['1.07x', 'met'], ['0.04x', 'missed'], ['∞', '—']]);
  expect(lines.slice(2 + rows.length)).toEqual(['', 'notes:', '  hook fast path: p95 4 ms']);
  expect(markdown(rows).split('\n').map((l) => l.split('|').length)).toEqual([8, 8, 8, 8, 8]);
});

test('quantiles by nearest rank', () => {
  const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
  expect([quantile(xs, 0.5), quantile(xs, 0.99), quantile(xs, 1), quantile([], 0.5)]).toEqual([50, 99, 100, NaN]);
});

test('raw samples are JSON that reads back (64-bit values as strings)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-test-'));
  try {
    writeResult(dir, 'x.json', { rows, tag: 5n });
    expect(JSON.parse(readFileSync(join(dir, 'x.json'), 'utf8'))).toEqual({ rows, tag: '5' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the CDF is an SVG document with one curve per path and the budget marked', () => {
  const svg = cdfSvg('message → commit <ms>', [{ name: 'dma-buf', samples: [0.1, 0.2, 0.3] }, { name: 'pixels & Map', samples: [1, 2, 40] }], [{ at: 0.5, label: 'budget' }]);
  const seen: string[] = [];
  const p = new SaxesParser();
  p.on('opentag', (t) => seen.push(t.name));
  p.write(svg).close();
  expect(seen[0]).toBe('svg');
  expect(seen.filter((n) => n === 'polyline')).toHaveLength(2);
  expect(svg).toContain('pixels &amp; Map (3 frames)');
  expect(svg).toContain('stroke-dasharray');
});
