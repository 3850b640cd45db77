import { DRM_FORMAT } from '../kernel/constants';
import { createSurface, freeSurface } from '../kms/surface';
import type { Surface as KmsSurface } from '../kms/surface';
import type { Rect } from './plane-props';
import type { ScanoutTarget } from './scanout-target';

/** pixman's x8r8g8b8 and a8r8g8b8, the formats QEMU's Scanout/Update carry on little-endian hosts. */
export const PIXMAN = { x8r8g8b8: 0x20020888, a8r8g8b8: 0x20028888 } as const;

/** A kms Surface kept mapped for its whole life (every Update writes into one). */
type Surface = KmsSurface & {
  map: Buffer;
  /** Damage the other buffers received since this one was last written. */
  missed: Rect[];
};

/**
 * QEMU's pixel path (consoles without GL): three dumb buffers, so one is always free while one is
 * on screen and one is being flipped to. An Update copies only its rectangle into a free buffer,
 * plus the rectangles that buffer missed since it was last written, and flips.
 */
export class PixelScanout {
  private surfaces: Surface[] = [];
  /** Replaced surfaces still on screen or in flight: freed once the pipeline lets go of them. */
  private old: Surface[] = [];
  /** The surface holding the newest picture. */
  private latest = 0;
  private size = { w: 0, h: 0 };

  constructor(
    private readonly target: ScanoutTarget,
    private readonly log: (msg: string) => void,
  ) {}

  get active(): boolean {
    return this.surfaces.length > 0;
  }

  private checkFormat(f: number): void {
    if (f !== PIXMAN.x8r8g8b8 && f !== PIXMAN.a8r8g8b8) throw new Error(`pixman format 0x${f.toString(16)} is not supported (x8r8g8b8, a8r8g8b8 are)`);
  }

  private allocate(w: number, h: number): void {
    this.release();
    const dev = this.target.dev;
    for (let i = 0; i < 3; i++) {
      const k = createSurface(dev, { width: w, height: h, format: DRM_FORMAT.XRGB8888 });
      this.surfaces.push(Object.assign(k, { map: k.map!, missed: [] }));
    }
    this.size = { w, h };
    this.latest = 0;
  }

  /**
   * A surface neither on screen nor in flight: the newest one when it is free (a queued frame),
   * else the one with the least to catch up on — in steady state two buffers alternate and the
   * third only helps out, so each damaged rectangle is copied about twice, not three times.
   */
  private freeSurface(): number {
    const busy = (s: Surface) => this.target.pipeline.busy(s.fb);
    if (!busy(this.surfaces[this.latest])) return this.latest;
    const area = (s: Surface) => s.missed.reduce((n, r) => n + r.w * r.h, 0);
    let best = -1;
    this.surfaces.forEach((s, i) => {
      if (!busy(s) && (best < 0 || area(s) < area(this.surfaces[best]))) best = i;
    });
    return best;
  }

  /** Writes `r` into a free surface brought up to date, then shows it. */
  private draw(r: Rect, write: (s: Surface) => void): void {
    const i = this.freeSurface();
    const s = this.surfaces[i];
    if (i !== this.latest) for (const m of s.missed) this.copyBetween(this.surfaces[this.latest], s, m);
    s.missed = [];
    write(s);
    this.surfaces.forEach((o, k) => k !== i && o.missed.push(r));
    this.latest = i;
    this.target.show(s.fb, this.size.w, this.size.h);
  }

  private copyIn(s: Surface, r: Rect, stride: number, data: Buffer): void {
    for (let y = 0; y < r.h; y++) data.copy(s.map, (r.y + y) * s.pitch + r.x * 4, y * stride, y * stride + r.w * 4);
    this.target.copied(r.w * r.h * 4);
  }

  private copyBetween(from: Surface, to: Surface, r: Rect): void {
    for (let y = r.y; y < r.y + r.h; y++) from.map.copy(to.map, y * to.pitch + r.x * 4, y * from.pitch + r.x * 4, y * from.pitch + (r.x + r.w) * 4);
    this.target.copied(r.w * r.h * 4);
  }

  scanout([w, h, stride, format, data]: [number, number, number, number, Buffer]): void {
    this.checkFormat(format);
    if (w <= 0 || h <= 0 || stride < w * 4 || data.length < (h - 1) * stride + w * 4) throw new Error(`Scanout ${w}x${h} (stride ${stride}, ${data.length} bytes) is malformed`);
    if (w !== this.size.w || h !== this.size.h || !this.active) this.allocate(w, h);
    const full = { x: 0, y: 0, w, h };
    this.draw(full, (s) => this.copyIn(s, full, stride, data));
    for (const s of this.surfaces) if (s !== this.surfaces[this.latest]) s.missed = [full];
  }

  update([x, y, w, h, stride, format, data]: [number, number, number, number, number, number, Buffer]): void {
    this.checkFormat(format);
    if (!this.active) throw new Error('Update before Scanout');
    if (x < 0 || y < 0 || w <= 0 || h <= 0 || stride < w * 4 || data.length < (h - 1) * stride + w * 4) {
      throw new Error(`Update ${w}x${h}+${x}+${y} (stride ${stride}, ${data.length} bytes) is malformed`);
    }
    if (x + w > this.size.w || y + h > this.size.h) {
      // QEMU 7.2 switches the VGA text surface (720x400) with Updates alone, after a Scanout of the
      // previous size: take the larger surface; the guest repaints it line by line.
      this.log(`Update ${w}x${h}+${x}+${y} beyond the ${this.size.w}x${this.size.h} scanout: growing the surface`);
      this.allocate(Math.max(this.size.w, x + w), Math.max(this.size.h, y + h));
    }
    const r = { x, y, w, h };
    this.draw(r, (s) => this.copyIn(s, r, stride, data));
  }

  /**
   * A w×h picture kept elsewhere (QEMU's shared memfd): `read` writes rectangle `r` of it into a
   * surface's mapping at the surface's pitch, and only `r` is copied; a new size is a full copy.
   */
  drawFrom(w: number, h: number, r: Rect, read: (map: Buffer, pitch: number, r: Rect) => void): void {
    const full = { x: 0, y: 0, w, h };
    const resized = w !== this.size.w || h !== this.size.h || !this.active;
    if (resized) this.allocate(w, h);
    const rect = resized ? full : r;
    this.draw(rect, (s) => {
      read(s.map, s.pitch, rect);
      this.target.copied(rect.w * rect.h * 4);
    });
    if (resized) for (const s of this.surfaces) if (s !== this.surfaces[this.latest]) s.missed = [full];
  }

  /** Gives up the surfaces (a resize, or the dma-buf path took over); each is freed once off screen. */
  release(): void {
    this.old.push(...this.surfaces.splice(0));
    this.size = { w: 0, h: 0 };
    this.reap();
  }

  /** Frees the replaced surfaces the pipeline no longer uses. */
  reap(): void {
    const done = this.old.filter((s) => !this.target.pipeline.inUse(s.fb));
    this.old = this.old.filter((s) => !done.includes(s));
    this.destroy(done);
  }

  /** Frees everything, shown or not: only once the plane shows something else. */
  free(): void {
    this.destroy([...this.surfaces.splice(0), ...this.old.splice(0)]);
    this.size = { w: 0, h: 0 };
  }

  private destroy(list: Surface[]): void {
    for (const s of list) {
      try {
        freeSurface(this.target.dev, s);
      } catch {
        // the fd may be gone at shutdown; the kernel frees them then
      }
    }
  }
}
