import type { DomainConfig } from '../config';
import { isKernelError } from '../kernel/errors';
import type { Host } from '../kernel/host';
import { readTopology } from '../kernel/topology';
import type { Topology } from '../kernel/topology';
import type { KmsDevice } from '../kernel/types';
import { commitPlanAsync } from '../kms/commit';
import { Occupancy } from '../kms/occupancy';
import { StandIns } from '../kms/stand-ins';
import { EventHub } from '../sources/pipeline';
import { guardCommits } from './commit-guard';
import { DisplayKeeper } from './display-keeper';
import { DaemonError } from './errors';
import { identityOf, nameMismatch, requireSameName } from './identity';
import type { DomainRecord, Journal } from './journal';
import type { Logger } from './log';
import { OpQueue } from './op-queue';
import { reshowPlan } from './parking';
import { simQemuHolds } from './sim-qemu';
import { planPrepare } from './prepare-plan';
import { readoptPlan } from './readopt-plan';
import { describe, displayOf, statusOf } from './records';
import type { DomainStatus, Live } from './records';
import { Restorer } from './restorer';
import { DomainStreams } from './streams';

export type { DomainStatus } from './records';

const SHOWN: DomainRecord['state'][] = ['activating', 'active', 'restore-pending'];

/**
 * The domain lifecycle on one DRM card: Prepare (plan, TEST_ONLY, reserve), Activate (one
 * commit, journalled with its snapshots first), Release (exact restore; idempotent). Domains are
 * keyed by UUID. It owns the DRM fd for as long as anything is shown, and runs one operation at a
 * time. A restore that fails keeps its record (`restore-pending`) and is retried after every
 * release and at the next start.
 */
export class Engine {
  readonly dev: KmsDevice;
  readonly occupancy = new Occupancy();
  private readonly events: EventHub;
  private readonly live = new Map<string, Live>();
  private readonly ops = new OpQueue();
  /** Hotplug, link-status and DRM master between operations (display-keeper.ts). */
  private readonly keeper: DisplayKeeper;
  private readonly restorer: Restorer;

  constructor(
    readonly host: Host,
    readonly journal: Journal,
    private readonly log: Logger,
  ) {
    const card = host.cards()[0];
    try {
      this.dev = host.backend.openKms(card);
    } catch (e) {
      if (isKernelError(e)) throw new DaemonError('Device', `cannot drive ${card}: ${e.message}${e.code === 'EBUSY' ? ' (another process, e.g. a compositor, is DRM master)' : ''}; run directflipd as root on the card's host, with nothing else holding it (\`directflip doctor\` says which)`);
      throw e;
    }
    readTopology(this.dev); // sets the client caps every later call relies on
    this.events = new EventHub(this.dev);
    this.restorer = new Restorer(this.dev, journal, this.occupancy, this.live, log, (uuid) => this.keeper.forget(uuid));
    this.keeper = new DisplayKeeper(host, card, this.dev, log, {
      serial: (fn) => this.serial(fn),
      busy: () => this.live.size > 0,
      retryPending: () => this.restorer.retryPending(),
      shown: () => [...this.live.values()].filter((l) => l.record.state === 'active').map((l) => ({ uuid: l.record.uuid, name: l.record.name, outputs: l.record.plan.outputs })),
      pause: (uuid) => this.stopStreams(this.live.get(uuid)!)?.free(),
      reshow: (uuid, t) => this.reshow(this.live.get(uuid)!, t),
    }, { procRoot: host.sys.at('proc') }); // who holds master is named from the host's own /proc
  }

  /** Operations run strictly one after another; after shutdown() they are refused. */
  private serial<T>(fn: () => T | Promise<T>): Promise<T> {
    return this.ops.run(async () => {
      try {
        return await fn();
      } finally {
        this.keeper.settle(); // nothing left: master goes back to the host
      }
    });
  }

  prepare(config: DomainConfig, argvName?: string): Promise<DomainStatus> {
    return this.serial(() => this.prepareNow(config, argvName));
  }

  private async prepareNow(config: DomainConfig, argvName?: string): Promise<DomainStatus> {
    const id = identityOf(config);
    requireSameName(argvName, id);
    this.keeper.needMaster();
    const name = id.name;
    const earlier = this.live.get(id.uuid);
    if (earlier) {
      this.log('notice', name, 'prepared again: dropping the earlier reservation first');
      if ((await this.releaseNow(earlier, 'prepare')).state === 'restore-pending') {
        throw new DaemonError('Refused', `${name}: the host display its last run took cannot be given back yet (the restore is retried at every release); it cannot be shown again until then: \`directflip status\` shows it restore-pending, and the daemon log why`);
      }
    }
    const reserved = [...this.live.values()].filter((l) => l.record.state === 'prepared').flatMap((l) => l.record.plan.outputs);
    const p = planPrepare(this.host, this.dev, readTopology(this.dev), config, id, this.occupancy, reserved);
    try {
      this.journal.persist(p.record, 'prepare');
    } catch (e) {
      p.standIns.cleanup();
      throw e;
    }
    this.occupancy.hold(p.record.holding);
    this.live.set(id.uuid, { record: p.record, standIns: p.standIns, notes: p.notes, streams: null });
    this.log('info', name, `prepared: ${describe(p.record.plan)}; ${p.record.plan.testOnlyCommits} TEST_ONLY`);
    return statusOf(p.record, p.notes);
  }

