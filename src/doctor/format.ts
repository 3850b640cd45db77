import { escapeLogText } from '../daemon/log';
import type { DoctorReport } from './run';
import { SYMBOL } from './types';

/** One line per check: the mark, what was found, and for ✘ the fix. */
export function formatReport(r: DoctorReport): string {
  const lines = [`directflip doctor: ${r.host}${r.root && r.root !== '/' ? ` on ${r.root}` : ''}`];
  for (const c of r.checks) {
    // Domain names and file names come from the admin's XML: printed escaped, one line each.
    const who = c.scope === 'domain' && c.domain && !c.text.includes(c.domain) ? `${c.domain}: ` : '';
    lines.push(escapeLogText(`${SYMBOL[c.mark]} ${who}${c.text}${c.fix ? ` — fix: ${c.fix}` : ''}`));
  }
  lines.push(`${r.counts.ok} ✔, ${r.counts.fail} ✘, ${r.counts.warn} !`);
  return lines.join('\n') + '\n';
}
