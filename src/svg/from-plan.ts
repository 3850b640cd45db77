import type { Host } from '../kernel/host';
import { readTopology } from '../kernel/topology';
import type { Topology } from '../kernel/topology';
import type { DryRun } from '../kms/dry-run';
import { modeLabel } from '../kms/mode';
import type { Layer, Picture } from './picture';

/**
 * What `plan` would show: for each output, the planes the host keeps on that CRTC (they are not
 * touched by the commit) and the guest's. The card is read again on a fresh fd for the host's
 * planes; reading needs no DRM master.
 */
export function planPicture(host: Host, domain: string, r: DryRun): Picture {
  const dev = host.backend.openKms(host.cards()[0]);
  let t: Topology;
  try {
    t = readTopology(dev);
  } finally {
    dev.close();
  }
  return pictureOf(t, domain, r, host.label);
}

export function pictureOf(t: Topology, domain: string, r: DryRun, hostLabel: string): Picture {
  const stack = new Map(t.planes.map((p) => [p.id, p.stack]));
  const screens = r.plan.outputs.map((o) => {
    const ours = new Set(o.planes.map((a) => a.planeId));
    const kept: Layer[] = t.planes
      .filter((p) => p.crtcId === o.crtcId && p.fbId !== 0 && !ours.has(p.id))
      .map((p) => ({ planeId: p.id, planeType: p.type, kind: 'host', owner: 'host', zpos: p.stack, dst: p.dst, label: `plane ${p.id} ${p.type}: host, kept` }));
    const guest: Layer[] = o.planes.map((a) => ({
      planeId: a.planeId, planeType: a.planeType, kind: a.from === 'cursor' ? 'cursor' : 'guest', owner: domain,
      zpos: a.zpos ?? stack.get(a.planeId) ?? 0, dst: a.dst,
      label: `plane ${a.planeId} ${a.planeType} ← ${domain} ${a.from}${r.assumptions[a.key] ? ' (assumed size)' : ''}`,
    }));
    return { connector: o.connector, crtcId: o.crtcId, width: o.mode.hdisplay, height: o.mode.vdisplay, mode: `${modeLabel(o.mode)}${o.modeset ? ' (modeset)' : ''}`, layers: [...kept, ...guest] };
  });
  return { title: `directflip plan: domain ${domain} on ${hostLabel}`, screens, notes: r.plan.verified ? [] : ['unverified: planned without TEST_ONLY (not DRM master)'] };
}
