/**
 * What the kernel lane's tests share inside the guest: the real devices (vkms and vgem found by
 * driver name, the mbochs mdev), the "guest" side of mbochs (bochs dispi registers through BAR2,
 * pixels through BAR0), writeback captures and their way out to the host (PNG over ttyS1).
 */
import { closeSync, constants, existsSync, openSync, readdirSync, readFileSync, readlinkSync, writeSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import { DRM_CLIENT_CAP, DRM_FORMAT, DRM_MODE_ATOMIC, DRM_MODE_FB_MODIFIERS } from '../../src/kernel/constants';
import { loadAddon, nativeBackend } from '../../src/kernel/native';
import { watchFd } from '../../src/kernel/native-socket';
import { readTopology } from '../../src/kernel/topology';
import type { Topology, TopoConnector } from '../../src/kernel/topology';
import type { KernelBackend, KmsDevice, VfioContainer, VfioDevice, VfioGroup } from '../../src/kernel/types';
import { COLOUR, pngFile } from '../../src/util/png';
import { report, toHost } from './runner';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Unmaps every mmap'ed Buffer nothing references any more. The addon's mmap() has no munmap: the
 * mapping goes when the GC finalizes the Buffer, and until then it keeps the mapped file (a DRM
 * file and its master, a dma-buf) alive. Needs node --expose-gc (the guest's /init passes it).
 */
export async function collectMappings(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('node runs without --expose-gc: unreferenced mappings cannot be released');
  for (let i = 0; i < 2; i++) {
    gc();
    // Node runs native finalizers after the collection, from the event loop.
    await new Promise((r) => setImmediate(r));
  }
}

let backend: KernelBackend | null = null;
export function native(): KernelBackend {
  backend ??= nativeBackend();
  return backend;
}

/** Mappings of `path` this process still has (from /proc/self/maps). */
export function mappingsOf(path: string): number {
  return readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.endsWith(` ${path}`)).length;
}

/**
 * Opens a card as DRM master. A file of ours that is closed but still mmap'ed keeps master until
 * the mapping is collected, so collect first; a master held elsewhere is a failure that says so.
 */
export async function openMaster(path: string): Promise<KmsDevice> {
  for (let i = 0; ; i++) {
    await collectMappings();
    const dev = native().openKms(path);
    try {
      dev.setMaster();
      return dev;
    } catch (e) {
      dev.close();
      if ((e as { code?: string }).code !== 'EBUSY' || i === 5) {
        throw new Error(`cannot become DRM master of ${path} (${(e as Error).message}); this process still maps ${path} ${mappingsOf(path)} time(s)`);
      }
      await sleep(50);
    }
  }
}

/** The modules /init loaded, as it logged them: name → [exit status, modprobe's output]. */
export function modprobeLog(): Map<string, { rc: number; out: string }> {
  const m = new Map<string, { rc: number; out: string }>();
  const f = '/run/modprobe.log';
  if (!existsSync(f)) return m;
  for (const line of readFileSync(f, 'utf8').split('\n')) {
    const r = /^(\S+) (\d+) ?(.*)$/.exec(line.trim());
    if (r) m.set(r[1], { rc: Number(r[2]), out: r[3].trim() });
  }
  return m;
}

/** Why a needed module is not there, in /init's words, or null when it is loaded. */
export function moduleMissing(name: string): string | null {
  if (existsSync(`/sys/module/${name}`)) return null;
  const l = modprobeLog().get(name);
  if (!l) return `module ${name} is not loaded and /init did not try to load it`;
  return `module ${name} is not loaded: modprobe exited ${l.rc}${l.out ? `: ${l.out}` : ''}`;
}

/** The DRM card node whose driver is `driver` (vkms, vgem), found with DRM_IOCTL_VERSION. */
export function cardOf(driver: string): string {
  const dir = '/dev/dri';
  const cards = existsSync(dir) ? readdirSync(dir).filter((f) => /^card\d+$/.test(f)).sort() : [];
  const seen: string[] = [];
  for (const c of cards) {
    const d = native().openKms(`${dir}/${c}`);
    try {
      const name = d.version().name;
      seen.push(`${c}=${name}`);
      if (name === driver) return `${dir}/${c}`;
    } finally {
      d.close();
    }
  }
  const why = moduleMissing(driver);
  throw new Error(`no ${driver} card under /dev/dri (${seen.length ? seen.join(', ') : 'no cards at all'})${why ? `; ${why}` : ''}`);
}

// --- mbochs ----------------------------------------------------------------------------------

export const MDEV_TYPES = '/sys/class/mdev_bus/mbochs/mdev_supported_types';

export interface Mdev {
  uuid: string;
  type: string;
  group: string;
}

const mdevs = new Map<string, Mdev>();

/** A sysfs write: write-only attributes (mdev `create`) refuse the read-write open writeSysfs makes. */
export function sysfsWrite(path: string, value: string): void {
  const fd = openSync(path, constants.O_WRONLY);
  try {
    writeSync(fd, value);
  } finally {
    closeSync(fd);
  }
}

/** An mbochs mdev of `type`, created the way mdevctl does (echo UUID > .../create), once. */
export function mbochsMdev(type = 'mbochs-medium'): Mdev {
  const have = mdevs.get(type);
  if (have) return have;
  if (!existsSync(MDEV_TYPES)) throw new Error(`${MDEV_TYPES} is missing; ${moduleMissing('mbochs') ?? 'mbochs is loaded but registered no mdev parent'}`);
  const uuid = randomUUID();
  sysfsWrite(`${MDEV_TYPES}/${type}/create`, uuid);
  const dev = `/sys/bus/mdev/devices/${uuid}`;
  const group = `/dev/vfio/${basename(readlinkSync(`${dev}/iommu_group`))}`;
  if (!existsSync(group)) throw new Error(`mdev ${uuid} was created but its group node ${group} is missing`);
  const m = { uuid, type, group };
  mdevs.set(type, m);
  return m;
}

/** The three opens QEMU makes: container, group, device. `close()` undoes them. */
export function openMdev(m: Mdev, be: KernelBackend = native()): { c: VfioContainer; g: VfioGroup; d: VfioDevice; close(): void } {
  const c = be.openVfioContainer('/dev/vfio/vfio');
  let g: VfioGroup | undefined;
  try {
    g = be.openVfioGroup(m.group);
    g.setContainer(c);
    c.setIommu(3 /* VFIO_TYPE1v2_IOMMU */);
    const d = g.getDevice(m.uuid);
    const gg = g;
    return {
      c, g: gg, d,
      close: () => {
        for (const x of [d, gg, c]) {
          try {
            x.close();
          } catch {
            // closed already
          }
        }
      },
    };
  } catch (e) {
    g?.close();
    c.close();
    throw e;
  }
}

/** bochs dispi register indices (index registers at BAR2 + 0x500, u16 each). */
const VBE = { ID: 0, XRES: 1, YRES: 2, BPP: 3, ENABLE: 4, BANK: 5, VIRT_WIDTH: 6, VIRT_HEIGHT: 7, X_OFFSET: 8, Y_OFFSET: 9 } as const;
const VBE_ENABLED = 0x01;
const VBE_LFB_ENABLED = 0x40;

function dispi(d: VfioDevice, index: number, value: number): void {
  const bar2 = d.getRegionInfo(2);
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value);
  d.regionWrite(bar2.offset + 0x500n + BigInt(index * 2), b);
}

