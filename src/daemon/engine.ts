import type { DomainConfig } from '../config';
import { isKernelError } from '../kernel/errors';
import type { Host } from '../kernel/host';
import { readTopology } from '../kernel/topology';
import type { KmsDevice } from '../kernel/types';
import { commitPlan } from '../kms/commit';
import { Occupancy } from '../kms/occupancy';
import { planDomain } from '../kms/planner';
import { buildRequest } from '../kms/request';
import { restoreSnapshots } from '../kms/restore';
import { StandIns } from '../kms/stand-ins';
import { TestOnlyJudge } from '../kms/test-only';
import type { Plan } from '../kms/types';
import { PlanRefused } from '../kms/types';
import { EventHub } from '../sources/pipeline';
import { SourceError } from '../sources/resolve';
import { DaemonError } from './errors';
import { Journal } from './journal';
import { DomainStreams } from './streams';
import type { StreamStatus } from './streams';
import type { DomainRecord } from './journal';
import type { Logger } from './log';

export interface DomainStatus {
  domain: string;
  state: DomainRecord['state'];
  plan: Plan;
  sources: DomainRecord['sources'];
  streams: StreamStatus[];
  notes: string[];
}

interface Live {
  record: DomainRecord;
  /** Streaming sources feeding this domain's planes, running while it is active. */
  streams: DomainStreams | null;
  /** Framebuffers of the guest's size that hold each plane until its source delivers frames. */
  standIns: StandIns;
  notes: string[];
}

/**
 * The domain lifecycle on one DRM card: Prepare (plan, TEST_ONLY, reserve), Activate (one
 * commit, snapshots first), Release (exact restore; idempotent). It owns the DRM fd for as long
 * as anything is shown, and runs one operation at a time, so no plane is ever given twice.
 */
