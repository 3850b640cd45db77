/**
 * A buffer from another DRM device, shared as a dma-buf: what a GPU's scanout (or QEMU's
 * ScanoutDMABUF) hands directflip. vgem makes it (CREATE_DUMB on its card node), exports it with
 * PRIME_HANDLE_TO_FD (CLOEXEC | RDWR); vkms imports it with PRIME_FD_TO_HANDLE, wraps it in an fb
 * with ADDFB2 and scans it out. The writeback shows it pixel for pixel, on the primary plane and
 * on an overlay; pixels written later through the dma-buf's own mapping show too.
 */
import { DRM_CLOEXEC, DRM_FORMAT, DRM_MODE_ATOMIC, DRM_MODE_FB_MODIFIERS, DRM_RDWR } from '../../src/kernel/constants';
import { loadAddon } from '../../src/kernel/native';
import type { Topology, TopoPlane } from '../../src/kernel/topology';
import type { AtomicProp, KmsDevice } from '../../src/kernel/types';
import { cardOf, collectMappings, dumbFb, emitPng, freeFb, Image, native, openVkmsDisplay, paint, sleep, Writeback } from './guest';

const BG = (x: number, y: number) => (((x >> 5) + (y >> 5)) & 1 ? 0x303030 : 0x505050) | ((x & 0x1f) << 3);
const WIN = { x: 300, y: 200, w: 400, h: 300 };
const PIC = (x: number, y: number) => ((x * 255 / WIN.w) << 16) | ((y * 255 / WIN.h) << 8) | (x ^ y) & 0xff;
const LATER = (x: number, y: number) => (x < WIN.w / 2 ? 0xff00ff : 0x00ffff) ^ (y & 0x7f);

/** One vgem buffer, exported: its dma-buf fd and its vkms fb. */
interface Shared {
  vgemHandle: number;
  fd: number;
  vkmsHandle: number;
  fb: number;
  pitch: number;
  size: number;
}

describe('vgem dma-buf into vkms (PRIME), verified through writeback', () => {
  let vgem: KmsDevice;
  let dev: KmsDevice;
  let t: Topology;
  let wb: Writeback;
  let crtcId = 0;
  const shared: Shared[] = [];

  beforeAll(async () => {
    vgem = native().openKms(cardOf('vgem'));
    ({ dev, t, wb, crtcId } = await openVkmsDisplay());
  });

  afterAll(async () => {
    // Take the imported buffers off screen first, with a commit of their own, and let vkms's
    // composer finish with them before their handles, fbs and dma-bufs go.
    const off = (p: TopoPlane) => ['FB_ID', 'CRTC_ID'].map((n) => ({ objectId: p.id, propId: p.props[n].id, value: 0n }));
    const own = dumbFb(dev, 1024, 768);
    const primary = t.planes.find((p) => p.type === 'primary')!;
    const overlay = t.planes.find((p) => p.type === 'overlay')!;
    dev.atomic([...show(primary, own.fb, { x: 0, y: 0, w: 1024, h: 768 }), ...off(overlay)], DRM_MODE_ATOMIC.ALLOW_MODESET);
    await sleep(100);
    for (const s of shared.splice(0)) {
      dev.rmFb(s.fb);
      dev.gemClose(s.vkmsHandle);
      native().closeFd(s.fd);
      vgem.gemClose(s.vgemHandle);
    }
    freeFb(dev, own);
    dev.close();
    vgem.close();
    await collectMappings();
  });

  /** A vgem dumb buffer painted with `px` through vgem's own mapping, exported and imported. */
  const share = (w: number, h: number, px: (x: number, y: number) => number): Shared => {
    const d = vgem.createDumb(w, h, 32);
    const fill = () => paint(vgem.mmap(vgem.mapDumb(d.handle), d.size), w, h, d.pitch, px);
    fill();
    const fd = vgem.primeHandleToFd(d.handle, DRM_CLOEXEC | DRM_RDWR);
    const vkmsHandle = dev.primeFdToHandle(fd);
    const fb = dev.addFb2({ width: w, height: h, pixelFormat: DRM_FORMAT.XRGB8888, flags: DRM_MODE_FB_MODIFIERS, handles: [vkmsHandle], pitches: [d.pitch], offsets: [0], modifiers: [0n] });
    const s = { vgemHandle: d.handle, fd, vkmsHandle, fb, pitch: d.pitch, size: d.size };
    shared.push(s);
    return s;
  };

  const show = (plane: TopoPlane, fb: number, r: { x: number; y: number; w: number; h: number }): AtomicProp[] => {
    const v = (n: string, value: number) => ({ objectId: plane.id, propId: plane.props[n].id, value: BigInt(value) });
    return [v('FB_ID', fb), v('CRTC_ID', crtcId), v('SRC_X', 0), v('SRC_Y', 0), v('SRC_W', r.w << 16), v('SRC_H', r.h << 16), v('CRTC_X', r.x), v('CRTC_Y', r.y), v('CRTC_W', r.w), v('CRTC_H', r.h)];
  };

  test('a vgem buffer imported into vkms shows pixel-exact on the primary plane and on an overlay', async () => {
    const bg = share(1024, 768, BG);
    const win = share(WIN.w, WIN.h, PIC);
    const primary = t.planes.find((p) => p.type === 'primary')!;
    const overlay = t.planes.find((p) => p.type === 'overlay')!;
    dev.atomic([...show(primary, bg.fb, { x: 0, y: 0, w: 1024, h: 768 }), ...show(overlay, win.fb, WIN)], DRM_MODE_ATOMIC.ALLOW_MODESET);
    const want = new Image(1024, 768);
    want.layer(0, 0, 1024, 768, BG);
    want.layer(WIN.x, WIN.y, WIN.w, WIN.h, PIC);
    const got = await wb.capture(crtcId);
    emitPng('vgem-1-prime', got);
    expect(got.diff(want)).toEqual([]);
  });

  test("pixels written through the dma-buf's own mmap show on the next frame", async () => {
    const win = shared[1];
    if (!win) throw new Error('nothing shared (the previous test failed)');
    const write = () => paint(loadAddon().mmap(win.fd, 'dma-buf', 0n, win.size) as Buffer, WIN.w, WIN.h, win.pitch, LATER);
    write();
    const want = new Image(1024, 768);
    want.layer(0, 0, 1024, 768, BG);
    want.layer(WIN.x, WIN.y, WIN.w, WIN.h, LATER);
    const got = await wb.capture(crtcId);
    emitPng('vgem-2-dmabuf-mmap', got);
    expect(got.diff(want)).toEqual([]);
  });
});
