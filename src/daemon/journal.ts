import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Holding } from '../kms/occupancy';
import type { ObjectSnapshot } from '../kms/snapshot';
import type { Plan } from '../kms/types';
import type { ConsoleWanted } from '../sources/display-bus';
import { DaemonError } from './errors';
import { checkRecord } from './journal-schema';
import type { RECORD_STATES } from './journal-schema';
import type { Logger } from './log';
import { trustedDir } from './state-dir';
import { recordFileName, UUID_RE } from './state-name';

/**
 * What survives a daemon restart for one domain: enough to re-adopt it or give the display back.
 * `activating`: written with the snapshots just before the commit, so a crash during it is
 * re-adopted (or restored), never forgotten. `restore-pending`: released, but the restore commit
 * failed; the snapshots stay until a retry succeeds.
 */
export interface DomainRecord {
  /** The key: libvirt's domain UUID, lower case. */
  uuid: string;
  name: string;
  state: (typeof RECORD_STATES)[number];
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

export interface Damaged {
  file: string;
  reason: string;
}

let tmpSerial = 0;

/**
 * One file per domain, `<run>/domains/<uuid>.json`, written atomically: a temporary file, fsync,
 * rename over the old one, fsync the directory. A crash leaves the old record or the new one, and
 * at worst a `*.tmp-*` file, removed when the journal is opened. Every record read is checked
 * against the schema; a bad one is moved to `domains/damaged/` with its reason beside it.
 */
export class Journal {
  readonly dir: string;
  /** Temporary files a crashed write left behind, removed when this journal was opened. */
  readonly cleaned: string[] = [];

  constructor(runDir: string) {
    trustedDir(runDir);
    this.dir = trustedDir(join(runDir, 'domains'));
    for (const f of readdirSync(this.dir)) {
      if (!/\.tmp-/.test(f)) continue;
      rmSync(join(this.dir, f), { force: true, recursive: true });
      this.cleaned.push(f);
    }
  }

  path(uuid: string): string {
    return join(this.dir, recordFileName(uuid));
  }

  /** Durable when it returns; throws (leaving the old record) when it cannot be. */
  write(r: DomainRecord): void {
    const file = this.path(r.uuid);
    const tmp = `${file}.tmp-${process.pid}-${++tmpSerial}`;
    try {
      const fd = openSync(tmp, 'wx', 0o600);
      try {
        writeSync(fd, JSON.stringify(r, null, 1));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, file);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
    const dfd = openSync(this.dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }

  /** Written, or the operation that needs it fails with a Journal error and changes nothing. */
  persist(r: DomainRecord, what: string): void {
    try {
      this.write(r);
    } catch (e) {
      throw new DaemonError('Journal', `${r.name}: ${what}: its record cannot be written to ${this.dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); nothing was changed on screen; check that ${this.dir} is root's, writable and not full`);
    }
  }

  /** A write whose failure changes nothing the next start would do differently: logged, not thrown. */
  update(r: DomainRecord, log: Logger): void {
    try {
      this.write(r);
    } catch (e) {
      log('warning', r.name, `its record could not be updated (${(e as Error).message}); the previous one stays`);
    }
  }

  remove(uuid: string): void {
    rmSync(this.path(uuid), { force: true });
  }

  has(uuid: string): boolean {
    return existsSync(this.path(uuid));
  }

  /** Every well-formed record on disk; the others are moved aside and returned once. */
  readAll(): { records: DomainRecord[]; damaged: Damaged[] } {
    const records: DomainRecord[] = [];
    const damaged: Damaged[] = [];
    for (const f of readdirSync(this.dir)) {
      if (!f.endsWith('.json')) continue;
      const reason = this.problem(f, records);
      if (reason) damaged.push(this.moveAside(f, reason));
    }
    return { records, damaged };
  }

  private problem(f: string, into: DomainRecord[]): string | null {
    try {
      const v: unknown = JSON.parse(readFileSync(join(this.dir, f), 'utf8'));
      checkRecord(v);
      const r = v as DomainRecord;
      if (!UUID_RE.test(f.slice(0, -5)) || f !== recordFileName(r.uuid)) return `its name is not its record's uuid (${r.uuid}.json)`;
      into.push(r);
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  }

  private moveAside(f: string, reason: string): Damaged {
    const aside = join(this.dir, 'damaged');
    try {
      mkdirSync(aside, { recursive: true, mode: 0o700 });
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      renameSync(join(this.dir, f), join(aside, `${f}.${stamp}`));
      writeFileSync(join(aside, `${f}.${stamp}.reason`), `${reason}\n`, { mode: 0o600 });
      return { file: f, reason: `${reason}; moved to ${join(aside, `${f}.${stamp}`)}` };
    } catch (e) {
      return { file: f, reason: `${reason}; it could not be moved aside (${(e as Error).message}) and stays ignored` };
    }
  }
}