export function readDispi(d: VfioDevice, index: number): number {
  const bar2 = d.getRegionInfo(2);
  return d.regionRead(bar2.offset + 0x500n + BigInt(index * 2), 2).readUInt16LE(0);
}

/** The "guest" sets a 32 bpp mode, showing line `yOffset` of a `virtHeight`-line virtual screen. */
export function guestMode(d: VfioDevice, width: number, height: number, yOffset = 0, virtHeight = height * 2): void {
  dispi(d, VBE.ENABLE, 0);
  dispi(d, VBE.BPP, 32);
  dispi(d, VBE.XRES, width);
  dispi(d, VBE.YRES, height);
  dispi(d, VBE.VIRT_WIDTH, width);
  dispi(d, VBE.VIRT_HEIGHT, virtHeight);
  dispi(d, VBE.X_OFFSET, 0);
  dispi(d, VBE.Y_OFFSET, yOffset);
  dispi(d, VBE.ENABLE, VBE_ENABLED | VBE_LFB_ENABLED);
}

/** The guest pans to another line of its virtual screen: a page flip in bochs terms. */
export function guestPan(d: VfioDevice, yOffset: number): void {
  dispi(d, VBE.Y_OFFSET, yOffset);
}

export function guestDisable(d: VfioDevice): void {
  dispi(d, VBE.ENABLE, 0);
}

export { VBE };

/** BAR0 (the guest's VRAM) mapped shared, as QEMU maps it for the guest. */
export function mapVram(d: VfioDevice): Buffer {
  const bar0 = d.getRegionInfo(0);
  return loadAddon().mmap(d.fd, d.path, bar0.offset, Number(bar0.size)) as Buffer;
}

/**
 * A backend that remembers the VFIO devices opened through it, so the "guest" can program the
 * very device the code under test holds (in life the guest reaches the same mdev through QEMU).
 */
export function recordingBackend(): { backend: KernelBackend; devices: VfioDevice[] } {
  const be = native();
  const devices: VfioDevice[] = [];
  return {
    devices,
    backend: {
      ...be,
      kind: 'native',
      openVfioGroup: (path: string) => {
        const g = be.openVfioGroup(path);
        const getDevice = g.getDevice.bind(g);
        g.getDevice = (name: string) => {
          const d = getDevice(name);
          devices.push(d);
          return d;
        };
        return g;
      },
    },
  };
}

