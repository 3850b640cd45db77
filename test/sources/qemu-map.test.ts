import { closeSync, ftruncateSync, writeSync } from 'node:fs';
import { F_SEAL_SHRINK, F_SEAL_WRITE, MFD_ALLOW_SEALING, memfdAddSeals, memfdCreate, memfdSeals } from '../../src/kernel/native-socket';
import { SimHost } from '../../src/kernel/sim/host';
import { loadProfile } from '../../src/kernel/sim/load-profile';
import type { PeerMessage } from '../../src/sources/dbus-peer';
import { MESSAGE } from '../../src/sources/dbus-peer';
import { MAP } from '../../src/sources/listener-calls';
import { PIXMAN } from '../../src/sources/pixel-scanout';
import { fdSnapshot, fdsOpenedSince } from '../helpers/fds';
import { closed, listenerRig, withVblanks } from '../helpers/listener-rig';
import type { ListenerRig } from '../helpers/listener-rig';
import { settleVblanks, shownAt } from '../helpers/screen';

/**
 * The harness plays QEMU 9.2+ over a real socketpair: ScanoutMap hands over a real memfd, the
 * harness draws into it and names the damage with UpdateMap. QEMU 10.0's own memfds carry no seal
 * but F_SEAL_SEAL (qemu_memfd_alloc with seals 0), so they are copied; a memfd sealed against
 * shrinking, in whole pages, is scanned out in place through the simulated /dev/udmabuf.
 */
const W = 64;
const H = 48;
const STRIDE = W * 4;
const BYTES = STRIDE * H; // 12288: three whole pages
const DST = { x: 100, y: 50 };

let host: SimHost;
let rig: ListenerRig;
const opened: number[] = [];

function hostWith(udmabuf: boolean): SimHost {
  const p = loadProfile('vkms');
  return new SimHost(udmabuf ? p : { ...p, userspace: { modules: [] } });
}
async function rigOn(h: SimHost, w = W, hh = H): Promise<ListenerRig> {
  return listenerRig(h, { w, h: hh, dst: DST, replyWithinMs: 10_000, udmabuf: () => h.openUdmabuf('/dev/udmabuf') });
}
/** A memfd as QEMU 10.0 makes one (`sealed`: as a producer that seals it against shrinking). */
function surface(size: number, seals: number | null): number {
  const fd = seals === null ? memfdCreate('displaysurface') : memfdCreate('displaysurface', MFD_ALLOW_SEALING);
  opened.push(fd);
  ftruncateSync(fd, size);
  if (seals) memfdAddSeals(fd, seals);
  return fd;
}
/** Paints a rectangle of the shared picture (BGRX), at `offset` in the memfd. */
function paint(fd: number, [r, g, b]: number[], rect = { x: 0, y: 0, w: W, h: H }, offset = 0, stride = STRIDE): void {
  const row = Buffer.alloc(rect.w * 4);
  for (let i = 0; i < row.length; i += 4) row.set([b, g, r, 0], i);
  for (let y = rect.y; y < rect.y + rect.h; y++) writeSync(fd, row, 0, row.length, offset + y * stride + rect.x * 4);
}
const mapCall = (member: string, signature: string, body: unknown[]) => rig.qemu.call({ path: '/org/qemu/Display1/Listener', interface: MAP, member, signature, body }, 5000);
const call = (member: string, signature: string, body: unknown[]): Promise<PeerMessage> => withVblanks(host, mapCall(member, signature, body));
const scanoutMap = (fd: number, offset = 0, w = W, h = H, stride = STRIDE, format: number = PIXMAN.x8r8g8b8) => call('ScanoutMap', 'huuuuu', [fd, offset, w, h, stride, format]);
const updateMap = (x: number, y: number, w: number, h: number) => call('UpdateMap', 'iiii', [x, y, w, h]);
const refusal = (p: Promise<PeerMessage>) => p.then((m) => `unexpected success: ${m.member}`, (e: Error) => e.message);
const expectOk = (m: PeerMessage) => expect([m.type, m.errorName]).toEqual([MESSAGE.METHOD_RETURN, undefined]);
const shown = (x: number, y: number) => shownAt(host, rig.crtc, DST.x + x, DST.y + y);
const copied = () => rig.pipeline.plane(rig.overlay).bytesCopied;
const settle = () => settleVblanks(host, 3);

afterEach(() => {
  rig.close();
  for (const fd of opened.splice(0)) closeSync(fd);
  host.stop();
});

