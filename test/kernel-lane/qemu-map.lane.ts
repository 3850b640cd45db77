/**
 * Listener.Unix.Map on the real kernel (issue 14 items 1, 2): the harness plays QEMU 9.2+ on a
 * real socketpair, handing the daemon's DisplayListener the console's surface as a real memfd
 * (ScanoutMap) and naming the damage (UpdateMap). A memfd sealed against shrinking goes through
 * our map path's UDMABUF_CREATE, PRIME import and ADDFB2 and is scanned out in place: the
 * writeback shows it pixel for pixel and the pipeline counts 0 bytes copied, also after the guest
 * draws into it. QEMU 10.0's own memfds carry no seals: those are copied, the damage only, and
 * the listener says why.
 */
import { closeSync, ftruncateSync, writeSync } from 'node:fs';
import { DRM_MODE_ATOMIC } from '../../src/kernel/constants';
import { F_SEAL_SHRINK, MFD_ALLOW_SEALING, memfdAddSeals, memfdCreate } from '../../src/kernel/native-socket';
import type { Topology } from '../../src/kernel/topology';
import type { KmsDevice } from '../../src/kernel/types';
import { MESSAGE } from '../../src/sources/dbus-peer';
import type { PeerMessage } from '../../src/sources/dbus-peer';
import { MAP } from '../../src/sources/listener-calls';
import { PIXMAN } from '../../src/sources/qemu-listener';
import type { DumbFb } from './guest';
import { collectMappings, dumbFb, emitPng, freeFb, Image, native, openVkmsDisplay, paint, sleep, Writeback } from './guest';
import type { QemuRig } from './qemu-rig';
import { qemuRig } from './qemu-rig';

const W = 480;
const H = 320;
const STRIDE = W * 4;
const BYTES = STRIDE * H; // 150 pages: the picture ends on a page, as udmabuf needs
const AT = { x: 240, y: 200 };
const BG = (x: number, y: number) => ((y >> 4) & 1 ? 0x183050 : 0x301850) + ((x >> 3) & 0x0f);
const FIRST = (x: number, y: number) => (((x - y) >> 4) & 1 ? 0xf0d020 : 0x2040a0) ^ (y & 0x1f);
const DAMAGE = { x: 32, y: 16, w: 96, h: 40 };
const DRAWN = (x: number, y: number) => (x >= DAMAGE.x && x < DAMAGE.x + DAMAGE.w && y >= DAMAGE.y && y < DAMAGE.y + DAMAGE.h ? 0x00ff80 ^ x : FIRST(x, y));

/** A memfd holding `px`, made as QEMU 9.2+ makes its surface; `sealed`: as the zero-copy path needs. */
function surface(px: (x: number, y: number) => number, sealed: boolean): number {
  const fd = memfdCreate('directflip-lane-surface', sealed ? MFD_ALLOW_SEALING : 0);
  ftruncateSync(fd, BYTES);
  draw(fd, px, { x: 0, y: 0, w: W, h: H });
  if (sealed) memfdAddSeals(fd, F_SEAL_SHRINK);
  return fd;
}

/** The guest draws rectangle `r` of `px` into the shared memory, row by row. */
function draw(fd: number, px: (x: number, y: number) => number, r: { x: number; y: number; w: number; h: number }): void {
  const row = Buffer.alloc(r.w * 4);
  for (let y = r.y; y < r.y + r.h; y++) {
    for (let x = 0; x < r.w; x++) row.writeUInt32LE(px(r.x + x, y) >>> 0, x * 4);
    writeSync(fd, row, 0, row.length, y * STRIDE + r.x * 4);
  }
}

