import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Small JSON records the robustness table is made from (scripts/robustness-table.js sums them).
 * Written only when DIRECTFLIP_REPORT_DIR is set, so a plain `npm test` leaves nothing behind.
 * One file per record: a suite writes its own name, so parallel jest workers never share a file.
 */
export interface FaultRecord {
  fault: string;
  survived: boolean;
  restoredByteForByte: boolean;
  /**
   * fbs and GEM handles are the simulated kernel's counts; null where it runs in another process
   * (a daemon process) and cannot be counted from outside: unmeasured, never a guessed 0.
   */
  leaks: { fds: number; fbs: number | null; gem: number | null; rssKiB: number };
}

export interface FuzzRecord {
  suite: string;
  cases: number;
  crashes: number;
}

export interface BadInputsRecord {
  suite: string;
  inputs: number;
}

export function reportDir(): string | null {
  return process.env.DIRECTFLIP_REPORT_DIR || null;
}

/** `commit refused mid-activate` → `commit-refused-mid-activate`: a safe, stable file name. */
export function slug(name: string): string {
  const s = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  if (!s) throw new Error(`report name ${JSON.stringify(name)} has no letters or digits to name a file after`);
  return s.slice(0, 80);
}

function write(kind: 'fault' | 'fuzz' | 'bad-inputs', name: string, record: object): void {
  const dir = reportDir();
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${kind}-${slug(name)}.json`);
  // Atomic, so the table script never reads half a record from a worker still writing.
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(record)}\n`);
  renameSync(tmp, file);
}

export function reportFault(name: string, r: FaultRecord): void {
  write('fault', name, r);
}

export function reportFuzz(name: string, r: FuzzRecord): void {
  write('fuzz', name, r);
}

export function reportBadInputs(name: string, r: BadInputsRecord): void {
  write('bad-inputs', name, r);
}