// --- pixels ----------------------------------------------------------------------------------

/** An XRGB8888 dumb framebuffer with its mapping. */
export interface DumbFb {
  fb: number;
  handle: number;
  width: number;
  height: number;
  pitch: number;
  map: Buffer;
  format: number;
}

export function dumbFb(dev: KmsDevice, width: number, height: number, format: number = DRM_FORMAT.XRGB8888): DumbFb {
  const d = dev.createDumb(width, height, 32);
  const fb = dev.addFb2({ width, height, pixelFormat: format, flags: DRM_MODE_FB_MODIFIERS, handles: [d.handle], pitches: [d.pitch], offsets: [0], modifiers: [0n] });
  const map = dev.mmap(dev.mapDumb(d.handle), d.size);
  return { fb, handle: d.handle, width, height, pitch: d.pitch, map, format };
}

export function freeFb(dev: KmsDevice, f: DumbFb): void {
  dev.munmap(f.map);
  dev.rmFb(f.fb);
  dev.destroyDumb(f.handle);
}

/** Fills a 32 bpp buffer from `px(x, y)` (0xAARRGGBB); `pitch` in bytes. */
export function paint(buf: Buffer, width: number, height: number, pitch: number, px: (x: number, y: number) => number): void {
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) buf.writeUInt32LE(px(x, y) >>> 0, y * pitch + x * 4);
  }
}

/** A packed width×height XRGB8888 image (0xffRRGGBB per pixel, as vkms writes back). */
export class Image {
  readonly data: Uint32Array;
  constructor(
    readonly width: number,
    readonly height: number,
    fill = 0xff000000,
  ) {
    this.data = new Uint32Array(width * height).fill(fill >>> 0);
  }

  /** Draws an opaque (or, for ARGB, alpha-blended the way vkms blends) layer at (x, y). */
  layer(x0: number, y0: number, w: number, h: number, px: (x: number, y: number) => number, alpha = false): void {
    for (let y = 0; y < h; y++) {
      const dy = y0 + y;
      if (dy < 0 || dy >= this.height) continue;
      for (let x = 0; x < w; x++) {
        const dx = x0 + x;
        if (dx < 0 || dx >= this.width) continue;
        const s = px(x, y) >>> 0;
        const a = alpha ? s >>> 24 : 0xff;
        if (a === 0xff) this.data[dy * this.width + dx] = (0xff000000 | s) >>> 0;
        else if (a !== 0) throw new Error('the expected image handles only opaque and fully transparent pixels');
      }
    }
  }

  /** The first differences against `other`, or [] when pixel-exact. */
  diff(other: Image, max = 5): string[] {
    if (other.width !== this.width || other.height !== this.height) return [`size ${other.width}x${other.height}, expected ${this.width}x${this.height}`];
    const out: string[] = [];
    let n = 0;
    for (let i = 0; i < this.data.length; i++) {
      if (this.data[i] !== other.data[i]) {
        if (out.length < max) out.push(`(${i % this.width},${Math.floor(i / this.width)}) is 0x${other.data[i].toString(16)}, expected 0x${this.data[i].toString(16)}`);
        n++;
      }
    }
    if (n > max) out.push(`… ${n} pixels differ in all`);
    return out;
  }

  /**
   * An RGB PNG with the Sub filter on every row: test pictures are gradients, which deflate
   * barely shrinks unfiltered, and every byte crosses a serial port.
   */
  png(): Buffer {
    const row = this.width * 3 + 1;
    const raw = Buffer.alloc(row * this.height);
    for (let y = 0; y < this.height; y++) {
      raw[y * row] = 1; // Sub: each byte minus the same channel of the pixel to its left
      let prev = 0;
      for (let x = 0; x < this.width; x++) {
        const v = this.data[y * this.width + x];
        const o = y * row + 1 + x * 3;
        raw[o] = (((v >>> 16) & 0xff) - ((prev >>> 16) & 0xff)) & 0xff;
        raw[o + 1] = (((v >>> 8) & 0xff) - ((prev >>> 8) & 0xff)) & 0xff;
        raw[o + 2] = ((v & 0xff) - (prev & 0xff)) & 0xff;
        prev = v;
      }
    }
    return pngFile(this.width, this.height, COLOUR.RGB, raw, 9);
  }
}

/** Sends a file to the host, which saves it as artifacts/kernel-lane/NAME (base64 over ttyS1). */
export function emitFile(name: string, data: Buffer): void {
  const b64 = data.toString('base64');
  let body = '';
  for (let i = 0; i < b64.length; i += 76) body += `${b64.slice(i, i + 76)}\n`;
  toHost(`DF-FILE ${name} ${data.length}\n${body}DF-FILE-END ${name}\n`);
}

