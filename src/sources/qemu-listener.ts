import { DRM_FORMAT, DRM_MODE_FB_MODIFIERS } from '../kernel/constants';
import type { Topology } from '../kernel/topology';
import type { AtomicProp, KmsDevice } from '../kernel/types';
import type { PlaneAssignment } from '../kms/types';
import type { PeerLink, PeerMessage } from './dbus-peer';
import type { FramePipeline } from './pipeline';

/** pixman's x8r8g8b8 and a8r8g8b8, the formats QEMU's Scanout/Update carry on little-endian hosts. */
export const PIXMAN = { x8r8g8b8: 0x20020888, a8r8g8b8: 0x20028888 } as const;

interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

interface Surface {
  fb: number;
  handle: number;
  pitch: number;
  map: Buffer;
  /** Damage the other buffer received since this one was last shown. */
  missed: Rect[];
}

/**
 * org.qemu.Display1.Listener for QEMU's pixel path (consoles without GL). Three dumb buffers, so
 * one is always free while one is on screen and one is being flipped to; an Update copies only
 * its rectangle into a free buffer, plus the rectangles that buffer missed since it was last
 * written, and flips through the frame pipeline.
 */
export class DisplayListener {
  private surfaces: Surface[] = [];
  /** The surface holding the newest picture. */
  private latest = 0;
  private size = { w: 0, h: 0 };

  constructor(
    private readonly link: PeerLink,
    private readonly dev: KmsDevice,
    private readonly t: Topology,
    private readonly plane: PlaneAssignment,
    private readonly crtcId: number,
    private readonly pipeline: FramePipeline,
    private readonly log: (msg: string) => void = () => undefined,
    /** `guest`: show the scanout 1:1 at the planned position (planes that cannot scale). */
    private readonly geometry: 'planned' | 'guest' = 'planned',
  ) {
    link.on('message', (m: PeerMessage) => this.onMessage(m));
  }

  private onMessage(m: PeerMessage): void {
    try {
      if (m.interface === 'org.freedesktop.DBus.Properties' && m.member === 'GetAll') return this.link.reply(m, 'a{sv}', [{}]);
      switch (m.member) {
        case 'Scanout':
          this.scanout(m.body as [number, number, number, number, Buffer]);
          break;
        case 'Update':
          this.update(m.body as [number, number, number, number, number, number, Buffer]);
          break;
        case 'Disable':
          this.disable();
          break;
        default:
          // ScanoutDMABUF and the cursor calls are answered by the GL path, not this one.
          for (const fd of m.fds) this.closeQuietly(fd);
          return this.link.replyError(m, 'org.freedesktop.DBus.Error.NotSupported', `${m.member} is not handled by the pixel listener`);
      }
      this.link.reply(m);
    } catch (e) {
      this.log(`${m.member}: ${(e as Error).message}`);
      this.link.replyError(m, 'org.freedesktop.DBus.Error.Failed', (e as Error).message);
    }
  }

  private closeQuietly(fd: number): void {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('node:fs').closeSync(fd);
    } catch {
      // already closed
    }
  }

  private checkFormat(f: number): void {
    if (f !== PIXMAN.x8r8g8b8 && f !== PIXMAN.a8r8g8b8) throw new Error(`pixman format 0x${f.toString(16)} is not supported (x8r8g8b8, a8r8g8b8 are)`);
  }

  private allocate(w: number, h: number): void {
    this.freeSurfaces();
    for (let i = 0; i < 3; i++) {
      const d = this.dev.createDumb(w, h, 32);
      const fb = this.dev.addFb2({ width: w, height: h, pixelFormat: DRM_FORMAT.XRGB8888, flags: DRM_MODE_FB_MODIFIERS, handles: [d.handle], pitches: [d.pitch], offsets: [0], modifiers: [0n] });
      this.surfaces.push({ fb, handle: d.handle, pitch: d.pitch, map: this.dev.mmap(this.dev.mapDumb(d.handle), d.size), missed: [] });
    }
    this.size = { w, h };
    this.latest = 0;
  }

  /** A surface neither on screen nor in flight; the newest one when it is free (a queued frame). */
  private free(): number {
    if (!this.pipeline.busy(this.surfaces[this.latest].fb)) return this.latest;
    return this.surfaces.findIndex((s) => !this.pipeline.busy(s.fb));
  }

  /** Writes `r` into a free surface brought up to date, then shows it. */
  private draw(r: Rect, write: (s: Surface) => void): void {
    const i = this.free();
    const s = this.surfaces[i];
    if (i !== this.latest) for (const m of s.missed) this.copyBetween(this.surfaces[this.latest], s, m);
    s.missed = [];
    write(s);
    this.surfaces.forEach((o, k) => k !== i && o.missed.push(r));
    this.latest = i;
    this.pipeline.submit({ planeId: this.plane.planeId, fbs: [s.fb], props: this.props(s.fb, true) });
  }

  private copyIn(s: Surface, r: Rect, stride: number, data: Buffer): void {
    for (let y = 0; y < r.h; y++) {
      data.copy(s.map, (r.y + y) * s.pitch + r.x * 4, y * stride, y * stride + r.w * 4);
    }
    this.pipeline.plane(this.plane.planeId).bytesCopied += r.w * r.h * 4;
  }

  private copyBetween(from: Surface, to: Surface, r: Rect): void {
    for (let y = r.y; y < r.y + r.h; y++) from.map.copy(to.map, y * to.pitch + r.x * 4, y * from.pitch + r.x * 4, y * from.pitch + (r.x + r.w) * 4);
    this.pipeline.plane(this.plane.planeId).bytesCopied += r.w * r.h * 4;
  }

  private scanout([w, h, stride, format, data]: [number, number, number, number, Buffer]): void {
    this.checkFormat(format);
    if (w !== this.size.w || h !== this.size.h) this.allocate(w, h);
    const full = { x: 0, y: 0, w, h };
    this.draw(full, (s) => this.copyIn(s, full, stride, data));
    for (const s of this.surfaces) if (s !== this.surfaces[this.latest]) s.missed = [full];
  }

  private update([x, y, w, h, stride, format, data]: [number, number, number, number, number, number, Buffer]): void {
    this.checkFormat(format);
    if (!this.surfaces.length) throw new Error('Update before Scanout');
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

  private props(fb: number, on: boolean): AtomicProp[] {
    const p = this.t.planes.find((x) => x.id === this.plane.planeId)!;
    const v = (n: string, value: number) => ({ objectId: p.id, propId: p.props[n].id, value: BigInt.asUintN(64, BigInt(value)) });
    const d = this.geometry === 'guest' ? { ...this.plane.dst, w: this.size.w, h: this.size.h } : this.plane.dst;
    if (!on) return [v('FB_ID', 0), v('CRTC_ID', 0)];
    return [v('FB_ID', fb), v('CRTC_ID', this.crtcId), v('SRC_X', 0), v('SRC_Y', 0), v('SRC_W', this.size.w * 65536), v('SRC_H', this.size.h * 65536), v('CRTC_X', d.x), v('CRTC_Y', d.y), v('CRTC_W', d.w), v('CRTC_H', d.h)];
  }

  private disable(): void {
    this.pipeline.submit({ planeId: this.plane.planeId, fbs: [], props: this.props(0, false) });
  }

  private freeSurfaces(): void {
    for (const s of this.surfaces.splice(0)) {
      try {
        this.dev.rmFb(s.fb);
        this.dev.destroyDumb(s.handle);
      } catch {
        // the fd may be gone at shutdown; the kernel frees them then
      }
    }
  }

  close(): void {
    this.freeSurfaces();
    this.link.close();
  }
}
