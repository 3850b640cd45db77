/**
 * Listener.Unix.ScanoutDMABUF2 (QEMU 10.1) on the real kernel (issue 14 item 3). No Debian package
 * carries QEMU 10.1, so the harness plays it on a real socketpair with real vgem dma-bufs, as
 * ui/dbus-listener.c sends it: the fds of the planes, the picture's rectangle in the backing, every
 * plane's offset and stride, the fourcc, the backing size and the modifier.
 *
 * A two-plane buffer cannot be scanned out on the lane's kernels, and the first test holds that
 * fact: vkms (6.1 and 6.12) offers XRGB/ARGB8888, XRGB/ARGB16161616 and (6.12) RGB565, all single-
 * plane, with the LINEAR modifier only (YUV came to vkms after 6.12), so there is neither NV12 nor a
 * modifier with an auxiliary (CCS) plane. What the lane shows instead, on real ioctls: a one-plane
 * ScanoutDMABUF2 showing a rectangle of a larger backing is flipped and the writeback shows exactly
 * that rectangle; an NV12 buffer in two dma-bufs is refused before any import (no vkms plane
 * lists it), the picture stays, and every fd the call brought is closed.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { DRM_CLOEXEC, DRM_FORMAT, DRM_FORMAT_MOD, DRM_MODE_ATOMIC, DRM_RDWR, fourccName } from '../../src/kernel/constants';
import { formatInfo } from '../../src/kernel/formats';
import type { Topology } from '../../src/kernel/topology';
import type { KmsDevice } from '../../src/kernel/types';
import { MESSAGE } from '../../src/sources/dbus-peer';
import { DMABUF2 } from '../../src/sources/listener-calls';
import type { DumbFb } from './guest';
import { collectMappings, dumbFb, emitPng, freeFb, Image, native, openVkmsDisplay, paint, sleep, Writeback } from './guest';
import { report } from './runner';
import type { QemuRig } from './qemu-rig';
import { qemuRig } from './qemu-rig';

const SIG = 'ahuuuuauauuuuutb';
const W = 480;
const H = 320;
const BACKING = { w: 640, h: 480, x: 64, y: 32 };
const AT = { x: 260, y: 180 };
const BG = (x: number, y: number) => ((x >> 5) & 1 ? 0x202838 : 0x382028) + ((y >> 3) & 0x0f);
const PX = (x: number, y: number) => ((x * 255 / BACKING.w) << 16) | (((x >> 4) ^ (y >> 4)) & 1 ? 0xc000 : 0x3000) | ((y * 255 / BACKING.h) & 0xff);

/** dma-buf fds this process holds (their /proc/self/fd links name the dmabuf inode). */
function dmabufFds(): number[] {
  return readdirSync('/proc/self/fd').map(Number).filter((fd) => {
    try {
      return /dmabuf/.test(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      return false;
    }
  }).sort((a, b) => a - b);
}

describe('ScanoutDMABUF2 on vkms: a harness plays QEMU 10.1 with vgem dma-bufs', () => {
  let dev: KmsDevice;
  let t: Topology;
  let wb: Writeback;
  let crtcId = 0;
  let rig: QemuRig | null = null;
  let background: DumbFb | null = null;
  const exported: { handle: number; fd: number }[] = [];

  const call = (body: unknown[]) => rig!.call('ScanoutDMABUF2', SIG, body, DMABUF2);
  /** A vgem dumb buffer exported as a dma-buf, as the guest's GPU hands QEMU its planes. */
  const vgemBuffer = (w: number, h: number, bpp: number) => {
    const d = rig!.vgem.createDumb(w, h, bpp);
    const fd = rig!.vgem.primeHandleToFd(d.handle, DRM_CLOEXEC | DRM_RDWR);
    exported.push({ handle: d.handle, fd });
    return { ...d, fd };
  };
  /** The lowest free GEM handle on vkms: a handle the listener kept would hold it. */
  const nextHandle = () => {
    const d = dev.createDumb(64, 64, 32);
    dev.destroyDumb(d.handle);
    return d.handle;
  };

  beforeAll(async () => {
    ({ dev, t, wb, crtcId } = await openVkmsDisplay());
    background = dumbFb(dev, 1024, 768);
    paint(background.map, 1024, 768, background.pitch, BG);
    const primary = t.planes.find((p) => p.type === 'primary')!;
    const v = (n: string, value: number) => ({ objectId: primary.id, propId: primary.props[n].id, value: BigInt(value) });
    dev.atomic([v('FB_ID', background.fb), v('CRTC_ID', crtcId), v('SRC_X', 0), v('SRC_Y', 0), v('SRC_W', 1024 << 16), v('SRC_H', 768 << 16), v('CRTC_X', 0), v('CRTC_Y', 0), v('CRTC_W', 1024), v('CRTC_H', 768)], DRM_MODE_ATOMIC.ALLOW_MODESET);
    rig = await qemuRig(dev, t, crtcId, { ...AT, w: W, h: H });
  });

  afterAll(async () => {
    try {
      await rig?.close();
    } finally {
      for (const e of exported.splice(0)) native().closeFd(e.fd);
      if (background) freeFb(dev, background);
      dev.close();
      await collectMappings();
    }
  });

  test('no vkms plane takes a two-plane format or a modifier other than LINEAR: a two-plane buffer cannot be scanned out here', () => {
    const multi = t.planes.flatMap((p) => p.formats.filter((f) => (formatInfo(f)?.cpp.length ?? 1) > 1).map((f) => `${p.type} ${fourccName(f)}`));
    const mods = t.planes.flatMap((p) => [...p.modifiers.values()].flat().filter((m) => m !== DRM_FORMAT_MOD.LINEAR).map((m) => `${p.type} 0x${m.toString(16)}`));
    const offered = [...new Set(t.planes.flatMap((p) => p.formats.map(fourccName)))].join(', ');
    report(`# dmabuf2: vkms planes take ${offered}, LINEAR only: no NV12, no modifier with an auxiliary plane`);
    expect([multi, mods]).toEqual([[], []]);
  });

  test('a one-plane ScanoutDMABUF2 showing a rectangle of a larger backing is flipped; the writeback shows that rectangle exactly', async () => {
    const b = vgemBuffer(BACKING.w, BACKING.h, 32);
    const map = rig!.vgem.mmap(rig!.vgem.mapDumb(b.handle), b.size);
    try {
      paint(map, BACKING.w, BACKING.h, b.pitch, PX);
    } finally {
      rig!.vgem.munmap(map);
    }
    const before = rig!.pipeline.counters.flipped;
    const r = await call([[b.fd], BACKING.x, BACKING.y, W, H, [0], [b.pitch], 1, DRM_FORMAT.XRGB8888, BACKING.w, BACKING.h, DRM_FORMAT_MOD.LINEAR, false]);
    expect([r.type, r.errorName, r.body]).toEqual([MESSAGE.METHOD_RETURN, undefined, []]);
    for (let i = 0; i < 300 && rig!.pipeline.counters.flipped <= before; i++) await sleep(10);
    expect(rig!.errors).toEqual([]);
    expect(rig!.listener.scanoutPath).toBe('dma-buf2');
    const want = new Image(1024, 768);
    want.layer(0, 0, 1024, 768, BG);
    want.layer(AT.x, AT.y, W, H, (x, y) => PX(x + BACKING.x, y + BACKING.y));
    const got = await wb.capture(crtcId);
    emitPng('qemu-dmabuf2-1-rectangle', got);
    expect(got.diff(want)).toEqual([]);
    expect(rig!.pipeline.plane(rig!.overlay.id).bytesCopied).toBe(0);
  });

  // vkms lists no two-plane format on any plane, so the listener refuses the buffer against its
  // plane's IN_FORMATS before importing anything, naming what the plane takes, and QEMU hears it.
  // (Left to the kernel, 6.12's ADDFB2 refuses it, drm_any_plane_has_format, but 6.1's makes the
  // fb and only the flip fails, after QEMU was told the scanout succeeded.)
  test('an NV12 buffer in two dma-bufs is refused before any import, naming the plane and its formats; the picture stays, every fd the call brought is closed', async () => {
    const y = vgemBuffer(W, H, 8);
    const uv = vgemBuffer(W / 2, H / 2, 16);
    const fdsBefore = dmabufFds();
    const handle = nextHandle();
    let why = '';
    try {
      await call([[y.fd, uv.fd], 0, 0, W, H, [0, 0], [y.pitch, uv.pitch], 2, DRM_FORMAT.NV12, W, H, DRM_FORMAT_MOD.LINEAR, false]);
    } catch (e) {
      why = (e as Error).message;
    }
    await sleep(100);
    const errors = rig!.errors.splice(0).map((e) => `${(e as { code?: string }).code ?? ''} ${e.message}`);
    report(`# dmabuf2: NV12 refused: ${why || errors.join('; ')}`);
    expect([why, errors]).toEqual([expect.stringMatching(new RegExp(`plane ${rig!.overlay.id} cannot show the guest's NV12 with modifier LINEAR buffer: it takes .*XR24`)), []]);
    expect(nextHandle()).toBe(handle); // nothing was imported
    expect(dmabufFds()).toEqual(fdsBefore);
    const want = new Image(1024, 768);
    want.layer(0, 0, 1024, 768, BG);
    want.layer(AT.x, AT.y, W, H, (x, yy) => PX(x + BACKING.x, yy + BACKING.y));
    const got = await wb.capture(crtcId);
    emitPng('qemu-dmabuf2-2-nv12-refused', got);
    expect(got.diff(want)).toEqual([]);
  });
});