export class Engine {
  readonly dev: KmsDevice;
  readonly occupancy = new Occupancy();
  private readonly events: EventHub;
  private readonly live = new Map<string, Live>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly host: Host,
    readonly journal: Journal,
    private readonly log: Logger,
  ) {
    const card = host.cards()[0];
    try {
      this.dev = host.backend.openKms(card);
      this.dev.setMaster();
    } catch (e) {
      if (isKernelError(e)) throw new DaemonError('Device', `cannot drive ${card}: ${e.message}${e.code === 'EBUSY' ? ' (another process, e.g. a compositor, is DRM master)' : ''}`);
      throw e;
    }
    readTopology(this.dev);
    this.events = new EventHub(this.dev);
  }

  /** Streaming planes (vfio, qemu-dbus) get their sources once the plan is on screen; gvt-fb needs none. */
  private startStreams(l: Live): void {
    l.streams = new DomainStreams(this.host, this.dev, this.events, l.record, (m) => this.log('warning', l.record.domain, m));
    l.streams.start();
  }

  /** Sources stop before the restore commit; their fbs are freed after it, never while shown. */
  private stopStreams(l: Live): DomainStreams | null {
    const s = l.streams;
    s?.stop();
    l.streams = null;
    return s;
  }

  /** Operations run strictly one after another, in arrival order. */
  private serial<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  prepare(config: DomainConfig): Promise<DomainStatus> {
    return this.serial(() => {
      const name = config.name;
      if (this.live.has(name)) {
        this.log('notice', name, 'prepared again: dropping the earlier reservation first');
        this.releaseNow(name, 'prepare');
      }
      const t = readTopology(this.dev);
      let built;
      try {
        built = buildRequest(this.host, this.dev, t, config);
      } catch (e) {
        if (isKernelError(e)) throw new DaemonError('Refused', `${name}: a framebuffer like the guest's cannot be made: ${e.message}`);
        if (e instanceof SourceError) throw new DaemonError(e.code === 'EDF_NO_SOURCE' ? 'InvalidConfig' : 'Refused', e.message);
        throw e;
      }
      const reserved = [...this.live.values()].filter((l) => l.record.state === 'prepared').flatMap((l) => l.record.plan.outputs);
      const judge = new TestOnlyJudge(this.dev, t, reserved);
      let plan: Plan;
      try {
        plan = planDomain(t, built.request, this.occupancy, { testOnly: judge.judge });
      } catch (e) {
        built.standIns.cleanup();
        if (e instanceof PlanRefused) throw new DaemonError('Refused', e.message);
        throw e;
      } finally {
        judge.dispose();
      }
      const holding = {
        domain: name,
        planes: plan.outputs.flatMap((o) => o.planes.map((p) => p.planeId)),
        crtcs: plan.outputs.map((o) => o.crtcId),
        connectors: plan.outputs.map((o) => o.connectorId),
        modeOwner: plan.outputs.filter((o) => o.modeset).map((o) => o.crtcId),
      };
      this.occupancy.hold(holding);
      const record: DomainRecord = {
        domain: name, state: 'prepared', restore: config.directflip!.outputs.some((o) => o.restore === 'off') ? 'off' : 'previous',
        plan, sources: built.sources, holding, snapshots: [], updated: new Date().toISOString(),
        mdevs: Object.fromEntries(config.directflip!.outputs.flatMap((o) => o.planes.filter((p) => p.mdev).map((p) => [p.path, p.mdev!]))),
        display: displayOf(config),
      };
      const notes = [
        ...Object.entries(built.sources).map(([k, v]) => `${k}: source ${v.source}: ${v.why}`),
        ...Object.entries(built.assumptions).map(([k, why]) => `${k}: guest plane assumed until its source reports it (${why})`),
      ];
      this.live.set(name, { record, standIns: built.standIns, notes, streams: null });
      this.journal.write(record);
      this.log('info', name, `prepared: ${describe(plan)}; ${plan.testOnlyCommits} TEST_ONLY`);
      return status(record, notes);
    });
  }

  /** `config`: the live XML at `started`, which now carries the D-Bus display's address. */
  activate(name: string, config?: DomainConfig): Promise<DomainStatus> {
    return this.serial(() => {
      const l = this.live.get(name);
      if (!l) throw new DaemonError('NotPrepared', `${name} was not prepared (the prepare hook did not run, or the daemon restarted since): nothing to show`);
      if (config) l.record.display = displayOf(config);
      if (l.record.state === 'active') return status(l.record, l.notes);
      try {
        commitPlan(this.dev, readTopology(this.dev), l.record.plan, l.record.snapshots);
      } catch (e) {
        if (isKernelError(e)) throw new DaemonError('CommitFailed', `${name}: the kernel refused the commit (${e.code}); the host display is unchanged`);
        throw e;
      }
      l.record.state = 'active';
      l.record.updated = new Date().toISOString();
      this.journal.write(l.record);
      this.startStreams(l);
      this.log('notice', name, `active: ${describe(l.record.plan)}`);
      return status(l.record, l.notes);
    });
  }

  /** Never fails: a domain we do not know has nothing to give back. */
  release(name: string, reason: string): Promise<{ state: 'released'; notes: string[] }> {
    return this.serial(() => ({ state: 'released' as const, notes: this.releaseNow(name, reason) }));
  }

  private releaseNow(name: string, reason: string): string[] {
    const l = this.live.get(name);
    if (!l) return [];
    let notes: string[] = [];
    const streams = this.stopStreams(l);
    if (l.record.state === 'active') {
      try {
        notes = restoreSnapshots(this.dev, l.record.snapshots, l.record.restore).notes;
      } catch (e) {
        if (!isKernelError(e)) throw e;
        notes = [`restoring the host display failed (${e.code}): ${e.message}`];
        this.log('err', name, notes[0]);
      }
    }
    streams?.free();
    l.standIns.cleanup();
    this.occupancy.release(name);
    this.live.delete(name);
    this.journal.remove(name);
    this.log('info', name, `released (${reason || 'no reason given'})${notes.length ? `: ${notes.join('; ')}` : ''}`);
    return notes;
  }

  status(): DomainStatus[] {
    return [...this.live.values()].map((l) => status(l.record, l.notes, l.streams));
  }

  /**
   * After a restart: our fbs went with the old process, so the kernel disabled the planes that
   * showed them. An active domain is shown again from its journalled plan, keeping its original
   * snapshots so release still gives back what the host showed before; if that fails, the host
   * display is restored and the record dropped. A merely prepared domain is dropped.
   */
  reconcile(): Promise<void> {
    return this.serial(() => {
      const { records, damaged } = this.journal.readAll();
      for (const d of damaged) this.log('warning', null, `journal file ${d.file} is unreadable (${d.error}); ignored`);
      for (const r of records) {
        if (r.state !== 'active') {
          this.journal.remove(r.domain);
          this.log('notice', r.domain, 'was only prepared when the daemon stopped: dropped; the next start prepares it again');
          continue;
        }
        const standIns = new StandIns(this.dev);
        try {
          for (const p of r.plan.outputs.flatMap((o) => o.planes)) {
            if (!this.fbAlive(p.fbId)) p.fbId = standIns.create({ width: p.src.w, height: p.src.h, format: guestFormat(p), modifier: 0n });
          }
          const t = readTopology(this.dev);
          for (const o of r.plan.outputs) {
            const crtc = t.crtcs.find((c) => c.id === o.crtcId);
            const conn = t.connectors.find((c) => c.id === o.connectorId);
            o.modeset = !crtc?.active || conn?.crtcId !== o.crtcId;
          }
          this.occupancy.hold(r.holding);
          commitPlan(this.dev, t, r.plan, r.snapshots);
          const l: Live = { record: r, standIns, notes: ['re-adopted after a daemon restart'], streams: null };
          this.live.set(r.domain, l);
          this.startStreams(l);
          this.journal.write(r);
          this.log('notice', r.domain, `re-adopted after a daemon restart: ${describe(r.plan)}`);
        } catch (e) {
          standIns.cleanup();
          this.occupancy.release(r.domain);
          const notes = restoreSnapshots(this.dev, r.snapshots, r.restore).notes;
          this.journal.remove(r.domain);
          this.log('warning', r.domain, `could not be re-adopted (${(e as Error).message}); host display restored${notes.length ? `: ${notes.join('; ')}` : ''}`);
        }
      }
    });
  }

  private fbAlive(id: number): boolean {
    try {
      this.dev.getFb2(id);
      return true;
    } catch {
      return false;
    }
  }

  /** Gives the host display back for every active domain and closes the card; records stay. */
  shutdown(): Promise<void> {
    return this.serial(() => {
      for (const [name, l] of this.live) {
        const streams = this.stopStreams(l);
        if (l.record.state === 'active') restoreSnapshots(this.dev, l.record.snapshots, l.record.restore);
        streams?.free();
        this.log('info', name, 'host display restored for the daemon stop; the record stays for the next start');
      }
      this.dev.close();
    });
  }
}

