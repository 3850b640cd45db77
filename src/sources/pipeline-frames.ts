import type { AtomicProp } from '../kernel/types';
import type { Frame } from './pipeline';

// Lookups over the pipeline's per-plane frame maps, without the arrays a spread or a flatMap
// would make per frame (design §5: no GC stalls on the frame path).

/** Whether a frame in any of these per-plane maps shows `fb`. */
export function shows(fb: number, a: Map<number, Frame>, b: Map<number, Frame>, c?: Map<number, Frame>): boolean {
  for (const f of a.values()) if (f.fbs.includes(fb)) return true;
  for (const f of b.values()) if (f.fbs.includes(fb)) return true;
  if (c) for (const f of c.values()) if (f.fbs.includes(fb)) return true;
  return false;
}

export function showsOther(fb: number, frame: Frame, m: Map<number, Frame>): boolean {
  for (const f of m.values()) if (f !== frame && f.fbs.includes(fb)) return true;
  return false;
}

/**
 * The one commit's properties: a lone frame's own array, as is the common case, else `into`
 * refilled with every frame's (the caller's one array, used by the commit at once).
 */
export function propsOf(frames: Map<number, Frame>, into: AtomicProp[]): AtomicProp[] {
  if (frames.size === 1) for (const f of frames.values()) return f.props;
  into.length = 0;
  for (const f of frames.values()) for (const p of f.props) into.push(p);
  return into;
}
