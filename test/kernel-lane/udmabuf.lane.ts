/**
 * udmabuf on the lane's kernels (issue 14 item 2): /dev/udmabuf's contract (test/contract, the
 * same assertions the simulator passes), then the zero-copy path itself: a memfd made as QEMU
 * makes its Listener.Unix.Map memfd (MFD_ALLOW_SEALING, then F_SEAL_SHRINK), filled with a known
 * picture, turned into a dma-buf by UDMABUF_CREATE, PRIME-imported into vkms, wrapped by ADDFB2
 * and committed. The writeback shows it pixel for pixel; pixels written into the memfd later show
 * with no new fb and no plane commit: what scans out is the memfd's own pages, 0 bytes copied.
 *
 * 6.12 builds udmabuf in; on 6.1, which does not, the lane builds it out of tree (kernel.sh).
 */
import { closeSync, ftruncateSync, writeSync } from 'node:fs';
import { DRM_FORMAT, DRM_MODE_ATOMIC, DRM_MODE_FB_MODIFIERS } from '../../src/kernel/constants';
import { F_SEAL_SHRINK, MFD_ALLOW_SEALING, memfdAddSeals, memfdCreate, memfdSeals } from '../../src/kernel/native-socket';
import type { Topology, TopoPlane } from '../../src/kernel/topology';
import type { AtomicProp, KmsDevice, UdmabufDevice } from '../../src/kernel/types';
import { udmabufContract } from '../contract/udmabuf.contract';
import { cardOf, collectMappings, dumbFb, emitPng, freeFb, Image, moduleMissing, native, openVkmsDisplay, Writeback } from './guest';

const UDMABUF = '/dev/udmabuf';
const W = 1024;
const H = 768;
const PITCH = W * 4;
const SIZE = PITCH * H; // 3 MiB: a whole number of pages, as udmabuf requires
const FIRST = (x: number, y: number) => ((x * 255 / W) << 16) | ((y * 255 / H) << 8) | ((x >> 3) ^ (y >> 3)) & 0xff;
const LATER = (x: number, y: number) => (((x >> 6) + (y >> 6)) & 1 ? 0xc02080 : 0x20c040) ^ (x & 0x3f);

function openUdmabuf(): UdmabufDevice {
  try {
    return native().openUdmabuf(UDMABUF);
  } catch (e) {
    const why = moduleMissing('udmabuf');
    throw new Error(`cannot open ${UDMABUF} (${(e as Error).message})${why ? `; ${why}` : ''}`);
  }
}

/** A width×height XRGB8888 picture as bytes, `pitch` bytes a row. */
function picture(px: (x: number, y: number) => number): Buffer {
  const b = Buffer.alloc(SIZE);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) b.writeUInt32LE((0xff000000 | px(x, y)) >>> 0, y * PITCH + x * 4);
  return b;
}

udmabufContract('real kernel', () => ({
  open: openUdmabuf,
  openKms: () => native().openKms(cardOf('vkms')),
  closeFd: (fd) => native().closeFd(fd),
  close: () => undefined,
}));

describe('udmabuf on vkms: a sealed memfd scanned out with no copy, verified through writeback', () => {
  let dev: KmsDevice;
  let t: Topology;
  let wb: Writeback;
  let crtcId = 0;
  let memfd = -1;
  let dmabuf = -1;
  let handle = 0;
  let fb = 0;

  beforeAll(async () => {
    ({ dev, t, wb, crtcId } = await openVkmsDisplay());
  });

  afterAll(async () => {
    // Our own buffer on screen first, so vkms's composer is done with the memfd's pages.
    const own = dumbFb(dev, W, H);
    const primary = t.planes.find((p) => p.type === 'primary')!;
    dev.atomic(show(primary, own.fb), DRM_MODE_ATOMIC.ALLOW_MODESET);
    if (fb) dev.rmFb(fb);
    if (handle) dev.gemClose(handle);
    if (dmabuf >= 0) native().closeFd(dmabuf);
    if (memfd >= 0) closeSync(memfd);
    freeFb(dev, own);
    dev.close();
    await collectMappings();
  });

  const show = (plane: TopoPlane, fbId: number): AtomicProp[] => {
    const v = (n: string, value: number) => ({ objectId: plane.id, propId: plane.props[n].id, value: BigInt(value) });
    return [v('FB_ID', fbId), v('CRTC_ID', crtcId), v('SRC_X', 0), v('SRC_Y', 0), v('SRC_W', W << 16), v('SRC_H', H << 16), v('CRTC_X', 0), v('CRTC_Y', 0), v('CRTC_W', W), v('CRTC_H', H)];
  };

  test("a memfd as QEMU's Map makes it, sealed, through UDMABUF_CREATE, PRIME and ADDFB2, shows pixel-exact", async () => {
    memfd = memfdCreate('directflip-lane-map', MFD_ALLOW_SEALING);
    ftruncateSync(memfd, SIZE);
    writeSync(memfd, picture(FIRST), 0, SIZE, 0);
    memfdAddSeals(memfd, F_SEAL_SHRINK);
    expect(memfdSeals(memfd) & F_SEAL_SHRINK).toBe(F_SEAL_SHRINK);
    const u = openUdmabuf();
    try {
      dmabuf = u.create(memfd, 0, SIZE);
    } finally {
      u.close();
    }
    handle = dev.primeFdToHandle(dmabuf);
    fb = dev.addFb2({ width: W, height: H, pixelFormat: DRM_FORMAT.XRGB8888, flags: DRM_MODE_FB_MODIFIERS, handles: [handle], pitches: [PITCH], offsets: [0], modifiers: [0n] });
    const primary = t.planes.find((p) => p.type === 'primary')!;
    dev.atomic(show(primary, fb), DRM_MODE_ATOMIC.ALLOW_MODESET);
    const want = new Image(W, H);
    want.layer(0, 0, W, H, FIRST);
    const got = await wb.capture(crtcId);
    emitPng('udmabuf-1-memfd', got);
    expect(got.diff(want)).toEqual([]);
  });

  test('pixels written into the memfd later show with no new fb and no plane commit: the scanout reads its pages, 0 bytes copied', async () => {
    if (!fb) throw new Error('nothing on screen (the previous test failed)');
    writeSync(memfd, picture(LATER), 0, SIZE, 0);
    const want = new Image(W, H);
    want.layer(0, 0, W, H, LATER);
    const got = await wb.capture(crtcId);
    emitPng('udmabuf-2-memfd-written', got);
    expect(got.diff(want)).toEqual([]);
  });
});
