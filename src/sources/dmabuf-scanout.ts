import { DRM_MODE_FB_MODIFIERS } from '../kernel/constants';
import { canReflectY } from './plane-props';
import type { ScanoutTarget } from './scanout-target';

interface Imported {
  fb: number;
  handle: number;
  width: number;
  height: number;
  reflectY: boolean;
}

/** How many recent buffers keep their framebuffer: a guest's swapchain, without growth. */
const KEEP = 4;

/**
 * QEMU's dma-buf path: every ScanoutDMABUF brings an fd for the guest's buffer. It is imported
 * with PRIME (the same buffer gives the same GEM handle, so the handle is its identity), wrapped
 * in a framebuffer once and flipped; UpdateDMABUF flips the current one again. No pixel is
 * copied. Framebuffers of buffers the guest stopped using are freed once off screen.
 */
export class DmabufScanout {
  private readonly cache = new Map<string, Imported>();
  /** Keys, most recently scanned out last. */
  private recent: string[] = [];
  private current: Imported | null = null;

  /** The caller keeps the fds it passes in and closes them; the GEM handle holds the buffer. */
  constructor(private readonly target: ScanoutTarget) {}

  get active(): boolean {
    return this.current !== null;
  }

  get cachedFbs(): number {
    return this.cache.size;
  }

  /** `y0Top`: QEMU's GL displays flip the picture unless it is set; on a plane that means reflect-y. */
  scanout(fd: number, width: number, height: number, stride: number, fourcc: number, modifier: bigint, y0Top: boolean): void {
    if (y0Top && !canReflectY(this.target.t, this.target.planeId)) {
      throw new Error(`the guest's buffer is bottom-up (y0_top) and plane ${this.target.planeId} cannot reflect-y: it cannot be shown without a copy`);
    }
    const handle = this.target.dev.primeFdToHandle(fd);
    const key = `${handle}:${width}x${height}:${stride}:${fourcc}:${modifier}`;
    let c = this.cache.get(key);
    if (!c) {
      try {
        const fb = this.target.dev.addFb2({ width, height, pixelFormat: fourcc, flags: DRM_MODE_FB_MODIFIERS, handles: [handle], pitches: [stride], offsets: [0], modifiers: [modifier] });
        c = { fb, handle, width, height, reflectY: y0Top };
      } catch (e) {
        if (!this.handleInUse(handle)) this.target.dev.gemClose(handle);
        throw e;
      }
      this.cache.set(key, c);
    }
    // Which way up is a property of this scanout, not of the buffer: QEMU may send the same
    // buffer top-down first and bottom-up later, and the cached fb must not keep the old way.
    c.reflectY = y0Top;
    this.recent = [...this.recent.filter((k) => k !== key), key];
    this.current = c;
    this.target.show(c.fb, c.width, c.height, c.reflectY);
  }

  /**
   * The guest drew into the current buffer. The display scans that very buffer, so a commit is
   * needed only when it is idle on screen (some drivers refresh only on a flip); while a flip
   * to it is in flight or queued, that flip already shows the new pixels.
   */
  update([x, y, w, h]: [number, number, number, number]): void {
    if (!this.current) throw new Error('UpdateDMABUF before ScanoutDMABUF');
    if (w <= 0 || h <= 0 || x < 0 || y < 0 || x + w > this.current.width || y + h > this.current.height) {
      throw new Error(`UpdateDMABUF ${w}x${h}+${x}+${y} is outside the ${this.current.width}x${this.current.height} scanout`);
    }
    if (this.target.pipeline.pending(this.current.fb)) return;
    this.target.show(this.current.fb, this.current.width, this.current.height, this.current.reflectY);
  }

  /** Called when the pipeline retires fbs: frees the buffers the guest stopped using. */
  retire(): void {
    const keep = new Set(this.recent.slice(-KEEP));
    for (const [key, c] of [...this.cache]) {
      if (keep.has(key) || c === this.current || this.target.pipeline.inUse(c.fb)) continue;
      this.drop(key, c);
    }
    this.recent = this.recent.filter((k) => this.cache.has(k));
  }

  /** The pixel path took over: every buffer is freed once off screen. */
  release(): void {
    this.recent = [];
    this.current = null;
    this.retire();
  }

  private handleInUse(handle: number): boolean {
    return [...this.cache.values()].some((c) => c.handle === handle);
  }

  private drop(key: string, c: Imported): void {
    this.cache.delete(key);
    this.target.dev.rmFb(c.fb);
    if (!this.handleInUse(c.handle)) this.target.dev.gemClose(c.handle);
  }

  /** Frees everything (the plane went to the pixel path, or the end). */
  free(): void {
    for (const [key, c] of [...this.cache]) {
      try {
        this.drop(key, c);
      } catch {
        // the fd may be gone at shutdown; the kernel frees them then
      }
    }
    this.recent = [];
    this.current = null;
  }
}