  /**
   * `config`: the live XML at `started`, which now carries the D-Bus display's address. A domain
   * not known (the daemon restarted between prepare and started) is prepared first. Without a
   * config (re-adoption), the domain prepared under that name is shown.
   */
  activate(argvName: string, config?: DomainConfig): Promise<DomainStatus> {
    return this.serial(() => {
      if (config) return this.activateNow(config, argvName);
      const l = [...this.live.values()].find((x) => x.record.name === argvName && x.record.state !== 'restore-pending');
      if (!l) throw new DaemonError('NotPrepared', `${argvName} was not prepared (the prepare hook did not run, or the daemon restarted since): nothing to show; start the domain again, libvirt runs prepare first`);
      return this.show(l);
    });
  }

  private async activateNow(config: DomainConfig, argvName?: string): Promise<DomainStatus> {
    const id = identityOf(config);
    requireSameName(argvName, id);
    simQemuHolds(this.host, config.mdevs.map((m) => m.uuid), true);
    let l = this.live.get(id.uuid);
    if (!l || l.record.state === 'restore-pending') {
      await this.prepareNow(config);
      l = this.live.get(id.uuid)!;
    }
    l.record.display = displayOf(config);
    return this.show(l);
  }

  private async show(l: Live): Promise<DomainStatus> {
    const r = l.record;
    if (r.state === 'active') return statusOf(r, l.notes, l.streams);
    this.keeper.needMaster();
    const t = readTopology(this.dev);
    // The snapshots and the intent reach the disk before the commit: a crash during it is
    // re-adopted or restored at the next start, never forgotten. A record that cannot be written
    // stops the commit.
    const guarded = guardCommits(this.dev, () => {
      r.state = 'activating';
      r.updated = new Date().toISOString();
      this.journal.persist(r, 'activate');
    });
    try {
      await commitPlanAsync(guarded, t, r.plan, r.snapshots);
    } catch (e) {
      // All or nothing: the screen is as it was, so the snapshots record nothing to give back.
      const journalled = r.state === 'activating';
      r.state = 'prepared';
      r.snapshots = [];
      if (journalled) this.journal.update(r, this.log);
      if (isKernelError(e)) throw new DaemonError('CommitFailed', `${r.name}: the kernel refused the commit (${e.code}); the host display is unchanged; \`directflip plan\` asks the kernel the same with TEST_ONLY, and the daemon log has the request`);
      throw e;
    }
    r.state = 'active';
    this.journal.update(r, this.log); // if this fails the disk says `activating`, which a restart re-adopts
    this.startStreams(l, t);
    this.log('notice', r.name, `active: ${describe(r.plan)}`);
    return statusOf(r, l.notes, l.streams);
  }

  /**
   * Never fails: a domain we do not know has nothing to give back. Keyed by the XML's UUID; with
   * no usable XML, every domain of that name is released.
   */
  release(argvName: string, reason: string, config: DomainConfig | null = null): Promise<{ state: 'released' | 'restore-pending'; notes: string[] }> {
    return this.serial(async () => {
      const found = this.find(argvName, config, 'release');
      simQemuHolds(this.host, [...(config?.mdevs.map((m) => m.uuid) ?? []), ...found.flatMap((l) => Object.values(l.record.mdevs ?? {}))], false);
      // Pending restores from before this release; one failing just now is retried next time.
      const earlier = [...this.live.values()].filter((l) => l.record.state === 'restore-pending' && !found.includes(l));
      let state: 'released' | 'restore-pending' = 'released';
      const notes: string[] = [];
      for (const l of found) {
        const r = await this.releaseNow(l, reason);
        if (r.state === 'restore-pending') state = r.state;
        notes.push(...r.notes);
      }
      await this.restorer.retryPending(earlier);
      return { state, notes };
    });
  }

  private find(argvName: string, config: DomainConfig | null, op: string): Live[] {
    if (!config) return [...this.live.values()].filter((l) => l.record.name === argvName);
    const id = identityOf(config);
    const m = nameMismatch(argvName, id);
    if (m) this.log('warning', id.name, `${op}: ${m}; going by the uuid`);
    const l = this.live.get(id.uuid);
    return l ? [l] : [];
  }

  private stopStreams(l: Live): DomainStreams | null {
    const s = l.streams;
    s?.stop();
    l.streams = null;
    return s;
  }

  /** `t`: the operation's own topology read (ids do not change with a commit): read once per operation. */
  private startStreams(l: Live, t: Topology): void {
    l.streams = new DomainStreams(this.host, this.dev, this.events, l.record, (m) => this.log('warning', l.record.name, m));
    l.streams.start(t);
  }

