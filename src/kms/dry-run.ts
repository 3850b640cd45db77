import type { DomainConfig } from '../config';
import { isKernelError } from '../kernel/errors';
import type { Host } from '../kernel/host';
import { readTopology } from '../kernel/topology';
import { Occupancy } from './occupancy';
import { planDomain } from './planner';
import { resolvePlane } from '../sources/resolve';
import { buildRequest, describeGuests } from './request';
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

/**
 * `directflip plan`: everything Prepare does short of reserving, on a fresh fd that is closed
 * again. TEST_ONLY needs DRM master; when another process holds it the plan is made without
 * TEST_ONLY and says it is unverified.
 */
export function dryRun(host: Host, config: DomainConfig, opts: { budgetMs?: number; occupancy?: Occupancy } = {}): DryRun {
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
    // The plan command's own resolve, as the daemon's prepare does it (this belongs above kms).
    const built = buildRequest(dev, config, describeGuests(t, config, (p, size) => resolvePlane(host, dev, config, p, size)));
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
