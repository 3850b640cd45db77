import { DRM_CAP, DRM_FORMAT } from '../kernel/constants';
import { createSurface, freeSurface } from '../kms/surface';
import type { Surface } from '../kms/surface';
import type { Rect } from './plane-props';
import type { ScanoutTarget } from './scanout-target';

/** A kms Surface kept mapped for its whole life (every CursorDefine writes into one). */
type CursorBuffer = Surface & { map: Buffer };

/**
 * QEMU's pointer (CursorDefine, MouseSet) on a hardware cursor plane: two ARGB8888 buffers of
 * the size the card asks cursors to be, one written while the other is shown. Positions are
 * the guest's, mapped through where the guest's picture sits on the CRTC.
 */
export class CursorScanout {
  private readonly size: { w: number; h: number };
  private bufs: CursorBuffer[] = [];
  private shown = -1;
  private hot = { x: 0, y: 0 };
  private pos = { x: 0, y: 0, on: false };

  constructor(
    private readonly target: ScanoutTarget,
    /** The guest picture's size and where it is on the CRTC, for mapping pointer positions. */
    private readonly picture: () => { w: number; h: number; dst: Rect } | null,
  ) {
    const dev = target.dev;
    this.size = { w: Number(dev.getCap(DRM_CAP.CURSOR_WIDTH)) || 64, h: Number(dev.getCap(DRM_CAP.CURSOR_HEIGHT)) || 64 };
  }

  private buffers(): CursorBuffer[] {
    if (this.bufs.length) return this.bufs;
    const dev = this.target.dev;
    const { w, h } = this.size;
    for (let i = 0; i < 2; i++) {
      const k = createSurface(dev, { width: w, height: h, format: DRM_FORMAT.ARGB8888 });
      this.bufs.push(Object.assign(k, { map: k.map! }));
    }
    return this.bufs;
  }

  define([w, h, hotX, hotY, data]: [number, number, number, number, Buffer]): void {
    if (w <= 0 || h <= 0 || data.length < w * h * 4) throw new Error(`CursorDefine ${w}x${h} with ${data.length} bytes is malformed`);
    if (w > this.size.w || h > this.size.h) throw new Error(`cursor ${w}x${h} is larger than the cursor plane's ${this.size.w}x${this.size.h}`);
    const bufs = this.buffers();
    const i = bufs.findIndex((b, k) => k !== this.shown && !this.target.pipeline.busy(b.fb));
    const b = bufs[i < 0 ? (this.shown + 1) % bufs.length : i];
    b.map.fill(0);
    for (let y = 0; y < h; y++) data.copy(b.map, y * b.pitch, y * w * 4, (y + 1) * w * 4);
    this.target.copied(w * h * 4);
    this.shown = bufs.indexOf(b);
    this.hot = { x: hotX, y: hotY };
    this.apply();
  }

  mouse([x, y, on]: [number, number, number]): void {
    this.pos = { x, y, on: on !== 0 };
    this.apply();
  }

  private apply(): void {
    const pic = this.picture();
    if (!this.pos.on || this.shown < 0 || !pic) return this.target.off();
    const sx = pic.dst.w / pic.w;
    const sy = pic.dst.h / pic.h;
    const dst = { x: Math.round(pic.dst.x + this.pos.x * sx) - this.hot.x, y: Math.round(pic.dst.y + this.pos.y * sy) - this.hot.y, ...this.size };
    this.target.place(this.bufs[this.shown].fb, { x: 0, y: 0, ...this.size }, dst);
  }

  free(): void {
    for (const b of this.bufs.splice(0)) {
      try {
        freeSurface(this.target.dev, b);
      } catch {
        // the fd may be gone at shutdown; the kernel frees them then
      }
    }
    this.shown = -1;
  }
}
