import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { isKernelError } from '../kernel/errors';
import type { KmsDevice } from '../kernel/types';
import { DaemonError } from './errors';
import type { Logger } from './log';

/**
 * The processes other than this one that have `card` open, by /proc/<pid>/fd links: the DRM
 * master is one of them (the kernel says which only in debugfs). Unreadable entries (processes
 * that exit while we look, other namespaces) are skipped.
 */
export function cardOpeners(card: string, procRoot = '/proc', self = process.pid): { pid: number; comm: string }[] {
  let target = card;
  try {
    target = realpathSync(card);
  } catch {
    // a path that does not resolve is compared as given
  }
  const found: { pid: number; comm: string }[] = [];
  let pids: string[] = [];
  try {
    pids = readdirSync(procRoot).filter((d) => /^\d+$/.test(d) && Number(d) !== self);
  } catch {
    return found;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(join(procRoot, pid, 'fd'));
    } catch {
      continue;
    }
    const holds = fds.some((fd) => {
      try {
        return readlinkSync(join(procRoot, pid, 'fd', fd)) === target;
      } catch {
        return false;
      }
    });
    if (!holds) continue;
    let comm = '?';
    try {
      comm = readFileSync(join(procRoot, pid, 'comm'), 'utf8').trim() || '?';
    } catch {
      // gone meanwhile: still worth naming by pid
    }
    found.push({ pid: Number(pid), comm });
  }
  return found.sort((a, b) => a.pid - b.pid);
}

/** "held by gnome-shell (pid 1234)", or what we could not find out. */
export function describeHolder(card: string, procRoot = '/proc', self = process.pid): string {
  const who = cardOpeners(card, procRoot, self);
  if (!who.length) return 'held by another process (none in /proc has the card open: another namespace, or logind gave it away)';
  const names = who.slice(0, 4).map((p) => `${p.comm} (pid ${p.pid})`);
  return `held by ${who.length === 1 ? names[0] : `one of ${names.join(', ')}${who.length > 4 ? ', …' : ''}`}`;
}

export interface MasterOptions {
  /** The card as /proc's fd links name it (the real /dev path), to name the holder. */
  card: string;
  procRoot?: string;
  /** How often, while it is held, the daemon checks it still is (SET_MASTER by the master is a no-op). */
  checkMs?: number;
  /** Bounded backoff of the retries once it is lost. */
  retryMs?: { first: number; max: number };
  /** Master was taken away: every shown guest is parked with `why`. */
  onLost: (why: string) => void;
  /** Master is back: re-show the parked guests. */
  onRegained: () => void;
}

/**
 * DRM master, held only while some domain is prepared or shown (design §1: ATOMIC, TEST_ONLY
 * included, needs it), so a host compositor or the console can use the card between guests.
 * The kernel does not tell a master it lost the role (a VT switch, logind, another master after
 * a DROP_MASTER): SET_MASTER by the current master is a no-op, so a periodic one notices a loss,
 * and the same call with a bounded backoff takes the role back once it is free.
 */
export class MasterRole {
  private wanted = false;
  private lostWhy: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private delay: number;
  private readonly o: Required<Omit<MasterOptions, 'onLost' | 'onRegained'>> & MasterOptions;

  constructor(
    private readonly dev: KmsDevice,
    private readonly log: Logger,
    opts: MasterOptions,
  ) {
    this.o = { procRoot: '/proc', checkMs: 500, retryMs: { first: 100, max: 5000 }, ...opts };
    this.delay = this.o.retryMs.first;
    // The kernel makes the first opener of a card with no master its master (drm_master_open):
    // an idle daemon gives that back at once.
    try {
      dev.dropMaster();
    } catch (e) {
      if (!isKernelError(e)) throw e; // EINVAL: it was not master
    }
  }

  /** Held, or wanted and lost: why, for status. */
  get lost(): string | null {
    return this.lostWhy;
  }

  get held(): boolean {
    return this.wanted && !this.lostWhy;
  }

