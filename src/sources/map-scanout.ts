import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { DRM_FORMAT, DRM_FORMAT_MOD } from '../kernel/constants';
import { F_SEAL_SHRINK, F_SEAL_WRITE, memfdSeals } from '../kernel/native-socket';
import type { UdmabufDevice } from '../kernel/types';
import type { DmabufScanout } from './dmabuf-scanout';
import type { PixelScanout } from './pixel-scanout';
import { PIXMAN } from './pixel-scanout';
import type { Rect } from './plane-props';

const PAGE = 4096;

export type MapPath = 'map via udmabuf' | 'map copying';

/** What the map path needs of /dev/udmabuf: opened on the first ScanoutMap, once. */
export type UdmabufOpener = () => UdmabufDevice;

interface Shared {
  w: number;
  h: number;
  /** Our own fd of QEMU's memfd (the message's is closed with it), for the copying path. */
  fd: number | null;
  offset: number;
  stride: number;
}

/**
 * Listener.Unix.Map (QEMU >= 9.2): ScanoutMap hands over the console's surface as a memfd once,
 * UpdateMap names the damage. Where /dev/udmabuf takes the memfd (sealed against shrinking, not
 * against writing, the picture in whole pages) it becomes a dma-buf that is PRIME-imported and
 * scanned out in place: no byte is copied, and an UpdateMap only re-commits an idle plane.
 * Elsewhere the damage is copied from the memfd into the pixel path's dumb buffers, with pread:
 * a memfd QEMU could shrink under a mapping would kill the daemon with SIGBUS, a short read only
 * fails the update.
 *
 * QEMU 10.0's surfaces (qemu_pixman_image_new_shareable → qemu_memfd_alloc with no seals) carry
 * only F_SEAL_SEAL, so they are copied; `why` says so in status.
 */
export class MapScanout {
  private shared: Shared | null = null;
  private device: UdmabufDevice | null = null;
  private noDevice: string | null = null;
  path: MapPath = 'map copying';
  /** Why the picture is copied rather than scanned out in place. */
  why = '';

  constructor(
    private readonly dmabuf: DmabufScanout,
    private readonly pixels: PixelScanout,
    private readonly openUdmabuf: UdmabufOpener | null,
  ) {}

  get active(): boolean {
    return this.shared !== null;
  }

  scanout([fd, offset, w, h, stride, format]: [number, number, number, number, number, number]): void {
    if (format !== PIXMAN.x8r8g8b8 && format !== PIXMAN.a8r8g8b8) throw new Error(`ScanoutMap pixman format 0x${format.toString(16)} is not supported (x8r8g8b8, a8r8g8b8 are)`);
    if (!w || !h || stride < w * 4) throw new Error(`ScanoutMap ${w}x${h} with stride ${stride} is malformed`);
    const size = fstatSync(fd).size;
    if (offset + stride * (h - 1) + w * 4 > size) throw new Error(`ScanoutMap ${w}x${h} (stride ${stride}) at offset ${offset} does not fit the ${size}-byte memfd`);
    this.release();
    const zeroCopy = this.inPlace(fd, offset, w, h, stride, size);
    if (zeroCopy === true) {
      this.pixels.release();
      this.shared = { w, h, fd: null, offset, stride };
      this.path = 'map via udmabuf';
      this.why = '';
      return;
    }
    this.dmabuf.release();
    this.why = zeroCopy;
    this.path = 'map copying';
    const own = openSync(`/proc/self/fd/${fd}`, 'r');
    this.shared = { w, h, fd: own, offset, stride };
    this.pixels.drawFrom(w, h, { x: 0, y: 0, w, h }, (map, pitch, r) => this.copy(map, pitch, r));
  }

