import { encodeModeInfo } from '../kernel/blobs';
import { DRM_MODE_ATOMIC } from '../kernel/constants';
import type { Topology } from '../kernel/topology';
import type { AtomicProp, KmsDevice } from '../kernel/types';
import type { OutputAssignment, Plan } from '../kms/types';
import type { Logger } from './log';

/** A shown domain, as parking sees it. */
export interface Shown {
  uuid: string;
  name: string;
  outputs: OutputAssignment[];
}

/** What the engine does for parking: the streams and commits are its own. */
export interface ParkingHooks {
  /** The domains shown right now. */
  shown(): Shown[];
  /** Its streams stop flipping and their framebuffers go; its planes are left as they are. */
  pause(uuid: string): void;
  /** Its journalled plan committed again (a modeset where it sets the mode), then its streams. */
  reshow(uuid: string, t: Topology): Promise<void>;
}

const LINK_GOOD = 0n;

function connectorOf(t: Topology, id: number) {
  return t.connectors.find((c) => c.id === id);
}

/** The kernel's link-status enum says Bad (drm_connector.c: "Good" 0, "Bad" 1). */
export function linkBad(t: Topology, connectorId: number): boolean {
  const p = connectorOf(t, connectorId)?.props['link-status'];
  if (!p) return false;
  const bad = p.enums?.find((e) => e.name === 'Bad')?.value ?? 1n;
  return p.value === bad;
}

/**
 * The plan as it is committed again after a replug or master coming back: the outputs whose
 * mode this domain set (`modeOwner`) modeset; the others only put their planes back, since
 * the CRTC's mode is another's to give. `all`: every output modesets (the CRTC was switched off
 * meanwhile).
 */
export function reshowPlan(plan: Plan, modeOwner: number[], all = false): Plan {
  return { ...plan, outputs: plan.outputs.map((o) => ({ ...o, modeset: all || o.modeset || modeOwner.includes(o.crtcId) })) };
}

/**
 * The kernel's documented retrain (drm_connector.c, "link-status"): re-commit the same mode
 * with ALLOW_MODESET and link-status Good. Run off the event loop: a modeset takes 100 ms+.
 */
export async function retrain(dev: KmsDevice, t: Topology, outputs: OutputAssignment[]): Promise<void> {
  const blobs: number[] = [];
  const props: AtomicProp[] = [];
  try {
    for (const o of outputs) {
      const conn = connectorOf(t, o.connectorId);
      const crtc = t.crtcs.find((c) => c.id === o.crtcId);
      if (!conn?.props['link-status'] || !crtc?.props.MODE_ID) continue;
      const blob = dev.createPropBlob(encodeModeInfo(crtc.mode ?? o.mode));
      blobs.push(blob);
      props.push(
        { objectId: conn.id, propId: conn.props['link-status'].id, value: LINK_GOOD },
        { objectId: conn.id, propId: conn.props.CRTC_ID.id, value: BigInt(o.crtcId) },
        { objectId: crtc.id, propId: crtc.props.MODE_ID.id, value: BigInt(blob) },
        { objectId: crtc.id, propId: crtc.props.ACTIVE.id, value: 1n },
      );
    }
    if (props.length) await dev.atomicAsync(props, DRM_MODE_ATOMIC.ALLOW_MODESET);
  } finally {
    for (const b of blobs) dev.destroyPropBlob(b);
  }
}

/**
 * Which shown domains are parked, and why: a connector of theirs is unplugged, or DRM master
 * was taken away. Read once per hotplug (all domains from one topology). A parked domain
 * keeps its reservation and its journal record (`active`: a restart shows it again); status
 * says `parked` with the reason. When every cause is gone it is shown again from its plan.
 */
export class Parking {
  private readonly why = new Map<string, string>();

  constructor(
    private readonly dev: KmsDevice,
    private readonly hooks: ParkingHooks,
    private readonly log: Logger,
  ) {}

  reason(uuid: string): string | null {
    return this.why.get(uuid) ?? null;
  }

  forget(uuid: string): void {
    this.why.delete(uuid);
  }

  /** One look at the card: park, re-show or retrain each shown domain. Never throws. */
  async review(t: Topology, masterLost: string | null): Promise<void> {
    const retrained = new Set<number>();
    for (const d of this.hooks.shown()) {
      // A DP MST connector is destroyed on unplug: no connector at all is unplugged too.
      const gone = d.outputs.filter((o) => (connectorOf(t, o.connectorId)?.status ?? 'disconnected') === 'disconnected').map((o) => `${o.connector} unplugged`);
      const now = [...(masterLost ? [masterLost] : []), ...gone].join('; ') || null;
      const was = this.why.get(d.uuid) ?? null;
      try {
        if (now) await this.park(d, now, was);
        else if (was) await this.unpark(d, t, was);
        else await this.retrainBad(d, t, retrained);
      } catch (e) {
        this.log('err', d.name, `reacting to a display change failed: ${(e as Error)?.message ?? String(e)}`);
      }
    }
  }

  private park(d: Shown, now: string, was: string | null): Promise<void> {
    if (was === null) {
      this.hooks.pause(d.uuid);
      this.log('warning', d.name, `parked: ${now}; the other guests go on, and it is shown again when that is over`);
    }
    this.why.set(d.uuid, now);
    return Promise.resolve();
  }

  private async unpark(d: Shown, t: Topology, was: string): Promise<void> {
    try {
      await this.hooks.reshow(d.uuid, t);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      const stuck = `${was.replace(/; showing it again failed.*$/, '')}; showing it again failed (${code}: ${(e as Error).message}); retried at the next hotplug or master change`;
      this.why.set(d.uuid, stuck);
      this.log('warning', d.name, `parked: ${stuck}`);
      return;
    }
    this.why.delete(d.uuid);
    this.log('notice', d.name, `shown again (${was.replace(/; showing it again failed.*$/, '')} is over)`);
  }

  private async retrainBad(d: Shown, t: Topology, done: Set<number>): Promise<void> {
    const bad = d.outputs.filter((o) => !done.has(o.connectorId) && linkBad(t, o.connectorId));
    if (!bad.length) return;
    for (const o of bad) done.add(o.connectorId);
    const names = bad.map((o) => o.connector).join(', ');
    try {
      await retrain(this.dev, t, bad);
      this.log('notice', d.name, `link-status of ${names} was Bad: the mode was committed again (retrain)`);
    } catch (e) {
      this.log('warning', d.name, `link-status of ${names} is Bad and the retrain commit failed (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); retried at the next hotplug`);
    }
  }
}
