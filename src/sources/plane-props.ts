import type { Topology } from '../kernel/topology';
import type { AtomicProp } from '../kernel/types';
import { PlaneWriter, planeOffProps, planeProps } from '../kms/plane-props';
import type { PlaneShow } from '../kms/plane-props';
import type { Rect } from '../kms/types';
import type { Frame } from './pipeline';

export type { Rect } from '../kms/types';
export { canReflectY, reflectYRotation } from '../kms/plane-props';

/**
 * A flip's properties, from the one plane builder the activate commit uses too (kms/plane-props),
 * so a flip never undoes what the takeover set. Fresh objects: for one-off commits and tests;
 * a stream's frames come from `PlaneFlips`.
 */
export function showProps(t: Topology, planeId: number, crtcId: number, fb: number, src: Rect, dst: Rect, reflectY = false): AtomicProp[] {
  return planeProps(t, { planeId, crtcId, fbId: fb, src, dst, reflectY });
}

export function offProps(t: Topology, planeId: number): AtomicProp[] {
  return planeOffProps(t, planeId);
}

/** The fbs lists kept made (one `[fb]` each), as the framebuffer values are in PlaneWriter. */
const FB_LISTS = 32;

/**
 * One plane's frames for the pipeline, built by the same PlaneWriter as the takeover's commit but
 * made once and rewritten per frame (design §5: no closures, arrays or objects per frame). The
 * pipeline copies a Frame's fields into its own slot and commits only its newest queued frame per
 * plane, so rewriting the one property array in place is safe: a frame it replaces is never
 * committed, and one already committed is never read again. The `fbs` lists are shared per fb
 * and must not be written into.
 */
export class PlaneFlips {
  private readonly writer: PlaneWriter;
  private readonly show: PlaneShow;
  private readonly frame: Frame;
  private readonly offFrame: Frame;
  private readonly fbLists = new Map<number, number[]>();

  constructor(t: Topology, planeId: number, crtcId: number) {
    this.writer = new PlaneWriter(t, planeId);
    this.show = { planeId, crtcId, fbId: 0, src: { x: 0, y: 0, w: 0, h: 0 }, dst: { x: 0, y: 0, w: 0, h: 0 }, reflectY: false };
    this.frame = { planeId, props: [], fbs: [] };
    this.offFrame = { planeId, props: planeOffProps(t, planeId), fbs: [] };
  }

  /**
   * The frame showing `src` of `fb` at `dst`: the same object each call, to be submitted before
   * the next. The rectangles are read, not kept.
   */
  showing(fb: number, src: Readonly<Rect>, dst: Readonly<Rect>, reflectY = false): Frame {
    const s = this.show;
    s.fbId = fb;
    copy(s.src, src);
    copy(s.dst, dst);
    s.reflectY = reflectY;
    this.frame.props = this.writer.write(s);
    this.frame.fbs = this.fbList(fb);
    return this.frame;
  }

  /** The frame taking the plane off its CRTC. */
  off(): Frame {
    return this.offFrame;
  }

  private fbList(fb: number): number[] {
    let l = this.fbLists.get(fb);
    if (!l) {
      if (this.fbLists.size >= FB_LISTS) this.fbLists.clear();
      this.fbLists.set(fb, (l = [fb]));
    }
    return l;
  }
}

function copy(to: Rect, from: Readonly<Rect>): void {
  to.x = from.x;
  to.y = from.y;
  to.w = from.w;
  to.h = from.h;
}