/** Sends a capture to the host, which saves it as artifacts/kernel-lane/NAME.png. */
export function emitPng(name: string, img: Image): void {
  const png = img.png();
  emitFile(`${name}.png`, png);
  report(`# capture ${name}.png (${img.width}x${img.height}, ${png.length} bytes)`);
}

// --- writeback -------------------------------------------------------------------------------

/** X byte 0: vkms writes every XRGB8888 pixel with X = 0xff, so this marks "not written". */
const SENTINEL = 0x005aa55a;

/** Resolves once `fd` (a sync_file) is readable, i.e. its fence has signaled; rejects after `ms`. */
export function fenceSignaled(fd: number, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (e?: Error) => {
      clearTimeout(timer);
      w.stop();
      if (e) reject(e);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`${what}: its out-fence did not signal within ${ms} ms`)), ms);
    const w = watchFd(fd, () => done(), done);
  });
}

/**
 * Captures what a CRTC shows through vkms's writeback connector. The commit asks for the job's
 * out-fence (WRITEBACK_OUT_FENCE_PTR, a sync_file): the buffer is the kernel's until the fence
 * signals, so nothing reads, detaches or frees it before then. Every pixel must then have been
 * written (the buffer starts out holding a value vkms never writes).
 */
export class Writeback {
  readonly conn: TopoConnector;

  constructor(
    private readonly dev: KmsDevice,
    private readonly t: Topology,
  ) {
    dev.setClientCap(DRM_CLIENT_CAP.ATOMIC, 1);
    dev.setClientCap(DRM_CLIENT_CAP.WRITEBACK_CONNECTORS, 1);
    const c = readTopology(dev).connectors.find((x) => x.writeback);
    if (!c) throw new Error('vkms has no writeback connector (was it loaded with enable_writeback=1?)');
    this.conn = c;
  }

  async capture(crtcId: number, timeoutMs = 10_000): Promise<Image & { ms: number }> {
    const crtc = readTopology(this.dev).crtcs.find((c) => c.id === crtcId);
    if (!crtc?.mode || !crtc.active) throw new Error(`CRTC ${crtcId} is not active: nothing to write back`);
    const { hdisplay: w, vdisplay: h } = crtc.mode;
    const p = (n: string) => {
      const x = this.conn.props[n];
      if (!x) throw new Error(`the writeback connector has no ${n} property`);
      return x.id;
    };
    const f = dumbFb(this.dev, w, h);
    let fence = -1;
    let attached = false;
    try {
      paint(f.map, w, h, f.pitch, () => SENTINEL);
      const t0 = Date.now();
      fence = loadAddon().drmAtomicOutFence(
        this.dev.fd, this.dev.path,
        [this.conn.id, this.conn.id], [p('CRTC_ID'), p('WRITEBACK_FB_ID')], [BigInt(crtcId), BigInt(f.fb)],
        DRM_MODE_ATOMIC.ALLOW_MODESET, 0n, this.conn.id, p('WRITEBACK_OUT_FENCE_PTR'),
      );
      attached = true;
      if (fence < 0) throw new Error('the writeback commit returned no out-fence');
      await fenceSignaled(fence, timeoutMs, 'the writeback job');
      const ms = Date.now() - t0;
      const words = new Uint32Array(f.map.buffer, f.map.byteOffset, f.map.length / 4);
      const stride = f.pitch / 4;
      const img = new Image(w, h);
      let unwritten = 0;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const v = words[y * stride + x];
          if (v >>> 24 !== 0xff) unwritten++;
          img.data[y * w + x] = v;
        }
      }
      if (unwritten) throw new Error(`the writeback job signaled done with ${unwritten} of ${w * h} pixels never written`);
      return Object.assign(img, { ms });
    } finally {
      // Only once the job is done (or the commit failed): the connector off, then the buffer.
      if (fence >= 0) native().closeFd(fence);
      if (attached) this.dev.atomic([{ objectId: this.conn.id, propId: p('CRTC_ID'), value: 0n }], DRM_MODE_ATOMIC.ALLOW_MODESET);
      freeFb(this.dev, f);
    }
  }
}

/** vkms as DRM master, its topology, writeback capture, and the CRTC fbdev lit Virtual-1 with at boot. */
export async function openVkmsDisplay(): Promise<{ dev: KmsDevice; t: Topology; wb: Writeback; crtcId: number }> {
  const dev = await openMaster(cardOf('vkms'));
  const t = readTopology(dev);
  const crtcId = t.connectors.find((c) => c.name === 'Virtual-1')?.crtcId ?? 0;
  if (!crtcId) throw new Error('Virtual-1 is not driven at boot (fbdev should have lit it)');
  return { dev, t, wb: new Writeback(dev, t), crtcId };
}
