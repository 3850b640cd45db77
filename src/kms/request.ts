import type { DomainConfig, ModeSpec, PlaneConfig } from '../config';
import type { Topology } from '../kernel/topology';
import type { KmsDevice } from '../kernel/types';
import { selectMode } from './mode';
import { StandIns } from './stand-ins';
import type { DomainRequest, OutputRequest } from './types';

/**
 * What a plane source says of one guest plane: all kms needs, and nothing of where frames come
 * from. The daemon asks the sources (sources/resolve) and hands this over.
 */
export interface GuestDescription {
  source: string;
  /** Why this source: what `plan` and `status` show. */
  why: string;
  guest: GuestPlane;
}

/** The guest plane as its source reports it. */
export interface GuestPlane {
  format: number;
  modifier: bigint;
  width: number;
  height: number;
  /** The guest plane's own kernel fb (gvt-fb), shown as is; null: a stand-in is made. */
  kernelFbId: number | null;
  /** null when read from the host; else why format and size are a guess. */
  assumedBecause: string | null;
}

export interface BuiltRequest {
  request: DomainRequest;
  /** Per plane key: why its format/size is assumed (absent when read from the host). */
  assumptions: Record<string, string>;
  /** Per plane key: the source that serves it, and why that one. */
  sources: Record<string, { source: string; why: string }>;
  standIns: StandIns;
}

const FALLBACK = { width: 1024, height: 768 };

/** The size a guest plane is assumed to have until its source knows: its output's mode. */
function sizeFor(t: Topology, connector: string, mode: ModeSpec): { width: number; height: number } {
  const conn = t.connectors.find((c) => c.name === connector);
  const crtc = t.crtcs.find((c) => c.id === conn?.crtcId) ?? ({ active: false, mode: null } as unknown as Topology['crtcs'][number]);
  const m = conn ? selectMode(mode, conn, crtc) : null;
  return m && typeof m !== 'string' ? { width: m.hdisplay, height: m.vdisplay } : FALLBACK;
}

/**
 * Asks `describe` about every plane of the domain, with the size to assume when the source cannot
 * tell yet (the output's mode). Pure iteration: the asking (VFIO, sysfs, GETFB2) is the caller's.
 */
export function describeGuests(t: Topology, config: DomainConfig, describe: (plane: PlaneConfig, size: { width: number; height: number }) => GuestDescription): Record<string, GuestDescription> {
  if (!config.directflip) throw new Error(`domain ${config.name} has no directflip metadata`);
  const out: Record<string, GuestDescription> = {};
  for (const o of config.directflip.outputs) {
    const size = sizeFor(t, o.connector, o.mode);
    for (const p of o.planes) out[p.path] = describe(p, size);
  }
  return out;
}

/**
 * A DomainConfig and what the sources said of its planes → the planner's request. Each plane gets
 * either the guest's own kernel fb (gvt-fb) or a stand-in of the guest's size; on any failure the
 * stand-ins made so far are removed.
 */
export function buildRequest(dev: KmsDevice, config: DomainConfig, guests: Record<string, GuestDescription>): BuiltRequest {
  if (!config.directflip) throw new Error(`domain ${config.name} has no directflip metadata`);
  const built: BuiltRequest = { request: { domain: config.name, outputs: [] }, assumptions: {}, sources: {}, standIns: new StandIns(dev) };
  try {
    for (const o of config.directflip.outputs) {
      const out: OutputRequest = { key: o.path, connector: o.connector, mode: o.mode, planes: [] };
      for (const p of o.planes) {
        const d = guests[p.path];
        if (!d) throw new Error(`${p.path}: no guest description was given for this plane`);
        const g = d.guest;
        built.sources[p.path] = { source: d.source, why: d.why };
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
