import type { ModeSpec } from '../config';
import type { TopoConnector, TopoCrtc } from '../kernel/topology';
import type { ModeInfo } from '../kernel/types';

const PREFERRED = 1 << 3;

export function sameMode(a: ModeInfo | null, b: ModeInfo | null): boolean {
  if (!a || !b) return a === b;
  return a.clock === b.clock && a.hdisplay === b.hdisplay && a.vdisplay === b.vdisplay && a.htotal === b.htotal && a.vtotal === b.vtotal &&
    a.hsyncStart === b.hsyncStart && a.hsyncEnd === b.hsyncEnd && a.vsyncStart === b.vsyncStart && a.vsyncEnd === b.vsyncEnd && a.flags === b.flags;
}

export function modeLabel(m: ModeInfo): string {
  return `${m.hdisplay}x${m.vdisplay}@${m.vrefresh}`;
}

/**
 * `@mode` → a connector mode: exact size, refresh when given (else the one nearest the current
 * refresh, or 60 Hz); `preferred`; or none given: keep the CRTC's current mode when it is active.
 * Returns a reason instead when no mode fits.
 */
export function selectMode(spec: ModeSpec, conn: TopoConnector, crtc: TopoCrtc): ModeInfo | string {
  const preferred = conn.modes.find((m) => m.type & PREFERRED) ?? conn.modes[0];
  if (!conn.modes.length && !(spec.kind === 'current' && crtc.active && crtc.mode)) return `connector ${conn.name} reports no modes (is a monitor plugged in?)`;
  if (spec.kind === 'preferred') return preferred;
  if (spec.kind === 'current') return crtc.active && crtc.mode ? crtc.mode : preferred;
  const sized = conn.modes.filter((m) => m.hdisplay === spec.width && m.vdisplay === spec.height);
  const have = [...new Set(conn.modes.map(modeLabel))].join(', ');
  if (!sized.length) return `connector ${conn.name} has no ${spec.width}x${spec.height} mode (it has ${have})`;
  const target = spec.refresh ?? (crtc.active && crtc.mode ? crtc.mode.vrefresh : 60);
  const best = [...sized].sort((a, b) => Math.abs(a.vrefresh - target) - Math.abs(b.vrefresh - target))[0];
  if (spec.refresh !== null && Math.abs(best.vrefresh - spec.refresh) > 0.5) {
    return `connector ${conn.name} has no ${spec.width}x${spec.height}@${spec.refresh} mode (it has ${have})`;
  }
  return best;
}
