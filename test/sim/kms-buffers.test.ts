import { inflateSync } from 'node:zlib';
import { DRM_CLIENT_CAP, DRM_FORMAT, DRM_MODE_ATOMIC, DRM_MODE_FB_MODIFIERS, fourcc } from '../../src/kernel/constants';
import { newSimBuffer } from '../../src/kernel/sim/buffers';
import { renderCrtc } from '../../src/kernel/sim/render';
import { readTopology } from '../../src/kernel/topology';
import { encodePng } from '../../src/util/png';
import { errOf } from '../contract/kms.contract';
import { simKms } from '../helpers/sim';

function solid(map: Buffer, bgrx: [number, number, number, number]): void {
  for (let i = 0; i < map.length; i += 4) map.set(bgrx, i);
}

test('what a plane shows is what the CRTC renders, composited by zpos', () => {
  const { dev, f, host } = simKms('gvt-skylake');
  const bg = f.makeFb();
  solid(dev.mmap(dev.mapDumb(bg.dumb.handle), bg.dumb.size), [255, 0, 0, 255]); // blue
  const top = f.makeFb(100, 50);
  solid(dev.mmap(dev.mapDumb(top.dumb.handle), top.dumb.size), [0, 0, 255, 255]); // red
  dev.atomic([...f.planeProps(f.primary, bg.fb, f.mode.hdisplay, f.mode.vdisplay), ...f.planeProps(f.overlay!, top.fb, 100, 50, 10, 20)], 0);
  const pic = renderCrtc(host.card, f.crtc.id);
  const at = (x: number, y: number) => [...pic.rgba.subarray((y * pic.width + x) * 4, (y * pic.width + x) * 4 + 4)];
  expect([pic.width, pic.height]).toEqual([f.mode.hdisplay, f.mode.vdisplay]);
  expect(at(0, 0)).toEqual([0, 0, 255, 255]);
  expect(at(10, 20)).toEqual([255, 0, 0, 255]);
  expect(at(109, 69)).toEqual([255, 0, 0, 255]);
  expect(at(110, 70)).toEqual([0, 0, 255, 255]);
});

test('the PNG of a rendered CRTC decodes back to the same pixels', () => {
  const { f, host } = simKms('vkms');
  const pic = renderCrtc(host.card, f.crtc.id);
  const png = encodePng(pic.width, pic.height, pic.rgba);
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const idat = png.subarray(png.indexOf('IDAT') + 4, png.indexOf('IEND') - 8);
  const raw = inflateSync(idat);
  const row = pic.width * 4 + 1;
  expect(raw.length).toBe(row * pic.height);
  for (const y of [0, 100, pic.height - 1]) expect(raw.subarray(y * row + 1, (y + 1) * row)).toEqual(pic.rgba.subarray(y * pic.width * 4, (y + 1) * pic.width * 4));
});

test('a writeback job writes the CRTC output into its fb and the property resets', () => {
  const { dev, f, host } = simKms('vkms');
  dev.setClientCap(DRM_CLIENT_CAP.WRITEBACK_CONNECTORS, 1);
  const t = readTopology(dev);
  const wb = t.connectors.find((c) => c.writeback)!;
  const out = f.makeFb();
  const props = [
    { objectId: wb.id, propId: wb.props.CRTC_ID.id, value: BigInt(f.crtc.id) },
    { objectId: wb.id, propId: wb.props.WRITEBACK_FB_ID.id, value: BigInt(out.fb) },
  ];
  dev.atomic(props, DRM_MODE_ATOMIC.ALLOW_MODESET);
  const written = dev.mmap(dev.mapDumb(out.dumb.handle), out.dumb.size);
  const pic = renderCrtc(host.card, f.crtc.id);
  expect([written[out.dumb.pitch * 5 + 8], written[out.dumb.pitch * 5 + 9], written[out.dumb.pitch * 5 + 10]]).toEqual([pic.rgba[(5 * pic.width + 2) * 4 + 2], pic.rgba[(5 * pic.width + 2) * 4 + 1], pic.rgba[(5 * pic.width + 2) * 4]]);
  expect(readTopology(dev).connectors.find((c) => c.writeback)!.props.WRITEBACK_FB_ID.value).toBe(0n);
});