/** Stand-ins are XRGB8888 unless the plane is a cursor, which needs alpha. */
function guestFormat(p: { from: string }): number {
  return p.from === 'cursor' ? 0x34325241 : 0x34325258;
}

function describe(p: Plan): string {
  return p.outputs.map((o) => `${o.connector} on CRTC ${o.crtcId} ${o.mode.hdisplay}x${o.mode.vdisplay}@${o.mode.vrefresh}: ${o.planes.map((x) => `${x.from}→plane ${x.planeId}`).join(', ')}`).join('; ');
}

function status(r: DomainRecord, notes: string[], streams: DomainStreams | null = null): DomainStatus {
  return { domain: r.domain, state: r.state, plan: r.plan, sources: r.sources ?? {}, streams: streams?.status() ?? [], notes };
}

/**
 * Where QEMU's display is and what each plane reads there. libvirt writes the bus address into
 * the live XML from the `start` hook on (absent at `prepare`). A plane's console is its
 * `console`, else its mdev's guest PCI address (QEMU's DeviceAddress). A plane given a size
 * stretches the picture to it; otherwise the picture is shown 1:1, whatever mode the guest sets.
 */
function displayOf(c: DomainConfig): NonNullable<DomainRecord['display']> {
  const planes = c.directflip!.outputs.flatMap((o) => o.planes);
  return {
    address: c.graphics.find((g) => g.address)?.address ?? null,
    wants: Object.fromEntries(planes.map((p) => [p.path, { console: p.console, pci: c.mdevs.find((m) => m.uuid === p.mdev)?.guestAddress ?? null }])),
    geometry: Object.fromEntries(planes.map((p) => [p.path, p.width !== null || p.height !== null ? 'planned' : 'guest'])),
  };
}
