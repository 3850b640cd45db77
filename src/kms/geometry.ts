import type { ModeInfo } from '../kernel/types';
import type { PlaneRequest, Rect } from './types';

/**
 * Where a guest plane goes on the CRTC. Explicit @x/@y/@width/@height win. A primary otherwise
 * fills the CRTC: 1:1 when the sizes match, else scaled with its aspect kept and centred (which
 * only a plane that can scale accepts — TEST_ONLY decides). A cursor sits at @x/@y (0,0 until the
 * guest moves it) at its own size.
 */
export function destination(r: PlaneRequest, mode: ModeInfo): Rect {
  const g = r.guest;
  if (r.from === 'cursor') return { x: r.x ?? 0, y: r.y ?? 0, w: r.width ?? g.width, h: r.height ?? g.height };
  if (r.x !== null || r.y !== null || r.width !== null || r.height !== null) {
    return { x: r.x ?? 0, y: r.y ?? 0, w: r.width ?? g.width, h: r.height ?? g.height };
  }
  if (g.width === mode.hdisplay && g.height === mode.vdisplay) return { x: 0, y: 0, w: g.width, h: g.height };
  const scale = Math.min(mode.hdisplay / g.width, mode.vdisplay / g.height);
  const w = Math.round(g.width * scale);
  const h = Math.round(g.height * scale);
  return { x: Math.floor((mode.hdisplay - w) / 2), y: Math.floor((mode.vdisplay - h) / 2), w, h };
}

export function source(r: PlaneRequest): Rect {
  return { x: 0, y: 0, w: r.guest.width, h: r.guest.height };
}

export function scales(src: Rect, dst: Rect): boolean {
  return src.w !== dst.w || src.h !== dst.h;
}
