import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Holding } from '../kms/occupancy';
import type { ConsoleWanted } from '../sources/display-bus';
import type { ObjectSnapshot } from '../kms/snapshot';
import type { Plan } from '../kms/types';
import { stateFileName } from './state-name';

/** What survives a daemon restart for one domain: enough to re-adopt it or give the display back. */
export interface DomainRecord {
  domain: string;
  state: 'prepared' | 'active';
  restore: 'previous' | 'off';
  plan: Plan;
  /** Plane key → the source serving it and why (plan and status show it). */
  sources: Record<string, { source: string; why: string }>;
  /** Plane key → the mdev it reads, for the streaming sources. */
  mdevs?: Record<string, string>;
  /** QEMU's D-Bus display (known from `started` on) and the console each plane reads there. */
  display?: {
    address: string | null;
    wants: Record<string, ConsoleWanted>;
    /** Plane key → `planned` (stretched over the planned size, as configured) or `guest` (1:1). */
    geometry?: Record<string, 'planned' | 'guest'>;
  };
  holding: Holding;
  /** Prior state of every object the domain touched, recorded before its first commit. */
  snapshots: ObjectSnapshot[];
  updated: string;
}

const replacer = (_k: string, v: unknown) => (typeof v === 'bigint' ? { $bigint: v.toString() } : v);
const reviver = (_k: string, v: unknown) => (v && typeof v === 'object' && '$bigint' in v ? BigInt((v as { $bigint: string }).$bigint) : v);

/**
 * One file per domain under `<run>/domains/`, written atomically: a temporary file, fsync,
 * rename over the old one, fsync the directory. A crash leaves the old record or the new one.
 */
export class Journal {
  readonly dir: string;

  constructor(runDir: string) {
    this.dir = join(runDir, 'domains');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  path(domain: string): string {
    return join(this.dir, stateFileName(domain));
  }

  write(r: DomainRecord): void {
    const file = this.path(r.domain);
    const tmp = `${file}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(r, replacer, 1));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    const dfd = openSync(this.dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }

  remove(domain: string): void {
    rmSync(this.path(domain), { force: true });
  }

  /** Every record on disk; a damaged file is reported, not fatal. */
  readAll(): { records: DomainRecord[]; damaged: { file: string; error: string }[] } {
    const records: DomainRecord[] = [];
    const damaged: { file: string; error: string }[] = [];
    for (const f of readdirSync(this.dir)) {
      if (!f.endsWith('.json')) continue;
      try {
        records.push(JSON.parse(readFileSync(join(this.dir, f), 'utf8'), reviver) as DomainRecord);
      } catch (e) {
        damaged.push({ file: f, error: (e as Error).message });
      }
    }
    return { records, damaged };
  }
}
