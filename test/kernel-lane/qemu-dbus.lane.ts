/**
 * The qemu-dbus dma-buf path on real kernels: a harness plays QEMU's role on a real socketpair
 * (the D-Bus peer link QEMU hands its display listener), sending ScanoutDMABUF with a real
 * dma-buf fd from vgem and UpdateDMABUF, and waiting for each reply as QEMU does. The daemon's
 * DisplayListener imports the buffer into vkms and flips it through the frame pipeline; the
 * writeback shows the guest's pixels exactly, with 0 bytes copied.
 */
import { DRM_CLOEXEC, DRM_FORMAT, DRM_MODE_ATOMIC, DRM_RDWR } from '../../src/kernel/constants';
import { socketPair } from '../../src/kernel/native-socket';
import type { Topology, TopoPlane } from '../../src/kernel/topology';
import type { KmsDevice } from '../../src/kernel/types';
import type { PlaneAssignment } from '../../src/kms/types';
import { MESSAGE, PeerLink } from '../../src/sources/dbus-peer';
import type { PeerMessage } from '../../src/sources/dbus-peer';
import { EventHub, FramePipeline } from '../../src/sources/pipeline';
import { DisplayListener } from '../../src/sources/qemu-listener';
import { ScanoutTarget } from '../../src/sources/scanout-target';
import type { DumbFb } from './guest';
import { cardOf, collectMappings, dumbFb, emitPng, freeFb, Image, native, openVkmsDisplay, paint, sleep, Writeback } from './guest';

const LISTENER = 'org.qemu.Display1.Listener';
const W = 480;
const H = 320;
const AT = { x: 200, y: 150 };
const BG = (x: number, y: number) => ((x >> 4) & 1 ? 0x102040 : 0x204010) + ((y >> 2) & 0x0f);
const GUEST1 = (x: number, y: number) => (((x + y) >> 5) & 1 ? 0xe0e0e0 : 0x2060c0) ^ (x & 0x1f);
const GUEST2 = (x: number, y: number) => (y < 40 ? 0xff4000 ^ x : GUEST1(x, y));