describe('Listener.Unix.Map on vkms: a harness plays QEMU 9.2+ with real memfds', () => {
  let dev: KmsDevice;
  let t: Topology;
  let wb: Writeback;
  let crtcId = 0;
  let rig: QemuRig | null = null;
  let background: DumbFb | null = null;
  const fds: number[] = [];

  const call = (member: string, signature: string, body: unknown[]) => rig!.call(member, signature, body, MAP);
  const replied = (m: PeerMessage) => expect([m.type, m.errorName, m.body]).toEqual([MESSAGE.METHOD_RETURN, undefined, []]);
  const copied = () => rig!.pipeline.plane(rig!.overlay.id).bytesCopied;
  const flips = async (n: number) => {
    for (let i = 0; i < 300 && rig!.pipeline.counters.flipped < n; i++) await sleep(10);
    expect(rig!.errors).toEqual([]);
    expect(rig!.pipeline.counters.flipped).toBeGreaterThanOrEqual(n);
  };
  const shows = async (name: string, px: (x: number, y: number) => number) => {
    const want = new Image(1024, 768);
    want.layer(0, 0, 1024, 768, BG);
    want.layer(AT.x, AT.y, W, H, px);
    const got = await wb.capture(crtcId);
    emitPng(name, got);
    expect(got.diff(want)).toEqual([]);
  };
  const fresh = async (udmabuf: boolean) => {
    await rig?.close();
    rig = await qemuRig(dev, t, crtcId, { ...AT, w: W, h: H }, udmabuf ? { udmabuf: () => native().openUdmabuf('/dev/udmabuf') } : {});
  };

  beforeAll(async () => {
    ({ dev, t, wb, crtcId } = await openVkmsDisplay());
    background = dumbFb(dev, 1024, 768);
    paint(background.map, 1024, 768, background.pitch, BG);
    const primary = t.planes.find((p) => p.type === 'primary')!;
    const v = (n: string, value: number) => ({ objectId: primary.id, propId: primary.props[n].id, value: BigInt(value) });
    dev.atomic([v('FB_ID', background.fb), v('CRTC_ID', crtcId), v('SRC_X', 0), v('SRC_Y', 0), v('SRC_W', 1024 << 16), v('SRC_H', 768 << 16), v('CRTC_X', 0), v('CRTC_Y', 0), v('CRTC_W', 1024), v('CRTC_H', 768)], DRM_MODE_ATOMIC.ALLOW_MODESET);
    await fresh(true);
  });

  afterAll(async () => {
    try {
      await rig?.close();
    } finally {
      for (const fd of fds.splice(0)) closeSync(fd);
      if (background) freeFb(dev, background);
      dev.close();
      await collectMappings();
    }
  });

  test('ScanoutMap of a memfd sealed against shrinking: scanned out in place through udmabuf, pixel-exact, 0 bytes copied', async () => {
    const fd = surface(FIRST, true);
    fds.push(fd);
    replied(await call('ScanoutMap', 'huuuuu', [fd, 0, W, H, STRIDE, PIXMAN.x8r8g8b8]));
    await flips(1);
    expect([rig!.listener.scanoutPath, rig!.listener.copyReason]).toEqual(['map via udmabuf', '']);
    await shows('qemu-map-1-udmabuf', FIRST);
    expect(copied()).toBe(0);
    expect(rig!.logs).toEqual([]);
  });

  test('the guest draws into the memfd and QEMU sends UpdateMap: the new pixels show, still 0 bytes copied', async () => {
    const before = rig!.pipeline.counters.flipped;
    draw(fds[0], DRAWN, DAMAGE);
    replied(await call('UpdateMap', 'iiii', [DAMAGE.x, DAMAGE.y, DAMAGE.w, DAMAGE.h]));
    await flips(before + 1);
    await shows('qemu-map-2-udmabuf-update', DRAWN);
    expect(copied()).toBe(0);
  });

  test("QEMU 10.0's memfd (no seals) is copied, only the damage after the first picture, and the listener says why", async () => {
    await fresh(true);
    const fd = surface(FIRST, false);
    fds.push(fd);
    replied(await call('ScanoutMap', 'huuuuu', [fd, 0, W, H, STRIDE, PIXMAN.x8r8g8b8]));
    await flips(1);
    expect([rig!.listener.scanoutPath, rig!.listener.copyReason]).toEqual(['map copying', expect.stringMatching(/not sealed against shrinking \(F_SEAL_SHRINK\)/)]);
    expect(copied()).toBe(BYTES);
    await shows('qemu-map-3-copied', FIRST);
    // Warm up the pixel path's buffers with the same damage, then count five more updates.
    const update = async () => {
      const n = rig!.pipeline.counters.flipped;
      replied(await call('UpdateMap', 'iiii', [DAMAGE.x, DAMAGE.y, DAMAGE.w, DAMAGE.h]));
      await flips(n + 1);
    };
    draw(fd, DRAWN, DAMAGE);
    for (let i = 0; i < 3; i++) await update();
    const start = copied();
    for (let i = 0; i < 5; i++) await update();
    const per = (copied() - start) / 5;
    const damage = DAMAGE.w * DAMAGE.h * 4;
    // Each update copies its rectangle into a free buffer, plus what that buffer missed (here the
    // same rectangle): between one and two damages, never the 614400-byte picture.
    expect(per).toBeGreaterThanOrEqual(damage);
    expect(per).toBeLessThanOrEqual(2 * damage);
    await shows('qemu-map-4-copied-update', DRAWN);
  });
});