test('writeback connectors are invisible without their client cap', () => {
  const { dev } = simKms('vkms');
  expect(readTopology(dev).connectors.map((c) => c.name)).toEqual(['Virtual-1', 'Writeback-1']);
  const plain = simKms('vkms');
  plain.dev.setClientCap(DRM_CLIENT_CAP.ATOMIC, 0);
  const fresh = plain.host.openKms('/dev/dri/card0');
  expect(fresh.getResources().connectors).toHaveLength(1);
  expect(errOf(() => fresh.setClientCap(DRM_CLIENT_CAP.WRITEBACK_CONNECTORS, 1)).code).toBe('EINVAL');
});

test('a kernel-owned fb (GVT-g direct flip) survives every close; the last close brings back the console', () => {
  const { dev, f, host } = simKms('gvt-skylake');
  const guest = newSimBuffer({ width: f.mode.hdisplay, height: f.mode.vdisplay, stride: f.mode.hdisplay * 4, format: fourcc('XR24'), modifier: 0n });
  const kfb = host.card.kernelFb(guest);
  const consoleFb = dev.getPlane(f.primary.id).fbId;
  dev.atomic(f.planeProps(f.primary, kfb, f.mode.hdisplay, f.mode.vdisplay), 0);
  const watcher = host.openKms('/dev/dri/card0');
  dev.close();
  expect(watcher.getPlane(f.primary.id).fbId).toBe(kfb);
  watcher.close();
  const again = host.openKms('/dev/dri/card0');
  expect(again.getPlane(f.primary.id).fbId).toBe(consoleFb);
});

test('PRIME import of the same dma-buf twice gives the same handle; GEM_CLOSE releases it', () => {
  const { dev, host } = simKms('vkms');
  const buf = newSimBuffer({ width: 64, height: 64, stride: 256, format: DRM_FORMAT.XRGB8888, modifier: 0n });
  const fd1 = host.dmabufs.export(buf);
  const fd2 = host.dmabufs.export(buf);
  const h = dev.primeFdToHandle(fd1);
  expect(dev.primeFdToHandle(fd2)).toBe(h);
  const fb = dev.addFb2({ width: 64, height: 64, pixelFormat: DRM_FORMAT.XRGB8888, flags: DRM_MODE_FB_MODIFIERS, handles: [h], pitches: [256], offsets: [0], modifiers: [0n] });
  expect(dev.getFb2(fb).width).toBe(64);
  dev.gemClose(h);
  expect(errOf(() => dev.gemClose(h)).code).toBe('EINVAL');
  expect(errOf(() => dev.primeFdToHandle(999)).code).toBe('EBADF');
});

test('hotplug changes the connector status the topology reports', () => {
  const { dev, host } = simKms('gvt-skylake');
  host.card.hotplug('DP-1', false);
  const dp = readTopology(dev).connectors.find((c) => c.name === 'DP-1')!;
  expect(dp.status).toBe('disconnected');
  expect(dp.modes).toEqual([]);
});

test('events reach a watcher once per commit, paced by vblank', async () => {
  const { dev, f, host } = simKms('vkms');
  const seen: bigint[] = [];
  const stop = dev.watchEvents((ev) => seen.push(...ev.map((e) => e.userData)));
  dev.atomic(f.planeProps(f.primary, f.makeFb().fb, f.mode.hdisplay, f.mode.vdisplay), DRM_MODE_ATOMIC.NONBLOCK | DRM_MODE_ATOMIC.PAGE_FLIP_EVENT, 7n);
  await new Promise((r) => setImmediate(r));
  expect(seen).toEqual([]);
  host.card.advanceVblank();
  await new Promise((r) => setImmediate(r));
  expect(seen).toEqual([7n]);
  stop();
});

test('topology counts: gvt-skylake has 3 connectors, 3 CRTCs, 15 planes; vkms 10 planes', () => {
  const g = simKms('gvt-skylake');
  expect([g.f.t.connectors.length, g.f.t.crtcs.length, g.f.t.planes.length]).toEqual([3, 3, 15]);
  expect(g.f.t.connectors.map((c) => c.name)).toEqual(['eDP-1', 'HDMI-A-1', 'DP-1']);
  const v = simKms('vkms');
  expect(v.f.t.planes.length).toBe(10);
  expect(v.f.t.planes.filter((p) => p.type === 'overlay').length).toBe(8);
});
