import { DRM_FORMAT_MOD, DRM_MODE_FB_MODIFIERS, modifierName } from '../kernel/constants';
import { formatLabel } from '../kernel/topology';
import type { TopoPlane } from '../kernel/topology';
import type { DmabufLayout } from './dmabuf-layout';
import { addFb2Planes, printableFourcc } from './dmabuf-layout';
import { canReflectY } from './plane-props';
import type { Rect } from './plane-props';
import type { ScanoutTarget } from './scanout-target';

interface Imported {
  fb: number;
  /** Every distinct GEM handle its planes use (two planes in one buffer share one). */
  handles: number[];
  width: number;
  height: number;
  /** The part of the buffer the console shows. */
  src: Rect;
  reflectY: boolean;
  key: string;
  /** A one-plane buffer's identity, to find it again without building its key (design §5). */
  single: { handle: number; offset: number; pitch: number; fourcc: number; modifier: bigint; width: number; height: number } | null;
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
  private readonly recent: string[] = [];
  private current: Imported | null = null;

  /** The host plane the console is on, for its format list (IN_FORMATS). */
  private readonly plane: TopoPlane | undefined;

  /** The caller keeps the fds it passes in and closes them; the GEM handle holds the buffer. */
  constructor(private readonly target: ScanoutTarget) {
    this.plane = target.t.planes.find((p) => p.id === target.planeId);
  }

  get active(): boolean {
    return this.current !== null;
  }

  get cachedFbs(): number {
    return this.cache.size;
  }

  /**
   * `y0Top`: QEMU's GL displays flip the picture unless it is set; on a plane that means reflect-y.
   * Every plane of the layout goes to ADDFB2 with its own handle, offset and pitch; the modifier
   * only when the producer named one (DRM_FORMAT_MOD_INVALID means none).
   */
  scanout(l: DmabufLayout): void {
    if (l.y0Top && !canReflectY(this.target.t, this.target.planeId)) {
      throw new Error(`the guest's buffer is bottom-up (y0_top) and plane ${this.target.planeId} cannot reflect-y: it cannot be shown without a copy`);
    }
    this.checkFormat(l.fourcc, l.modifier);
    // The swapchain's steady state: a one-plane buffer already wrapped in an fb is found again
    // by its handle (PRIME gives the same one) and flipped, allocating nothing per frame.
    const cached = l.planes.length === 1 ? this.findSingle(this.target.dev.primeFdToHandle(l.planes[0].fd), l) : undefined;
    if (cached) return this.showCached(cached, l);
    const byFd = new Map<number, number>();
    const imported: number[] = [];
    const handleOf = (fd: number) => {
      let h = byFd.get(fd);
      if (h === undefined) {
        h = this.target.dev.primeFdToHandle(fd);
        byFd.set(fd, h);
        imported.push(h);
      }
      return h;
    };
    let key = '';
    let c: Imported | undefined;
    try {
      const p = addFb2Planes(l, handleOf);
      key = `${p.handles.join(',')}:${l.width}x${l.height}:${p.offsets.join(',')}:${p.pitches.join(',')}:${l.fourcc}:${l.modifier}`;
      c = this.cache.get(key);
      if (!c) {
        const fb = this.target.dev.addFb2({
          width: l.width, height: l.height, pixelFormat: l.fourcc, flags: p.withModifiers ? DRM_MODE_FB_MODIFIERS : 0, handles: p.handles, pitches: p.pitches, offsets: p.offsets, modifiers: p.modifiers,
        });
        const single = l.planes.length === 1 ? { handle: p.handles[0], offset: p.offsets[0], pitch: p.pitches[0], fourcc: l.fourcc, modifier: l.modifier, width: l.width, height: l.height } : null;
        c = { fb, handles: [...new Set(p.handles)], width: l.src.w, height: l.src.h, src: l.src, reflectY: l.y0Top, key, single };
        this.cache.set(key, c);
      }
    } catch (e) {
      for (const h of imported) if (!this.handleInUse(h)) this.target.dev.gemClose(h);
      throw e;
    }
    this.showCached(c, l);
  }

  /**
   * ADDFB2 takes any format some plane of the card lists, and on some kernels only the flip then
   * fails: the guest's buffer is checked against its own plane's list first, so the refusal
   * names the plane, the format and what it takes. No modifier named: any the plane lists.
   */
  private checkFormat(fourcc: number, modifier: bigint): void {
    if (!this.plane) return; // a plane the topology lacks is refused by the kernel at the flip
    const mods = this.plane.modifiers.get(fourcc);
    if (mods && (modifier === DRM_FORMAT_MOD.INVALID || mods.includes(modifier))) return;
    const label = formatLabel(fourcc);
    const name = /^[\x21-\x7e][\x20-\x7e]*$/.test(label) ? label : `0x${fourcc.toString(16)} (${printableFourcc(fourcc)})`;
    const what = modifier === DRM_FORMAT_MOD.INVALID ? name : `${name} with modifier ${modifierName(modifier)}`;
    const takes = mods ? `${name} only as ${mods.map(modifierName).join(', ')}` : [...this.plane.modifiers.keys()].map(formatLabel).join(' ');
    throw new Error(
      `plane ${this.plane.id} cannot show the guest's ${what} buffer: it takes ${takes}; put this console on a plane that lists it (directflip probe shows each plane's formats), or have the guest use one of those`,
    );
  }

  private findSingle(handle: number, l: DmabufLayout): Imported | undefined {
    const p = l.planes[0];
    for (const c of this.cache.values()) {
      const s = c.single;
      if (s && s.handle === handle && s.offset === p.offset && s.pitch === p.pitch && s.fourcc === l.fourcc && s.modifier === l.modifier && s.width === l.width && s.height === l.height) return c;
    }
    return undefined;
  }

  private showCached(c: Imported, l: DmabufLayout): void {
    // Which way up is a property of this scanout, not of the buffer: QEMU may send the same
    // buffer top-down first and bottom-up later, and the cached fb must not keep the old way.
    c.reflectY = l.y0Top;
    c.src = l.src;
    // Most recent last, moved in place.
    const r = this.recent;
    let i = r.indexOf(c.key);
    if (i < 0) i = r.push(c.key) - 1;
    for (; i < r.length - 1; i++) r[i] = r[i + 1];
    r[r.length - 1] = c.key;
    this.current = c;
    this.show(c);
  }

  private show(c: Imported): void {
    this.target.show(c.fb, c.width, c.height, c.reflectY, c.src);
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
    this.show(this.current);
  }

  /** Called when the pipeline retires fbs: frees the buffers the guest stopped using. */
  retire(): void {
    const r = this.recent;
    // A Map may lose entries while it is iterated: each is visited at most once.
    for (const c of this.cache.values()) {
      const at = r.lastIndexOf(c.key);
      if ((at >= 0 && at >= r.length - KEEP) || c === this.current || this.target.pipeline.inUse(c.fb)) continue;
      this.drop(c.key, c);
    }
    let n = 0;
    for (const k of r) if (this.cache.has(k)) r[n++] = k;
    r.length = n;
  }

  /** The pixel path took over: every buffer is freed once off screen. */
  release(): void {
    this.recent.length = 0;
    this.current = null;
    this.retire();
  }

  private handleInUse(handle: number): boolean {
    for (const c of this.cache.values()) if (c.handles.includes(handle)) return true;
    return false;
  }

  private drop(key: string, c: Imported): void {
    this.cache.delete(key);
    this.target.dev.rmFb(c.fb);
    for (const h of c.handles) if (!this.handleInUse(h)) this.target.dev.gemClose(h);
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
    this.recent.length = 0;
    this.current = null;
  }
}
