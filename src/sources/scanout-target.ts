import type { Topology } from '../kernel/topology';
import type { KmsDevice } from '../kernel/types';
import type { PlaneAssignment } from '../kms/types';
import type { FramePipeline } from './pipeline';
import type { Rect } from './plane-props';
import { offProps, showProps } from './plane-props';

/**
 * Where one guest plane goes: the planned hardware plane on a CRTC, fed through that CRTC's
 * frame pipeline. `guest` geometry shows the picture 1:1 at the planned position (for planes
 * that cannot scale); `planned` stretches it over the planned rectangle.
 */
export class ScanoutTarget {
  constructor(
    readonly dev: KmsDevice,
    readonly t: Topology,
    readonly plane: PlaneAssignment,
    readonly crtcId: number,
    readonly pipeline: FramePipeline,
    readonly geometry: 'planned' | 'guest' = 'planned',
  ) {}

  get planeId(): number {
    return this.plane.planeId;
  }

  /** Shows `fb` (a w×h picture at `at` in it) on the plane with the next commit. */
  show(fb: number, w: number, h: number, reflectY = false, at: { x: number; y: number } = { x: 0, y: 0 }): void {
    const d: Rect = this.geometry === 'guest' ? { ...this.plane.dst, w, h } : this.plane.dst;
    this.pipeline.submit({ planeId: this.planeId, fbs: [fb], props: showProps(this.t, this.planeId, this.crtcId, fb, { x: at.x, y: at.y, w, h }, d, reflectY) });
  }

  /** Puts an fb at an exact CRTC rectangle (cursors follow the pointer, unscaled). */
  place(fb: number, src: Rect, dst: Rect): void {
    this.pipeline.submit({ planeId: this.planeId, fbs: [fb], props: showProps(this.t, this.planeId, this.crtcId, fb, src, dst) });
  }

  off(): void {
    // A plane that is off and has nothing on its way joins no CRTC: a commit of it alone would
    // carry no CRTC for its flip event (the kernel refuses that, EINVAL), and changes nothing.
    if (!this.pipeline.hasFrame(this.planeId) && this.dev.getPlane(this.planeId).crtcId === 0) return;
    this.pipeline.submit({ planeId: this.planeId, fbs: [], props: offProps(this.t, this.planeId) });
  }

  copied(bytes: number): void {
    this.pipeline.plane(this.planeId).bytesCopied += bytes;
  }
}
