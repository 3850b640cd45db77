import type { Topology } from '../kernel/topology';
import type { KmsDevice } from '../kernel/types';
import type { PlaneAssignment } from '../kms/types';
import type { FramePipeline } from './pipeline';
import type { Rect } from './plane-props';
import { PlaneFlips } from './plane-props';

/**
 * Where one guest plane goes: the planned hardware plane on a CRTC, fed through that CRTC's
 * frame pipeline. `guest` geometry shows the picture 1:1 at the planned position (for planes
 * that cannot scale); `planned` stretches it over the planned rectangle.
 */
export class ScanoutTarget {
  // Design §5: a frame's properties, rectangles and Frame are made once per target, not per frame.
  private readonly flips: PlaneFlips;
  private readonly src: Rect = { x: 0, y: 0, w: 0, h: 0 };
  private readonly guestDst: Rect = { x: 0, y: 0, w: 0, h: 0 };

  constructor(
    readonly dev: KmsDevice,
    readonly t: Topology,
    readonly plane: PlaneAssignment,
    readonly crtcId: number,
    readonly pipeline: FramePipeline,
    readonly geometry: 'planned' | 'guest' = 'planned',
  ) {
    this.flips = new PlaneFlips(t, plane.planeId, crtcId);
  }

  get planeId(): number {
    return this.plane.planeId;
  }

  /** Shows `fb` (a w×h picture at `at` in it) on the plane with the next commit. */
  show(fb: number, w: number, h: number, reflectY = false, at?: { x: number; y: number }): void {
    const s = this.src;
    s.x = at ? at.x : 0;
    s.y = at ? at.y : 0;
    s.w = w;
    s.h = h;
    let d = this.plane.dst;
    if (this.geometry === 'guest') {
      const g = this.guestDst;
      g.x = d.x;
      g.y = d.y;
      g.w = w;
      g.h = h;
      d = g;
    }
    this.pipeline.submit(this.flips.showing(fb, s, d, reflectY));
  }

  /** Puts an fb at an exact CRTC rectangle (cursors follow the pointer, unscaled). */
  place(fb: number, src: Rect, dst: Rect): void {
    this.pipeline.submit(this.flips.showing(fb, src, dst));
  }

  off(): void {
    // A plane that is off and has nothing on its way joins no CRTC: a commit of it alone would
    // carry no CRTC for its flip event (the kernel refuses that, EINVAL), and changes nothing.
    if (!this.pipeline.hasFrame(this.planeId) && this.dev.getPlane(this.planeId).crtcId === 0) return;
    this.pipeline.submit(this.flips.off());
  }

  copied(bytes: number): void {
    this.pipeline.plane(this.planeId).bytesCopied += bytes;
  }
}