  update([x, y, w, h]: [number, number, number, number]): void {
    const s = this.shared;
    if (!s) throw new Error('UpdateMap before ScanoutMap');
    if (w <= 0 || h <= 0 || x < 0 || y < 0 || x + w > s.w || y + h > s.h) throw new Error(`UpdateMap ${w}x${h}+${x}+${y} is outside the ${s.w}x${s.h} scanout`);
    if (s.fd === null) return this.dmabuf.update([x, y, w, h]);
    this.pixels.drawFrom(s.w, s.h, { x, y, w, h }, (map, pitch, r) => this.copy(map, pitch, r));
  }

  /** Rectangle `r` of the shared picture, straight from the memfd into a surface's mapping. */
  private copy(map: Buffer, pitch: number, r: Rect): void {
    const s = this.shared!;
    const rows = r.w === s.w && pitch === s.stride && s.w * 4 === s.stride ? [[r.y, r.h]] : Array.from({ length: r.h }, (_, i) => [r.y + i, 1]);
    for (const [row, n] of rows) {
      const len = n === 1 ? r.w * 4 : n * s.stride;
      const got = readSync(s.fd!, map, row * pitch + r.x * 4, len, s.offset + row * s.stride + r.x * 4);
      if (got !== len) throw new Error(`the shared memfd ended at row ${row} of the ${s.w}x${s.h} picture: QEMU shrank it`);
    }
  }

  /**
   * true once the memfd is on the plane through udmabuf; otherwise why it cannot be. The range
   * starts at the page holding `offset` (the rest is the fb's offset) and ends on a whole page,
   * which must lie inside the file: QEMU sizes its memfd to the picture, not to pages.
   */
  private inPlace(fd: number, offset: number, w: number, h: number, stride: number, size: number): true | string {
    const dev = this.udmabuf();
    if (!dev) return this.noDevice!;
    let seals: number;
    try {
      seals = memfdSeals(fd);
    } catch (e) {
      return `the shared surface is not a memfd (${(e as { code?: string }).code ?? 'F_GET_SEALS failed'})`;
    }
    if (!(seals & F_SEAL_SHRINK)) return 'the memfd is not sealed against shrinking (F_SEAL_SHRINK), which udmabuf requires';
    if (seals & F_SEAL_WRITE) return 'the memfd is sealed against writing (F_SEAL_WRITE), which udmabuf refuses';
    const start = offset - (offset % PAGE);
    const bytes = Math.ceil((offset - start + stride * h) / PAGE) * PAGE;
    if (start + bytes > size) return `the ${size}-byte memfd does not end on a page boundary after the picture, as udmabuf requires`;
    let buf: number;
    try {
      buf = dev.create(fd, start, bytes);
    } catch (e) {
      return `udmabuf refused the memfd (${(e as Error).message})`;
    }
    try {
      this.dmabuf.scanout({
        width: w, height: h, fourcc: DRM_FORMAT.XRGB8888, modifier: DRM_FORMAT_MOD.INVALID, planes: [{ fd: buf, offset: offset - start, pitch: stride }], src: { x: 0, y: 0, w, h }, y0Top: false,
      });
      return true;
    } catch (e) {
      return `the KMS driver does not scan out the memfd in place (${(e as Error).message})`;
    } finally {
      closeSync(buf);
    }
  }

  private udmabuf(): UdmabufDevice | null {
    if (this.device || this.noDevice) return this.device;
    if (!this.openUdmabuf) {
      this.noDevice = 'this host offers no /dev/udmabuf to the daemon';
      return null;
    }
    try {
      this.device = this.openUdmabuf();
    } catch (e) {
      const code = (e as { code?: string }).code;
      this.noDevice = code === 'ENOENT' ? 'this kernel has no /dev/udmabuf (modprobe udmabuf)' : `/dev/udmabuf cannot be opened (${code ?? (e as Error).message})`;
    }
    return this.device;
  }

  /** Another path took over: the memfd is let go (the fbs of the in-place path retire with the dma-buf path's). */
  release(): void {
    if (this.shared?.fd != null) closeSync(this.shared.fd);
    this.shared = null;
  }

  free(): void {
    this.release();
    try {
      this.device?.close();
    } catch {
      // gone at shutdown already
    }
    this.device = null;
  }
}