describe('with /dev/udmabuf', () => {
  beforeEach(async () => {
    host = hostWith(true);
    rig = await rigOn(host);
  });

  test('the listener says it implements Listener.Unix.Map', async () => {
    const all = await rig.qemu.call({ path: '/org/qemu/Display1/Listener', interface: 'org.freedesktop.DBus.Properties', member: 'GetAll', signature: 's', body: ['org.qemu.Display1.Listener'] });
    expect((all.body[0] as Record<string, { value: string[] }>).Interfaces.value).toContain(MAP);
  });

  test('a memfd sealed against shrinking, in whole pages, is scanned out in place: pixel-exact, 0 bytes copied, every fd closed', async () => {
    const fd = surface(BYTES, F_SEAL_SHRINK);
    paint(fd, [0, 0, 200]);
    const before = fdSnapshot();
    expectOk(await scanoutMap(fd));
    await settle();
    expect(fdsOpenedSince(before)).toEqual([]); // the udmabuf's fd closed; the GEM handle holds the pages
    expect([shown(5, 5), shown(W - 1, H - 1)]).toEqual([[0, 0, 200], [0, 0, 200]]);
    // The guest draws into the shared memory; UpdateMap only says where.
    paint(fd, [250, 10, 0], { x: 8, y: 4, w: 16, h: 8 });
    expectOk(await updateMap(8, 4, 16, 8));
    await settle();
    expect([shown(8, 4), shown(23, 11), shown(24, 11), shown(8, 12)]).toEqual([[250, 10, 0], [250, 10, 0], [0, 0, 200], [0, 0, 200]]);
    expect(copied()).toBe(0);
    expect(rig.listener.showing).toBe(`${W}x${H} map via udmabuf`);
    expect(rig.listener.copyReason).toBe('');
  });

  test('an offset inside a page: the udmabuf starts at that page and the fb at the offset in it', async () => {
    const fd = surface(4 * 4096, F_SEAL_SHRINK);
    paint(fd, [0, 90, 0], undefined, 256);
    expectOk(await scanoutMap(fd, 256));
    await settle();
    expect([shown(0, 0), shown(W - 1, H - 1)]).toEqual([[0, 90, 0], [0, 90, 0]]);
    const fb = [...host.card.fbs.values()].at(-1)!;
    expect([fb.offsets[0], copied(), rig.listener.scanoutPath]).toEqual([256, 0, 'map via udmabuf']);
  });

  test("QEMU 10.0's memfd (F_SEAL_SEAL only) is copied, the damage only, and status says why", async () => {
    const fd = surface(BYTES, null);
    expect(memfdSeals(fd)).toBe(1); // F_SEAL_SEAL: a memfd made without MFD_ALLOW_SEALING
    paint(fd, [0, 0, 200]);
    expectOk(await scanoutMap(fd));
    await settle();
    expect(shown(5, 5)).toEqual([0, 0, 200]);
    expect(copied()).toBe(BYTES); // the first picture, whole
    expect([rig.listener.scanoutPath, rig.listener.copyReason]).toEqual(['map copying', expect.stringMatching(/not sealed against shrinking \(F_SEAL_SHRINK\)/)]);
    // Warm up the triple buffers, then 20 updates of one 8x8 rectangle.
    for (let i = 0; i < 3; i++) {
      paint(fd, [i, 0, 0], { x: 0, y: 0, w: 8, h: 8 });
      expectOk(await updateMap(0, 0, 8, 8));
      await settle();
    }
    const start = copied();
    for (let i = 0; i < 20; i++) {
      paint(fd, [100 + i, 0, 0], { x: 8, y: 8, w: 8, h: 8 });
      expectOk(await updateMap(8, 8, 8, 8));
      await settle();
      expect(shown(8 + (i % 8), 8 + (i % 8))).toEqual([100 + i, 0, 0]);
    }
    // Each update copies its 256 bytes into a free buffer, plus what that buffer missed: at
    // most the previous update's rectangle. Nothing near the 12288-byte picture.
    const per = (copied() - start) / 20;
    expect(per).toBeGreaterThanOrEqual(8 * 8 * 4);
    expect(per).toBeLessThanOrEqual(2 * 8 * 8 * 4 + (3 * 8 * 8 * 4) / 20);
    expect(shown(30, 30)).toEqual([0, 0, 200]);
  });

  test('a memfd not ending on a page after the picture, or sealed against writing, is copied with the reason', async () => {
    rig.close();
    rig = await rigOn(host, 60, 40); // 9600 bytes: not whole pages
    const odd = surface(60 * 4 * 40, F_SEAL_SHRINK);
    paint(odd, [7, 8, 9], { x: 0, y: 0, w: 60, h: 40 }, 0, 240);
    expectOk(await scanoutMap(odd, 0, 60, 40, 240));
    await settle();
    expect([shown(59, 39), rig.listener.copyReason]).toEqual([[7, 8, 9], expect.stringMatching(/9600-byte memfd does not end on a page boundary/)]);
    rig.close();
    rig = await rigOn(host);
    const ro = surface(BYTES, F_SEAL_SHRINK | F_SEAL_WRITE);
    expectOk(await scanoutMap(ro));
    expect(rig.listener.copyReason).toMatch(/sealed against writing \(F_SEAL_WRITE\)/);
  });

  test('hostile ScanoutMap and UpdateMap numbers are refused with the reason, fds closed, and the stream goes on', async () => {
    const fd = surface(BYTES, null);
    const before = fdSnapshot();
    expect(await refusal(updateMap(0, 0, 4, 4))).toMatch(/UpdateMap before ScanoutMap/);
    expect(await refusal(scanoutMap(fd, 0, W, H + 1))).toMatch(/ScanoutMap 64x49 \(stride 256\) at offset 0 does not fit the 12288-byte memfd/);
    expect(await refusal(scanoutMap(fd, 0xfffffff0))).toMatch(/at offset 4294967280 does not fit/);
    expect(await refusal(scanoutMap(fd, 0, W, H, W * 4 - 4))).toMatch(/ScanoutMap 64x48 with stride 252 is malformed/);
    expect(await refusal(scanoutMap(fd, 0, 0, H))).toMatch(/ScanoutMap 0x48 with stride 256 is malformed/);
    expect(await refusal(scanoutMap(fd, 0, W, H, STRIDE, 0x10020565))).toMatch(/pixman format 0x10020565 is not supported/);
    expect(fdsOpenedSince(before)).toEqual([]);
    paint(fd, [0, 0, 44]);
    expectOk(await scanoutMap(fd));
    expect(await refusal(updateMap(W - 2, 0, 4, 4))).toMatch(/UpdateMap 4x4\+62\+0 is outside the 64x48 scanout/);
    // QEMU shrinks the memfd it did not seal: the update fails, the daemon does not die of SIGBUS.
    ftruncateSync(fd, STRIDE * 10);
    expect(await refusal(updateMap(0, 20, 8, 8))).toMatch(/the shared memfd ended at row 20 of the 64x48 picture: QEMU shrank it/);
    await settle();
    expect(shown(1, 1)).toEqual([0, 0, 44]);
  });

  test('a ScanoutMap of the wrong signature or without its fd closes the link with the reason', async () => {
    const fd = surface(BYTES, null);
    const gone = closed(rig.ours);
    expect(await refusal(mapCall('ScanoutMap', 'huuuu', [fd, 0, W, H, STRIDE]))).toMatch(/ScanoutMap came with the signature "huuuu", not "huuuuu"/);
    expect((await gone)?.message).toMatch(/malformed call: ScanoutMap/);
    rig.close();
    rig = await rigOn(host);
    const gone2 = closed(rig.ours);
    void mapCall('ScanoutMap', 'uuuuuu', [0, 0, W, H, STRIDE, PIXMAN.x8r8g8b8]).catch(() => undefined);
    expect((await gone2)?.message).toMatch(/ScanoutMap came with 0 file descriptors, not 1/);
  });
});

