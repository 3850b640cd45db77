import type { Topology } from '../kernel/topology';
import type { KmsDevice } from '../kernel/types';
import { describeFb } from '../kms/fb-info';
import { sameMode } from '../kms/mode';
import type { StandIns } from '../kms/stand-ins';
import type { Plan } from '../kms/types';
import { guestFormat } from './records';

/**
 * A journalled plan made fit for a new process: the old one's fbs went with it (the kernel removed
 * them and disabled their planes), so each such plane gets a stand-in of the guest's size until its
 * source delivers; a CRTC the kernel turned off, or put back in another mode (fbcon's, at the last
 * close), or a connector routed elsewhere, needs a modeset. Only a kernel fb (`kernelFb`: GVT-g's,
 * which the old process never owned) can have outlived it: the kernel hands out the lowest free
 * id, so an id the journal names may by now be a stand-in this process made for another domain.
 */
export function readoptPlan(dev: KmsDevice, t: Topology, plan: Plan, standIns: StandIns, kernelFb: (planeKey: string) => boolean): void {
  for (const p of plan.outputs.flatMap((o) => o.planes)) {
    if (!kernelFb(p.key) || !fbAlive(dev, p.fbId)) p.fbId = standIns.create({ width: p.src.w, height: p.src.h, format: guestFormat(p), modifier: 0n });
  }
  for (const o of plan.outputs) {
    const crtc = t.crtcs.find((c) => c.id === o.crtcId);
    const conn = t.connectors.find((c) => c.id === o.connectorId);
    o.modeset = !crtc?.active || !sameMode(crtc.mode, o.mode) || conn?.crtcId !== o.crtcId;
  }
}

function fbAlive(dev: KmsDevice, id: number): boolean {
  try {
    describeFb(dev, id);
    return true;
  } catch {
    return false;
  }
}
