import type { DomainConfig } from '../config';
import { isKernelError } from '../kernel/errors';
import type { Host } from '../kernel/host';
import type { Topology } from '../kernel/topology';
import type { KmsDevice } from '../kernel/types';
import type { Occupancy } from '../kms/occupancy';
import { planDomain } from '../kms/planner';
import { buildRequest, describeGuests } from '../kms/request';
import type { StandIns } from '../kms/stand-ins';
import { TestOnlyJudge } from '../kms/test-only';
import type { OutputAssignment, Plan } from '../kms/types';
import { PlanRefused } from '../kms/types';
import { resolvePlane, SourceError } from '../sources/resolve';
import { DaemonError } from './errors';
import type { DomainId } from './identity';
import type { DomainRecord } from './journal';
import { displayOf, holderLabel } from './records';

export interface Prepared {
  record: DomainRecord;
  standIns: StandIns;
  notes: string[];
}

/**
 * Resolve, plan and TEST_ONLY one domain against the card as `t` shows it, next to what others
 * hold (`occupancy`) and have reserved but not shown (`reserved`). Reserves nothing itself; on
 * a refusal the stand-ins it made are gone and the error is the daemon's.
 */
export function planPrepare(host: Host, dev: KmsDevice, t: Topology, config: DomainConfig, id: DomainId, occupancy: Occupancy, reserved: OutputAssignment[]): Prepared {
  let built;
  try {
    built = buildRequest(dev, config, describeGuests(t, config, (p, size) => resolvePlane(host, dev, config, p, size)));
  } catch (e) {
    if (isKernelError(e)) throw new DaemonError('Refused', `${id.name}: a framebuffer like the guest's cannot be made: ${e.message}; \`directflip probe\` lists the formats and modifiers this card takes`);
    if (e instanceof SourceError) throw new DaemonError(e.code === 'EDF_NO_SOURCE' ? 'InvalidConfig' : 'Refused', e.message);
    throw e;
  }
  const label = holderLabel(id.name, id.uuid);
  built.request.domain = label;
  const judge = new TestOnlyJudge(dev, t, reserved);
  let plan: Plan;
  try {
    plan = planDomain(t, built.request, occupancy, { testOnly: judge.judge });
  } catch (e) {
    built.standIns.cleanup();
    if (e instanceof PlanRefused) throw new DaemonError('Refused', e.message);
    throw e;
  } finally {
    judge.dispose();
  }
  const holding = {
    domain: label,
    planes: plan.outputs.flatMap((o) => o.planes.map((p) => p.planeId)),
    crtcs: plan.outputs.map((o) => o.crtcId),
    connectors: plan.outputs.map((o) => o.connectorId),
    modeOwner: plan.outputs.filter((o) => o.modeset).map((o) => o.crtcId),
  };
  const outputs = config.directflip!.outputs;
  const record: DomainRecord = {
    uuid: id.uuid, name: id.name, state: 'prepared', restore: outputs.some((o) => o.restore === 'off') ? 'off' : 'previous',
    plan, sources: built.sources, holding, snapshots: [], updated: new Date().toISOString(),
    mdevs: Object.fromEntries(outputs.flatMap((o) => o.planes.filter((p) => p.mdev).map((p) => [p.path, p.mdev!]))),
    display: displayOf(config),
  };
  const notes = [
    `config: ${config.directflip!.file ? `from ${config.directflip!.file} (the domain's <metadata> has none)` : "from the domain's <metadata>"}`,
    ...Object.entries(built.sources).map(([k, v]) => `${k}: source ${v.source}: ${v.why}`),
    ...Object.entries(built.assumptions).map(([k, why]) => `${k}: guest plane assumed until its source reports it (${why})`),
  ];
  return { record, standIns: built.standIns, notes };
}
