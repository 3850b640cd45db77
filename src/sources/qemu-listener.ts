import { closeSync } from 'node:fs';
import type { PeerLink, PeerMessage } from './dbus-peer';
import { MESSAGE, PeerProtocolError } from './dbus-peer';
import { quoted } from './dbus-wire';
import { CursorScanout } from './cursor-scanout';
import type { DmabufLayout } from './dmabuf-layout';
import { readDmabuf2, singlePlane } from './dmabuf-layout';
import { DmabufScanout } from './dmabuf-scanout';
import { HeldReplies } from './held-replies';
import { LISTENER, malformed, methodOf, propertiesReply } from './listener-calls';
import { MapScanout } from './map-scanout';
import type { MapPath, UdmabufOpener } from './map-scanout';
import { PixelScanout } from './pixel-scanout';
import type { ScanoutTarget } from './scanout-target';

export { PIXMAN } from './pixel-scanout';

/** How the console's picture reaches the plane now, for status. */
export type ScanoutPath = 'pixels' | 'dma-buf' | 'dma-buf2' | MapPath;

/**
 * org.qemu.Display1.Listener on the peer link QEMU was handed: the console's picture arrives as
 * pixels (Scanout/Update) or as dma-bufs (ScanoutDMABUF/UpdateDMABUF, and multi-plane through
 * Listener.Unix.ScanoutDMABUF2) or in a shared memfd (Listener.Unix.Map: ScanoutMap/UpdateMap,
 * scanned out in place through udmabuf where it can be), its pointer as CursorDefine/MouseSet.
 * Every fd a message brought is closed once it is handled.
 *
 * QEMU holds the guest's GL until an UpdateDMABUF (or either ScanoutDMABUF) is answered, as its
 * own displays do until the frame is presented: so those are answered once the flip showing the
 * frame has completed. The guest is paced to the monitor and never draws into a buffer being
 * scanned out. The wait is bounded (`replyWithinMs`): a lost flip event never stalls the guest.
 * Everything else is answered at once.
 */
export class DisplayListener {
  private readonly pixels: PixelScanout;
  private readonly dmabuf: DmabufScanout;
  private readonly map: MapScanout;
  private readonly cursor: CursorScanout | null;
  private cursorRefused = false;
  private readonly log: (msg: string) => void;
  /** The guest picture's size, for mapping pointer positions. */
  private readonly size = { w: 0, h: 0 };
  private path: ScanoutPath = 'pixels';
  /** Replies held for a flip, each within its bound (replyWithinMs). */
  private readonly replies: HeldReplies;

  constructor(
    private readonly link: PeerLink,
    private readonly target: ScanoutTarget,
    /** `udmabuf`: opens /dev/udmabuf for the map path's zero-copy (absent: the map path copies). */
    opts: { cursor?: ScanoutTarget; log?: (msg: string) => void; replyWithinMs?: number; udmabuf?: UdmabufOpener } = {},
  ) {
    this.log = opts.log ?? (() => undefined);
    this.replies = new HeldReplies(link, (cb) => target.pipeline.afterFlip(target.planeId, cb), opts.replyWithinMs ?? 100);
    this.pixels = new PixelScanout(target, this.log);
    this.dmabuf = new DmabufScanout(target);
    this.map = new MapScanout(this.dmabuf, this.pixels, opts.udmabuf ?? null);
    this.cursor = opts.cursor ? new CursorScanout(opts.cursor, () => this.picture()) : null;
    link.on('message', (m: PeerMessage) => this.onMessage(m));
  }

  /** The pipeline retired fbs: the dma-buf cache may let go of old buffers. */
  retire(): void {
    this.dmabuf.retire();
    this.pixels.reap();
  }

  /** What the guest shows now, and how: for status. */
  get showing(): string {
    if (!this.size.w) return 'nothing yet';
    return `${this.size.w}x${this.size.h} ${this.path}`;
  }

  /** The path the picture takes now: nothing shown yet counts as the pixel path. */
  get scanoutPath(): ScanoutPath {
    return this.path;
  }

  /** Why a shared memfd is copied rather than scanned out in place ('' otherwise). */
  get copyReason(): string {
    return this.path === 'map copying' ? this.map.why : '';
  }

  get cachedFbs(): number {
    return this.dmabuf.cachedFbs;
  }

  private picture() {
    return this.size.w ? { ...this.size, dst: this.target.geometry === 'guest' ? { ...this.target.plane.dst, ...this.size } : this.target.plane.dst } : null;
  }