describe('qemu-dbus dma-buf path: a harness plays QEMU with vgem dma-bufs, shown on vkms', () => {
  let vgem: KmsDevice;
  let dev: KmsDevice;
  let t: Topology;
  let wb: Writeback;
  let crtcId = 0;
  let overlay: TopoPlane;
  let qemu: PeerLink | null = null;
  let ours: PeerLink | null = null;
  let listener: DisplayListener | null = null;
  let pipeline: FramePipeline | null = null;
  let background: DumbFb | null = null;
  let guest: { handle: number; fd: number; pitch: number; size: number } | null = null;
  const logs: string[] = [];
  const errors: Error[] = [];

  const call = (member: string, signature: string, body: unknown[]) =>
    qemu!.call({ path: '/org/qemu/Display1/Listener', interface: LISTENER, member, signature, body }, 10_000);
  const replied = (m: PeerMessage) => expect([m.type, m.errorName, m.body]).toEqual([MESSAGE.METHOD_RETURN, undefined, []]);
  const flips = async (n: number) => {
    for (let i = 0; i < 300 && pipeline!.counters.flipped < n; i++) await sleep(10);
    expect(errors).toEqual([]);
    expect(pipeline!.counters.flipped).toBeGreaterThanOrEqual(n);
  };
  const expected = (px: (x: number, y: number) => number) => {
    const img = new Image(1024, 768);
    img.layer(0, 0, 1024, 768, BG);
    img.layer(AT.x, AT.y, W, H, px);
    return img;
  };
  /** The guest draws into its buffer through vgem's own mapping (its GPU, in life). */
  const draw = (px: (x: number, y: number) => number) => {
    const g = guest!;
    paint(vgem.mmap(vgem.mapDumb(g.handle), g.size), W, H, g.pitch, px);
  };

  beforeAll(async () => {
    vgem = native().openKms(cardOf('vgem'));
    ({ dev, t, wb, crtcId } = await openVkmsDisplay());
    overlay = t.planes.find((p) => p.type === 'overlay')!;
    // A known background on the primary plane.
    background = dumbFb(dev, 1024, 768);
    paint(background.map, 1024, 768, background.pitch, BG);
    const primary = t.planes.find((p) => p.type === 'primary')!;
    const v = (n: string, value: number) => ({ objectId: primary.id, propId: primary.props[n].id, value: BigInt(value) });
    dev.atomic([v('FB_ID', background.fb), v('CRTC_ID', crtcId), v('SRC_X', 0), v('SRC_Y', 0), v('SRC_W', 1024 << 16), v('SRC_H', 768 << 16), v('CRTC_X', 0), v('CRTC_Y', 0), v('CRTC_W', 1024), v('CRTC_H', 768)], DRM_MODE_ATOMIC.ALLOW_MODESET);
    // The guest's buffer, shared as a dma-buf.
    const d = vgem.createDumb(W, H, 32);
    guest = { handle: d.handle, fd: vgem.primeHandleToFd(d.handle, DRM_CLOEXEC | DRM_RDWR), pitch: d.pitch, size: d.size };
    // The peer link QEMU would be handed, and the daemon's listener on it.
    const [a, b] = socketPair();
    ours = new PeerLink(a, 'client');
    qemu = new PeerLink(b, 'server');
    await Promise.all([ours.open(), qemu.open()]);
    pipeline = new FramePipeline(dev, crtcId, new EventHub(dev), () => listener?.retire(), (e) => errors.push(e));
    const plane: PlaneAssignment = { key: 'console', from: 'primary', planeId: overlay.id, planeType: 'overlay', fbId: 0, src: { x: 0, y: 0, w: W, h: H }, dst: { ...AT, w: W, h: H }, zpos: null, setZpos: false };
    listener = new DisplayListener(ours, new ScanoutTarget(dev, t, plane, crtcId, pipeline), { log: (m) => logs.push(m) });
  });

  afterAll(async () => {
    // Off screen first (see vgem.lane.ts), then everything else.
    const off = ['FB_ID', 'CRTC_ID'].map((n) => ({ objectId: overlay.id, propId: overlay.props[n].id, value: 0n }));
    try {
      await sleep(50);
      dev.atomic(off, 0);
      await sleep(100);
    } finally {
      listener?.close();
      qemu?.close();
      pipeline?.stop();
      if (guest) {
        native().closeFd(guest.fd);
        vgem.gemClose(guest.handle);
      }
      if (background) freeFb(dev, background);
      background = null;
      dev.close();
      vgem.close();
      await collectMappings();
    }
  });

  test('ScanoutDMABUF with a vgem dma-buf is imported, flipped and answered; the writeback shows the guest exactly', async () => {
    draw(GUEST1);
    replied(await call('ScanoutDMABUF', 'huuuutb', [guest!.fd, W, H, guest!.pitch, DRM_FORMAT.XRGB8888, 0n, false]));
    await flips(1);
    const got = await wb.capture(crtcId);
    emitPng('qemu-dbus-1-scanout-dmabuf', got);
    expect(got.diff(expected(GUEST1))).toEqual([]);
    expect(logs).toEqual([]);
  });

  test('the guest draws into the same buffer and QEMU sends UpdateDMABUF: the new pixels show, 0 bytes copied', async () => {
    const before = pipeline!.counters.flipped;
    draw(GUEST2);
    replied(await call('UpdateDMABUF', 'iiii', [0, 0, W, 40]));
    await flips(before + 1);
    const got = await wb.capture(crtcId);
    emitPng('qemu-dbus-2-update-dmabuf', got);
    expect(got.diff(expected(GUEST2))).toEqual([]);
    expect(pipeline!.counters.bytesCopied).toBe(0);
    expect(listener!.cachedFbs).toBe(1);
  });

  test("a bottom-up buffer (y0_top) is refused with a reason QEMU gets back: vkms's planes cannot reflect-y", async () => {
    let why = '';
    try {
      await call('ScanoutDMABUF', 'huuuutb', [guest!.fd, W, H, guest!.pitch, DRM_FORMAT.XRGB8888, 0n, true]);
    } catch (e) {
      why = (e as Error).message;
    }
    expect(why).toMatch(/cannot reflect-y/);
  });
});