describe('without /dev/udmabuf', () => {
  beforeEach(async () => {
    host = hostWith(false);
    rig = await rigOn(host);
  });

  test('even a sealed memfd in whole pages is copied, pixel-exact, the damage only; status says there is no udmabuf', async () => {
    const fd = surface(BYTES, F_SEAL_SHRINK);
    paint(fd, [0, 0, 200]);
    const before = fdSnapshot();
    expectOk(await scanoutMap(fd));
    await settle();
    expect([shown(0, 0), shown(W - 1, H - 1)]).toEqual([[0, 0, 200], [0, 0, 200]]);
    expect([rig.listener.showing, rig.listener.copyReason]).toEqual([`${W}x${H} map copying`, 'this kernel has no /dev/udmabuf (modprobe udmabuf)']);
    const start = copied();
    paint(fd, [9, 9, 9], { x: 4, y: 4, w: 4, h: 2 });
    expectOk(await updateMap(4, 4, 4, 2));
    await settle();
    expect([shown(4, 4), shown(7, 5), shown(8, 5)]).toEqual([[9, 9, 9], [9, 9, 9], [0, 0, 200]]);
    // The free buffer missed the first picture: it catches up once, then only damage moves.
    expect(copied() - start).toBeLessThanOrEqual(BYTES + 4 * 2 * 4);
    // Our own fd of the memfd is the one fd the copying path keeps, until the stream ends.
    expect(fdsOpenedSince(before)).toEqual([expect.stringMatching(/memfd:displaysurface/)]);
    rig.listener.close();
    expect(fdsOpenedSince(before)).toEqual([]);
  });
});
