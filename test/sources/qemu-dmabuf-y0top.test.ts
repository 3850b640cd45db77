import { closeSync, ftruncateSync, writeSync } from 'node:fs';
import { DRM_FORMAT } from '../../src/kernel/constants';
import { SimHost } from '../../src/kernel/sim/host';
import { loadProfile } from '../../src/kernel/sim/load-profile';
import { memfdCreate } from '../../src/kernel/native-socket';
import { listenerRig } from '../helpers/listener-rig';
import { settleVblanks, shownAt } from '../helpers/screen';

/**
 * A bottom-up (y0_top) dma-buf on a plane that can mirror it: gen11+ i915 offers rotate-180 and
 * reflect-x, which together are reflect-y. The picture is shown upright, still without a copy.
 */
const W = 64;
const H = 48;

/**
 * vkms with overlays that rotate as `rotations` says, the listener rig on an overlay at (10, 10),
 * and a W x H guest buffer whose memory holds red rows, then blue rows: bottom-up (y0_top) that is
 * red at the bottom of the picture and blue on top.
 */
async function mirrorRig(rotations: string[]) {
  const p = loadProfile('vkms');
  p.kms = { ...p.kms, planesPerCrtc: p.kms.planesPerCrtc.map((t) => (t.type === 'overlay' ? { ...t, rotations } : t)) };
  const host = new SimHost(p);
  const rig = await listenerRig(host, { w: W, h: H, dst: { x: 10, y: 10 } });
  const fd = memfdCreate('guest-fb');
  ftruncateSync(fd, 16384);
  const px = Buffer.alloc(W * H * 4);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) px.set(y < H / 2 ? [0, 0, 200, 0] : [200, 0, 0, 0], (y * W + x) * 4);
  writeSync(fd, px, 0, px.length, 0);
  host.udmabuf(fd);
  return {
    host, rig, fd,
    scanout: async (y0Top: boolean) => {
      await rig.call('ScanoutDMABUF', 'huuuutb', [fd, W, H, W * 4, DRM_FORMAT.XRGB8888, 0n, y0Top]);
      await settleVblanks(host);
    },
    close: () => {
      closeSync(fd);
      rig.close();
      host.stop();
    },
  };
}

test('a y0_top ScanoutDMABUF is shown upright through the plane rotation, 0 bytes copied', async () => {
  const m = await mirrorRig(['rotate-0', 'rotate-180', 'reflect-x']);
  try {
    await m.scanout(true);
    expect(shownAt(m.host, m.rig.crtc, 10 + 5, 10 + 2)).toEqual([0, 0, 200]); // top of the screen: blue
    expect(shownAt(m.host, m.rig.crtc, 10 + 5, 10 + H - 3)).toEqual([200, 0, 0]); // bottom: red
    expect(m.rig.dev.getPlane(m.rig.overlay).fbId).not.toBe(0);
    expect(m.rig.pipeline.counters.bytesCopied).toBe(0);
  } finally {
    m.close();
  }
});

/** The kernel lane on 6.12 (vkms can reflect-y) found it: the fb cache kept the first scanout's way up. */
test('the same buffer scanned out top-down, then bottom-up, then top-down is shown the right way up each time', async () => {
  const m = await mirrorRig(['rotate-0', 'reflect-y']);
  const topRow = async (y0Top: boolean) => {
    await m.scanout(y0Top);
    return shownAt(m.host, m.rig.crtc, 10 + 5, 10 + 2);
  };
  try {
    expect(await topRow(false)).toEqual([200, 0, 0]); // memory order: red first
    expect(await topRow(true)).toEqual([0, 0, 200]); // mirrored: blue on top
    expect(await topRow(false)).toEqual([200, 0, 0]);
    expect(m.rig.pipeline.counters.bytesCopied).toBe(0);
  } finally {
    m.close();
  }
});
