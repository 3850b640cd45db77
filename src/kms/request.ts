import type { DomainConfig } from '../config';
import type { Host } from '../kernel/host';
import type { Topology } from '../kernel/topology';
import type { KmsDevice } from '../kernel/types';
import { guestPlane } from './guest';
import { selectMode } from './mode';
import { StandIns } from './stand-ins';
import type { DomainRequest } from './types';

export interface BuiltRequest {
  request: DomainRequest;
  /** Per plane key: why its format/size is assumed (absent when read from the device). */
  assumptions: Record<string, string>;
  standIns: StandIns;
}

/** A DomainConfig and what the host knows of the guest's planes → the planner's request. */
export function buildRequest(host: Host, dev: KmsDevice, t: Topology, config: DomainConfig): BuiltRequest {
  if (!config.directflip) throw new Error(`domain ${config.name} has no directflip metadata`);
  const standIns = new StandIns(dev);
  const assumptions: Record<string, string> = {};
  const outputs = config.directflip.outputs.map((o) => {
    const conn = t.connectors.find((c) => c.name === o.connector);
    const crtc = t.crtcs.find((c) => c.id === conn?.crtcId) ?? { active: false, mode: null };
    const mode = conn ? selectMode(o.mode, conn, crtc as Topology['crtcs'][number]) : null;
    const size = mode && typeof mode !== 'string' ? { width: mode.hdisplay, height: mode.vdisplay } : { width: 1024, height: 768 };
    return {
      key: o.path,
      connector: o.connector,
      mode: o.mode,
      planes: o.planes.map((p) => {
        const g = guestPlane(host, config, p, size);
        if (g.assumedBecause) assumptions[p.path] = g.assumedBecause;
        const fbId = g.kernelFbId ?? standIns.create(g);
        return {
          key: p.path, from: p.from, to: p.to, x: p.x, y: p.y, width: p.width, height: p.height, zpos: p.zpos,
          guest: { format: g.format, modifier: g.modifier, width: g.width, height: g.height, fbId, assumed: !!g.assumedBecause },
        };
      }),
    };
  });
  return { request: { domain: config.name, outputs }, assumptions, standIns };
}
