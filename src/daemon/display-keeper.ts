import type { Host } from '../kernel/host';
import { readTopology } from '../kernel/topology';
import type { KmsDevice } from '../kernel/types';
import { watchDisplay } from './display-watch';
import type { Logger } from './log';
import { MasterRole } from './master';
import { Parking } from './parking';
import type { ParkingHooks } from './parking';
import type { DomainStatus } from './records';

/** What the engine lends the keeper: its queue, and the steps that are its own. */
export interface KeeperHooks extends ParkingHooks {
  /** Runs `fn` in the engine's one-at-a-time queue (refused once it is shutting down). */
  serial(fn: () => Promise<void>): Promise<void>;
  /** Restores that failed (master gone, a CRTC still shared) may succeed now. */
  retryPending(): Promise<void>;
  /** Anything prepared, shown or waiting for a restore. */
  busy(): boolean;
}

/**
 * The engine's eye on the card between operations (issue 13 items 8 and 9): DRM master held
 * only while a domain needs it, HOTPLUG uevents and master changes turned into one review of
 * the connectors in the engine's queue, and parked domains shown in status.
 */
export class DisplayKeeper {
  readonly master: MasterRole;
  private readonly parking: Parking;
  private readonly unwatch: () => void;

  constructor(
    host: Host,
    card: string,
    private readonly dev: KmsDevice,
    private readonly log: Logger,
    private readonly hooks: KeeperHooks,
    opts: { procRoot?: string; checkMs?: number; retryMs?: { first: number; max: number } } = {},
  ) {
    this.parking = new Parking(dev, hooks, log);
    this.master = new MasterRole(dev, log, { card, ...opts, onLost: () => this.review(), onRegained: () => this.review() });
    this.unwatch = watchDisplay(host.backend, card, () => this.review(), log);
    // What changed while no daemon listened (a monitor unplugged before a restart): one look
    // once the start's re-adoption, queued first, is done.
    setImmediate(() => this.review());
  }

  /** Before anything that commits: TEST_ONLY and real commits need master. Refused with its holder. */
  needMaster(): void {
    this.master.take();
  }

  /** At the start, for a journalled domain: master now, or retried until another lets go. */
  awaitMaster(domain: string): void {
    if (!this.master.takeOrWait()) this.log('warning', domain, `${this.master.lost}: it is shown or given back once directflipd gets master`);
  }

  /** After every operation: with nothing left, master goes back to the host. */
  settle(): void {
    if (!this.hooks.busy()) this.master.drop();
  }

  /** A commit of ours answered EACCES: master went away before the check noticed. */
  commitRefused(e: unknown): void {
    if ((e as NodeJS.ErrnoException)?.code === 'EACCES') {
      this.master.refused();
    }
  }

  forget(uuid: string): void {
    this.parking.forget(uuid);
  }

  /** A parked domain's status says so, and why. */
  decorate(s: DomainStatus): DomainStatus {
    const why = this.parking.reason(s.uuid);
    return why ? { ...s, state: 'parked', notes: [...s.notes, `parked: ${why}`] } : s;
  }

  stop(): void {
    this.unwatch();
    this.master.stop();
  }

  /** One reading of the connectors for everything that changed since the last one. */
  private review(): void {
    this.hooks
      .serial(async () => {
        const lost = this.master.lost;
        // Nothing shown, nothing to park: the card is not read for nothing.
        if (this.hooks.shown().length) await this.parking.review(readTopology(this.dev), lost);
        if (!lost) await this.hooks.retryPending();
      })
      .catch((e: unknown) => {
        // Refused once the engine is stopping: nothing left to keep.
        if ((e as { kind?: string })?.kind !== 'ShuttingDown') this.log('err', null, `reviewing the card after a change failed: ${(e as Error)?.message ?? String(e)}`);
      });
  }
}