  /**
   * At the first prepare. EBUSY: another process is master; a Refused error names it. While
   * it is wanted but lost, an operation that needs it asks at once rather than waiting for the
   * next retry; still taken, nothing new can be planned (TEST_ONLY needs master): refused.
   */
  take(): void {
    if (this.wanted) {
      if (this.lostWhy && !this.trySet()) this.regained();
      if (this.lostWhy) throw new DaemonError('Refused', `${this.lostWhy}; nothing can be planned until it comes back (directflipd retries on its own): stop that process or switch its VT back`);
      return;
    }
    const refused = this.trySet();
    if (refused) throw new DaemonError('Refused', `DRM master of ${this.o.card} is ${describeHolder(this.o.card, this.o.procRoot)} (${refused}): stop that compositor or switch its VT away, then start the guest again`);
    this.wanted = true;
    this.schedule(this.o.checkMs);
  }

  /**
   * At the start, for journalled domains: take it, or (held by another) want it, so the
   * retries take it once it is free. False when it is not held now.
   */
  takeOrWait(): boolean {
    if (this.wanted) return !this.lostWhy;
    this.wanted = true;
    const refused = this.trySet();
    if (refused) this.lose(refused);
    else this.schedule(this.o.checkMs);
    return !refused;
  }

  /** SET_MASTER; the errno when another holds it (or we may not), else null. */
  private trySet(): string | null {
    try {
      this.dev.setMaster();
      return null;
    } catch (e) {
      if (isKernelError(e) && (e.code === 'EBUSY' || e.code === 'EPERM' || e.code === 'EACCES')) return e.code;
      throw e;
    }
  }

  /** The last domain is gone: the card is free for a compositor or the console. */
  drop(): void {
    if (!this.wanted) return;
    this.wanted = false;
    this.stopTimer();
    const wasLost = this.lostWhy;
    this.lostWhy = null;
    this.delay = this.o.retryMs.first;
    if (wasLost) return; // not ours to drop
    try {
      this.dev.dropMaster();
    } catch (e) {
      // EINVAL: taken away since the last check, which is what dropping wanted anyway.
      if (!isKernelError(e)) throw e;
    }
    this.log('info', null, `DRM master of ${this.o.card} dropped: no domain is prepared or shown`);
  }

  /** A commit answered EACCES: the role went away before the periodic check saw it. */
  refused(): void {
    if (this.wanted && !this.lostWhy) this.lose('EACCES on a commit');
  }

  stop(): void {
    this.stopTimer();
  }

  private lose(code: string): void {
    this.lostWhy = `DRM master of ${this.o.card} was taken away (${code}; it is now ${describeHolder(this.o.card, this.o.procRoot)})`;
    this.delay = this.o.retryMs.first;
    this.log('warning', null, `${this.lostWhy}: shown guests are parked until directflipd gets it back`);
    this.safely(() => this.o.onLost(this.lostWhy!));
    this.schedule(this.delay);
  }

  private tick(): void {
    this.timer = null;
    if (!this.wanted) return;
    try {
      this.dev.setMaster();
    } catch (e) {
      if (!isKernelError(e)) return this.failed(e);
      if (e.code === 'EBADF') return; // the card was closed under us: nothing left to hold
      if (!this.lostWhy) this.lose(e.code);
      else this.delay = Math.min(this.delay * 2, this.o.retryMs.max);
      return this.schedule(this.delay);
    }
    if (this.lostWhy) this.regained();
    else this.schedule(this.o.checkMs);
  }

  private regained(): void {
    this.log('notice', null, `DRM master of ${this.o.card} is back: re-showing the parked guests`);
    this.lostWhy = null;
    this.delay = this.o.retryMs.first;
    this.schedule(this.o.checkMs);
    this.safely(() => this.o.onRegained());
  }

  private failed(e: unknown): void {
    this.log('err', null, `checking DRM master of ${this.o.card} failed: ${(e as Error)?.message ?? String(e)}`);
    this.schedule(this.o.retryMs.max);
  }

  /** Nothing thrown by the engine's reaction may escape a timer. */
  private safely(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log('err', null, `reacting to a DRM master change failed: ${(e as Error)?.message ?? String(e)}`);
    }
  }

  private schedule(ms: number): void {
    this.stopTimer();
    this.timer = setTimeout(() => this.tick(), ms);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