  /** Sources stop before the restore commit; their fbs are freed after it, never while shown. */
  private async releaseNow(l: Live, reason: string): Promise<{ state: 'released' | 'restore-pending'; notes: string[] }> {
    const r = l.record;
    const streams = this.stopStreams(l);
    const restored = SHOWN.includes(r.state) ? await this.restorer.restore(r) : { ok: true, notes: [] };
    streams?.free();
    l.standIns.cleanup();
    if (!restored.ok) return { state: 'restore-pending', notes: restored.notes };
    this.restorer.forget(r);
    this.log('info', r.name, `released (${reason || 'no reason given'})${restored.notes.length ? `: ${restored.notes.join('; ')}` : ''}`);
    return { state: 'released', notes: restored.notes };
  }

  status(): DomainStatus[] {
    return [...this.live.values()].map((l) => this.keeper.decorate(statusOf(l.record, l.notes, l.streams)));
  }

  /**
   * After a restart: our fbs went with the old process, so the kernel disabled the planes that
   * showed them. An active domain is shown again from its journalled plan, keeping its original
   * snapshots so release still gives back what the host showed before; if that fails, the host
   * display is restored. A merely prepared domain is dropped; a pending restore is retried.
   */
  reconcile(): Promise<void> {
    return this.serial(async () => {
      const { records, damaged } = this.journal.readAll();
      for (const d of damaged) this.log('warning', null, `journal record ${d.file} is damaged (${d.reason}); ignored: see its .reason file; its domain is prepared afresh at its next start`);
      for (const r of records) await this.readopt(r);
    });
  }

  private async readopt(r: DomainRecord): Promise<void> {
    const standIns = new StandIns(this.dev);
    const l: Live = { record: r, standIns, notes: ['re-adopted after a daemon restart'], streams: null };
    if (r.state === 'prepared') {
      this.journal.remove(r.uuid);
      this.log('notice', r.name, 'was only prepared when the daemon stopped: dropped; the next start prepares it again');
      return;
    }
    this.keeper.awaitMaster(r.name); // its commits need it; if another holds it, retried
    try {
      this.occupancy.hold(r.holding);
    } catch (e) {
      this.log('warning', r.name, `its journalled planes clash with another record (${(e as Error).message}); restoring it`);
    }
    this.live.set(r.uuid, l);
    if (r.state === 'active' || r.state === 'activating') {
      try {
        const t = readTopology(this.dev);
        readoptPlan(this.dev, t, r.plan, standIns, (key) => r.sources[key]?.source === 'gvt-fb');
        await commitPlanAsync(guardCommits(this.dev, () => this.journal.persist(r, 're-adopt')), t, r.plan, r.snapshots);
        r.state = 'active';
        this.journal.update(r, this.log);
        this.startStreams(l, t);
        this.log('notice', r.name, `re-adopted after a daemon restart: ${describe(r.plan)}`);
        return;
      } catch (e) {
        this.log('warning', r.name, `could not be re-adopted (${(e as Error).message}); restoring the host display`);
      }
    }
    const got = await this.releaseNow(l, 'not re-adopted after a daemon restart');
    if (got.state === 'restore-pending') this.log('warning', r.name, 'its restore is still pending');
  }

  /** After a replug or master coming back: the journalled plan committed again, then its streams. */
  private async reshow(l: Live, t: Topology): Promise<void> {
    const r = l.record;
    const commit = (all: boolean) => commitPlanAsync(guardCommits(this.dev, () => this.journal.persist(r, 'show again')), t, reshowPlan(r.plan, r.holding.modeOwner, all), r.snapshots);
    try {
      // The CRTC's mode is left to whoever set it, unless it was switched off meanwhile.
      await commit(false).catch((e: unknown) => {
        if (!isKernelError(e, 'EINVAL')) throw e;
        return commit(true);
      });
    } catch (e) {
      this.keeper.commitRefused(e);
      throw e;
    }
    this.startStreams(l, t);
  }

  /**
   * Answers every waiting call with ShuttingDown, lets the running one finish, gives the host
   * display back for every shown domain and closes the card; records stay for the next start.
   */
  shutdown(): Promise<void> {
    const refusal = () => new DaemonError('ShuttingDown', 'directflipd is stopping; nothing was changed: ask again once it runs');
    return this.ops.close(refusal, async () => {
      this.keeper.stop();
      const pass = new Set<DomainRecord>();
      for (const l of this.live.values()) {
        const streams = this.stopStreams(l);
        // A failed restore turns the record `restore-pending`, which the next start retries.
        if (SHOWN.includes(l.record.state)) await this.restorer.restore(l.record, pass);
        pass.add(l.record);
        streams?.free();
        this.log('info', l.record.name, 'host display restored for the daemon stop; the record stays for the next start');
      }
      this.dev.close();
    });
  }
}
