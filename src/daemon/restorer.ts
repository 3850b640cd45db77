import type { KmsDevice } from '../kernel/types';
import type { Occupancy } from '../kms/occupancy';
import { mergeSnapshots, planRelease } from '../kms/release';
import type { HandOver } from '../kms/release';
import { restoreSnapshotsAsync } from '../kms/restore';
import type { DomainRecord, Journal } from './journal';
import type { Logger } from './log';
import type { Live } from './records';

/**
 * Gives the host display back when a domain leaves, in the order kms/release plans: what another
 * shown domain still uses is handed to it, the rest is restored in one commit on the addon's
 * worker thread. A restore that fails keeps its record (`restore-pending`), snapshots and all,
 * until a retry succeeds. It works on the engine's own table of live domains.
 */
export class Restorer {
  constructor(
    private readonly dev: KmsDevice,
    private readonly journal: Journal,
    private readonly occupancy: Occupancy,
    private readonly live: Map<string, Live>,
    private readonly log: Logger,
    /** Told when a domain is gone for good (its record removed). */
    private readonly forgotten: (uuid: string) => void,
  ) {}

  forget(r: DomainRecord): void {
    this.forgotten(r.uuid);
    this.occupancy.release(r.holding.domain);
    this.live.delete(r.uuid);
    this.journal.remove(r.uuid);
  }

  /** `pass`: domains already restored in this pass (a daemon stop), which hand nothing on. */
  async restore(r: DomainRecord, pass?: Set<DomainRecord>): Promise<{ ok: boolean; notes: string[] }> {
    // kms/release orders it: what another domain still shows through is handed to it, not undone.
    const stay = [...this.live.values()].map((l) => l.record).filter((x) => x !== r && !pass?.has(x) && (x.state === 'active' || x.state === 'activating'));
    const steps = planRelease([r, ...stay].map((x) => ({ domain: x.uuid, active: true, restore: x.restore, plan: x.plan, snapshots: x.snapshots })), r.uuid);
    try {
      const notes = (await restoreSnapshotsAsync(this.dev, steps.now, r.restore)).notes;
      for (const h of steps.handOver) this.takeOver(this.live.get(h.to)!.record, h, !pass);
      return { ok: true, notes };
    } catch (e) {
      const why = `restoring the host display failed (${(e as NodeJS.ErrnoException).code ?? 'error'}: ${(e as Error).message}); its snapshot is kept and the restore retried at the next release and at the next start`;
      if (r.state !== 'restore-pending') this.log('err', r.name, why);
      r.state = 'restore-pending';
      r.updated = new Date().toISOString();
      this.journal.update(r, this.log);
      return { ok: false, notes: [why] };
    }
  }

  /** `r` now gives back what a leaving domain handed over (kms/release); `journal`: persist it. */
  private takeOver(r: DomainRecord, h: HandOver, journal: boolean): void {
    r.snapshots = mergeSnapshots(r.snapshots, h.snapshots);
    r.holding.modeOwner = [...new Set([...r.holding.modeOwner, ...h.modeOwner])];
    this.occupancy.hold(r.holding);
    if (journal) this.journal.update(r, this.log);
  }

  /** A failed restore may succeed once another domain has left its CRTC. */
  async retryPending(pending = [...this.live.values()]): Promise<void> {
    for (const l of pending.filter((x) => x.record.state === 'restore-pending' && this.live.get(x.record.uuid) === x)) {
      const got = await this.restore(l.record);
      if (!got.ok) continue;
      this.forget(l.record);
      this.log('notice', l.record.name, `host display restored on retry${got.notes.length ? `: ${got.notes.join('; ')}` : ''}`);
    }
  }
}
