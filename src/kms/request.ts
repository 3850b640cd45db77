import type { DomainConfig } from '../config';
import type { Host } from '../kernel/host';
import type { Topology } from '../kernel/topology';
import type { KmsDevice } from '../kernel/types';
import { resolvePlane } from '../sources/resolve';
import type { SourceKind } from '../sources/resolve';
import { selectMode } from './mode';
import { StandIns } from './stand-ins';
import type { DomainRequest, OutputRequest } from './types';

export interface BuiltRequest {
  request: DomainRequest;
  /** Per plane key: why its format/size is assumed (absent when read from the host). */
  assumptions: Record<string, string>;
  /** Per plane key: the source that serves it, and why that one. */
  sources: Record<string, { source: SourceKind; why: string }>;
  standIns: StandIns;
}

/**
 * A DomainConfig and what the host knows of the guest's planes → the planner's request. Each
 * plane gets its source and either the guest's own kernel fb (gvt-fb) or a stand-in of the
 * guest's size; on any failure the stand-ins made so far are removed.
 */
export function buildRequest(host: Host, dev: KmsDevice, t: Topology, config: DomainConfig): BuiltRequest {
  if (!config.directflip) throw new Error(`domain ${config.name} has no directflip metadata`);
  const built: BuiltRequest = { request: { domain: config.name, outputs: [] }, assumptions: {}, sources: {}, standIns: new StandIns(dev) };
  try {
    for (const o of config.directflip.outputs) {
      const conn = t.connectors.find((c) => c.name === o.connector);
      const crtc = t.crtcs.find((c) => c.id === conn?.crtcId) ?? ({ active: false, mode: null } as unknown as Topology['crtcs'][number]);
      const mode = conn ? selectMode(o.mode, conn, crtc) : null;
      const size = mode && typeof mode !== 'string' ? { width: mode.hdisplay, height: mode.vdisplay } : { width: 1024, height: 768 };
      const out: OutputRequest = { key: o.path, connector: o.connector, mode: o.mode, planes: [] };
      for (const p of o.planes) {
        const r = resolvePlane(host, dev, config, p, size);
        const g = r.guest;
        built.sources[p.path] = { source: r.source, why: r.why };
        if (g.assumedBecause) built.assumptions[p.path] = g.assumedBecause;
        out.planes.push({
          key: p.path, from: p.from, to: p.to, x: p.x, y: p.y, width: p.width, height: p.height, zpos: p.zpos,
          guest: { format: g.format, modifier: g.modifier, width: g.width, height: g.height, fbId: g.kernelFbId ?? built.standIns.create(g), assumed: !!g.assumedBecause },
        });
      }
      built.request.outputs.push(out);
    }
    return built;
  } catch (e) {
    built.standIns.cleanup();
    throw e;
  }
}
