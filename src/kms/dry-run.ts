import type { DomainConfig, PlaneConfig } from '../config';
import { isKernelError } from '../kernel/errors';
import type { Host } from '../kernel/host';
import { readTopology } from '../kernel/topology';
import type { KmsDevice } from '../kernel/types';
import { Occupancy } from './occupancy';
import { planDomain } from './planner';
import { buildRequest, describeGuests } from './request';
import type { GuestDescription } from './request';
import { TestOnlyJudge } from './test-only';
import type { Plan } from './types';

export interface DryRun {
  plan: Plan;
  card: string;
  driver: string;
  /** Plane key → why its format and size are assumed. */
  assumptions: Record<string, string>;
  /** Plane key → the source that serves it and why. */
  sources: Record<string, { source: string; why: string }>;
  notes: string[];
}

export interface DryRunOptions {
  /** What the plane sources say of a guest plane: sources/resolve's resolvePlane (kms knows no frame origin). */
  describe: (host: Host, dev: KmsDevice, config: DomainConfig, plane: PlaneConfig, size: { width: number; height: number }) => GuestDescription;
  budgetMs?: number;
  occupancy?: Occupancy;
}

/**
 * `directflip plan`: everything Prepare does short of reserving, on a fresh fd that is closed
 * again. TEST_ONLY needs DRM master; when another process holds it the plan is made without
 * TEST_ONLY and says it is unverified.
 */
export function dryRun(host: Host, config: DomainConfig, opts: DryRunOptions): DryRun {
  const card = host.cards()[0];
  const dev = host.backend.openKms(card);
  const notes: string[] = [];
  try {
    let master = true;
    try {
      dev.setMaster();
    } catch (e) {
      if (!isKernelError(e) || !['EBUSY', 'EACCES', 'EPERM'].includes(e.code)) throw e;
      master = false;
      notes.push(`not DRM master (${e.code}: another process drives ${card}), so the plan was not checked with TEST_ONLY`);
    }
    const t = readTopology(dev);
    const built = buildRequest(dev, config, describeGuests(t, config, (p, size) => opts.describe(host, dev, config, p, size)));
    const judge = new TestOnlyJudge(dev, t);
    try {
      const plan = planDomain(t, built.request, opts.occupancy ?? new Occupancy(), { testOnly: master ? judge.judge : undefined, budgetMs: opts.budgetMs });
      return { plan, card, driver: t.driver.name, assumptions: built.assumptions, sources: built.sources, notes };
    } finally {
      judge.dispose();
      built.standIns.cleanup();
    }
  } finally {
    dev.close();
  }
}