  private onMessage(m: PeerMessage): void {
    try {
      if (m.type !== MESSAGE.METHOD_CALL) return; // stray replies and signals ask nothing of us
      const wrong = malformed(m);
      if (wrong) {
        this.link.replyError(m, 'org.freedesktop.DBus.Error.InvalidArgs', wrong);
        return this.link.close(new PeerProtocolError(`QEMU sent a malformed call: ${wrong}`));
      }
      const props = propertiesReply(m);
      if (props) return 'error' in props ? this.link.replyError(m, 'org.freedesktop.DBus.Error.InvalidArgs', props.error) : this.link.reply(m, props.signature, props.body);
      if (!methodOf(m)) {
        const listener = m.interface === undefined || m.interface === LISTENER;
        throw new Unsupported(listener ? `${quoted(m.member ?? '')} is not a Listener method this daemon serves` : `${quoted(`${m.interface}.${m.member ?? ''}`)} is not served here`);
      }
      this.handle(m);
      if (m.member === 'UpdateDMABUF' || m.member === 'ScanoutDMABUF' || m.member === 'ScanoutDMABUF2') this.replies.hold(m);
      else this.link.reply(m);
    } catch (e) {
      const unsupported = e instanceof Unsupported;
      if (!unsupported) this.log(`${m.member}: ${(e as Error).message}`);
      this.link.replyError(m, unsupported ? 'org.freedesktop.DBus.Error.NotSupported' : 'org.freedesktop.DBus.Error.Failed', (e as Error).message);
    } finally {
      for (const fd of m.fds) {
        try {
          closeSync(fd);
        } catch {
          // closed already
        }
      }
    }
  }

  /** Replies the bound sent before their flip completed. */
  get paceTimeouts(): number {
    return this.replies.timeouts;
  }

  private handle(m: PeerMessage): void {
    const b = m.body as never;
    switch (m.member) {
      case 'Scanout': {
        const [w, h] = m.body as number[];
        this.dmabuf.release();
        this.map.release();
        this.pixels.scanout(b);
        this.size.w = w;
        this.size.h = h;
        this.path = 'pixels';
        return;
      }
      case 'Update':
        return this.pixels.update(b);
      case 'ScanoutDMABUF': {
        const [fd, w, h, stride, fourcc, modifier, y0Top] = m.body as [number, number, number, number, number, bigint | number, boolean];
        if (!m.fds.includes(fd)) throw new Error('ScanoutDMABUF carried no file descriptor');
        return this.showDmabuf('dma-buf', singlePlane(fd, w, h, stride, fourcc, BigInt(modifier), y0Top));
      }
      case 'ScanoutDMABUF2':
        return this.showDmabuf('dma-buf2', readDmabuf2(m.body, m.fds));
      case 'UpdateDMABUF':
        return this.dmabuf.update(b);
      case 'ScanoutMap': {
        const [fd, , w, h] = m.body as number[];
        if (!m.fds.includes(fd)) throw new Error('ScanoutMap carried no file descriptor');
        this.map.scanout(b);
        this.size.w = w;
        this.size.h = h;
        this.path = this.map.path;
        return;
      }
      case 'UpdateMap':
        return this.map.update(b);
      case 'Disable':
        this.size.w = 0;
        this.size.h = 0;
        return this.target.off();
      case 'CursorDefine':
      case 'MouseSet':
        if (!this.cursor) {
          if (!this.cursorRefused) this.log('the guest defines a pointer, but no cursor plane is assigned to it: the pointer is not shown');
          this.cursorRefused = true;
          throw new Unsupported('no cursor plane is assigned to this console');
        }
        return m.member === 'CursorDefine' ? this.cursor.define(b) : this.cursor.mouse(b);
      default:
        throw new Unsupported(`${quoted(m.member ?? '')} is not a Listener method this daemon serves`);
    }
  }

  private showDmabuf(path: ScanoutPath, l: DmabufLayout): void {
    this.pixels.release();
    this.map.release();
    this.dmabuf.scanout(l);
    // In place: a frame allocates nothing it need not (design §5); picture() hands out copies.
    this.size.w = l.src.w;
    this.size.h = l.src.h;
    this.path = path;
  }

  /** Stops taking frames from QEMU; what is on screen stays until `free`. */
  detach(): void {
    this.replies.clear();
    this.link.close();
  }

  /** Frees every framebuffer and handle; call once they are off screen (the kernel frees an fb on screen badly). */
  free(): void {
    this.map.free();
    this.pixels.free();
    this.dmabuf.free();
    this.cursor?.free();
  }

  close(): void {
    this.detach();
    this.free();
  }
}

class Unsupported extends Error {}
