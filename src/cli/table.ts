import { escapeLogText } from '../daemon/log';

/**
 * Left-aligned text columns, the width of their widest cell. Cells come from domain names, sysfs
 * and profiles: control characters are escaped, so no cell can add a row or drive the terminal.
 */
export function table(head: string[], rows: string[][]): string {
  const safe = rows.map((r) => r.map((c) => escapeLogText(c ?? '')));
  const w = head.map((h, i) => Math.max(h.length, ...safe.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join('  ').trimEnd();
  return [line(head), ...safe.map(line)].join('\n') + '\n';
}
