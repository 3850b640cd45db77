/**
 * The qemu-dbus dma-buf path on real kernels: a harness plays QEMU's role on a real socketpair
 * (the D-Bus peer link QEMU hands its display listener), sending ScanoutDMABUF with a real
 * dma-buf fd from vgem and UpdateDMABUF, and waiting for each reply as QEMU does. The daemon's
 * DisplayListener imports the buffer into vkms and flips it through the frame pipeline; the
 * writeback shows the guest's pixels exactly, with 0 bytes copied.
 */
import { DRM_FORMAT, DRM_MODE_ATOMIC } from '../../src/kernel/constants';
import type { Topology } from '../../src/kernel/topology';
import type { KmsDevice } from '../../src/kernel/types';
import { MESSAGE } from '../../src/sources/dbus-peer';
import type { PeerMessage } from '../../src/sources/dbus-peer';
import type { DumbFb } from './guest';
import { collectMappings, dumbFb, emitPng, freeFb, Image, openVkmsDisplay, paint, sleep, Writeback } from './guest';
import type { GuestBuffer, QemuRig } from './qemu-rig';
import { qemuRig } from './qemu-rig';

const W = 480;
const H = 320;
const AT = { x: 200, y: 150 };
const BG = (x: number, y: number) => ((x >> 4) & 1 ? 0x102040 : 0x204010) + ((y >> 2) & 0x0f);
const GUEST1 = (x: number, y: number) => (((x + y) >> 5) & 1 ? 0xe0e0e0 : 0x2060c0) ^ (x & 0x1f);
const GUEST2 = (x: number, y: number) => (y < 40 ? 0xff4000 ^ x : GUEST1(x, y));

describe('qemu-dbus dma-buf path: a harness plays QEMU with vgem dma-bufs, shown on vkms', () => {
  let dev: KmsDevice;
  let t: Topology;
  let wb: Writeback;
  let crtcId = 0;
  let rig: QemuRig | null = null;
  let background: DumbFb | null = null;
  let guest: GuestBuffer | null = null;

  const call = (member: string, signature: string, body: unknown[]) => rig!.call(member, signature, body);
  const replied = (m: PeerMessage) => expect([m.type, m.errorName, m.body]).toEqual([MESSAGE.METHOD_RETURN, undefined, []]);
  const flips = async (n: number) => {
    for (let i = 0; i < 300 && rig!.pipeline.counters.flipped < n; i++) await sleep(10);
    expect(rig!.errors).toEqual([]);
    expect(rig!.pipeline.counters.flipped).toBeGreaterThanOrEqual(n);
  };
  const expected = (px: (x: number, y: number) => number) => {
    const img = new Image(1024, 768);
    img.layer(0, 0, 1024, 768, BG);
    img.layer(AT.x, AT.y, W, H, px);
    return img;
  };

  beforeAll(async () => {
    ({ dev, t, wb, crtcId } = await openVkmsDisplay());
    // A known background on the primary plane.
    background = dumbFb(dev, 1024, 768);
    paint(background.map, 1024, 768, background.pitch, BG);
    const primary = t.planes.find((p) => p.type === 'primary')!;
    const v = (n: string, value: number) => ({ objectId: primary.id, propId: primary.props[n].id, value: BigInt(value) });
    dev.atomic([v('FB_ID', background.fb), v('CRTC_ID', crtcId), v('SRC_X', 0), v('SRC_Y', 0), v('SRC_W', 1024 << 16), v('SRC_H', 768 << 16), v('CRTC_X', 0), v('CRTC_Y', 0), v('CRTC_W', 1024), v('CRTC_H', 768)], DRM_MODE_ATOMIC.ALLOW_MODESET);
    rig = await qemuRig(dev, t, crtcId, { ...AT, w: W, h: H });
    guest = rig.buffer(W, H);
  });

  afterAll(async () => {
    try {
      await rig?.close();
    } finally {
      if (background) freeFb(dev, background);
      background = null;
      dev.close();
      await collectMappings();
    }
  });

  test('ScanoutDMABUF with a vgem dma-buf is imported, flipped and answered; the writeback shows the guest exactly', async () => {
    rig!.draw(guest!, GUEST1);
    replied(await call('ScanoutDMABUF', 'huuuutb', [guest!.fd, W, H, guest!.pitch, DRM_FORMAT.XRGB8888, 0n, false]));
    await flips(1);
    const got = await wb.capture(crtcId);
    emitPng('qemu-dbus-1-scanout-dmabuf', got);
    expect(got.diff(expected(GUEST1))).toEqual([]);
    expect(rig!.logs).toEqual([]);
  });

  test('the guest draws into the same buffer and QEMU sends UpdateDMABUF: the new pixels show, 0 bytes copied', async () => {
    const before = rig!.pipeline.counters.flipped;
    rig!.draw(guest!, GUEST2);
    replied(await call('UpdateDMABUF', 'iiii', [0, 0, W, 40]));
    await flips(before + 1);
    const got = await wb.capture(crtcId);
    emitPng('qemu-dbus-2-update-dmabuf', got);
    expect(got.diff(expected(GUEST2))).toEqual([]);
    expect(rig!.pipeline.counters.bytesCopied).toBe(0);
    expect(rig!.listener.cachedFbs).toBe(1);
  });

  // vkms gained a rotation property (reflect-y among its values) in 6.12; 6.1's planes have none.
  const canReflectY = () => t.planes.some((p) => p.type === 'overlay' && !!p.props.rotation?.enums?.some((e) => e.name === 'reflect-y'));

  test("a bottom-up buffer (y0_top) is refused with a reason QEMU gets back where vkms's planes cannot reflect-y, else shown flipped", async () => {
    if (canReflectY()) {
      const before = rig!.pipeline.counters.flipped;
      replied(await call('ScanoutDMABUF', 'huuuutb', [guest!.fd, W, H, guest!.pitch, DRM_FORMAT.XRGB8888, 0n, true]));
      await flips(before + 1);
      const got = await wb.capture(crtcId);
      emitPng('qemu-dbus-3-bottom-up', got);
      expect(got.diff(expected((x, y) => GUEST2(x, H - 1 - y)))).toEqual([]);
      return;
    }
    let why = '';
    try {
      await call('ScanoutDMABUF', 'huuuutb', [guest!.fd, W, H, guest!.pitch, DRM_FORMAT.XRGB8888, 0n, true]);
    } catch (e) {
      why = (e as Error).message;
    }
    expect(why).toMatch(/cannot reflect-y/);
  });
});
