import { readFileSync } from 'node:fs';

/** One shell command of a doc: where it is and what it says (continuation lines joined). */
export interface DocCommand {
  file: string;
  line: number;
  text: string;
}

/**
 * Every command in the doc's ```sh blocks, in order. Other blocks (xml, plain text) are not
 * commands; comments and blank lines are not either. A trailing backslash joins lines, as sh does.
 */
export function commandsOf(file: string): DocCommand[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: DocCommand[] = [];
  let inSh = false;
  let fenced = false;
  let pending: DocCommand | null = null;
  lines.forEach((raw, i) => {
    const fence = /^```(\S*)\s*$/.exec(raw);
    if (fence) {
      if (!fenced) {
        fenced = true;
        inSh = fence[1] === 'sh';
      } else {
        fenced = false;
        inSh = false;
      }
      return;
    }
    if (!inSh) return;
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) return;
    const joined = line.endsWith('\\') ? line.slice(0, -1).trimEnd() + ' ' : line;
    if (pending) pending.text += joined;
    else pending = { file, line: i + 1, text: joined };
    if (!line.endsWith('\\')) {
      out.push({ ...pending, text: pending.text.trim() });
      pending = null;
    }
  });
  return out;
}

/** The programs a command line runs: the first word of each pipeline stage and `&&` part. */
export function programsOf(text: string): string[] {
  const stripped = text.replace(/'[^']*'/g, "''").replace(/"[^"]*"/g, '""');
  return stripped
    .split(/\|\||&&|\||;/)
    .map((s) => s.trim().replace(/^(\w+=\S*\s+)+/, '').split(/\s+/)[0])
    .filter((p) => p && !p.startsWith('>'));
}
