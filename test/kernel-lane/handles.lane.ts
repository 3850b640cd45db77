/**
 * GEM handles on a real kernel. GETFB2 gives a master a new handle for every plane of the fb on
 * every call (drm_framebuffer.c drm_mode_getfb2_ioctl → drm_gem_handle_create), and the kernel
 * hands out the lowest free id (idr_alloc from 1), so the next handle a file is given shows
 * whether any handle is left behind. The same goes for fds in /proc/self/fd.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { DRM_FORMAT } from '../../src/kernel/constants';
import { describeFb, fbExists } from '../../src/kms/fb-info';
import type { KmsDevice } from '../../src/kernel/types';
import { MESSAGE } from '../../src/sources/dbus-peer';
import type { PeerMessage } from '../../src/sources/dbus-peer';
import { cardOf, collectMappings, dumbFb, freeFb, openMaster, openVkmsDisplay } from './guest';
import type { QemuRig } from './qemu-rig';
import { qemuRig } from './qemu-rig';
import { report } from './runner';

/** The id the kernel would give this file's next handle (made and given back at once). */
function nextHandle(dev: KmsDevice): number {
  const d = dev.createDumb(16, 16, 32);
  dev.destroyDumb(d.handle);
  return d.handle;
}

describe('GEM handles on vkms', () => {
  test('GETFB2 makes a new handle each call: leaving one shows as growth (the probe works)', async () => {
    const dev = await openMaster(cardOf('vkms'));
    try {
      const f = dumbFb(dev, 64, 64);
      const before = nextHandle(dev);
      const info = dev.getFb2(f.fb);
      expect(info.handles[0]).not.toBe(f.handle);
      expect(nextHandle(dev)).toBe(before + 1);
      dev.gemClose(info.handles[0]);
      expect(nextHandle(dev)).toBe(before);
      freeFb(dev, f);
    } finally {
      dev.close();
    }
  });

  test("100 GETFB2 reads through the kms layer's describeFb/fbExists leave the handle count flat", async () => {
    const dev = await openMaster(cardOf('vkms'));
    try {
      const f = dumbFb(dev, 64, 64);
      const before = nextHandle(dev);
      for (let i = 0; i < 50; i++) {
        expect(describeFb(dev, f.fb)).toMatchObject({ width: 64, height: 64 });
        expect(fbExists(dev, f.fb)).toBe(true);
      }
      expect(nextHandle(dev)).toBe(before);
      freeFb(dev, f);
      expect(fbExists(dev, f.fb)).toBe(false);
    } finally {
      dev.close();
    }
  });
});

/** This process's open fds: all of them, those of the vkms card, and dma-bufs. */
function fdCounts(card: string): { all: number; card: number; dmabuf: number } {
  const links = readdirSync('/proc/self/fd').map((f) => {
    try {
      return readlinkSync(`/proc/self/fd/${f}`);
    } catch {
      return ''; // the directory's own fd, gone by now
    }
  });
  return { all: links.length, card: links.filter((l) => l === card).length, dmabuf: links.filter((l) => l.startsWith('/dmabuf:') || l === 'anon_inode:dmabuf').length };
}

describe('GEM handles and fds on vkms over 1 000 dma-buf frames through the listener', () => {
  const W = 256;
  const H = 192;
  const FRAMES = 1000;

  test('two vgem buffers alternating for 1 000 frames, with 100 GETFB2 reads of the fb on screen, leave handles and fds flat', async () => {
    const { dev, t, crtcId } = await openVkmsDisplay();
    const card = dev.path;
    let rig: QemuRig | null = null;
    try {
      const fds0 = fdCounts(card);
      const h0 = nextHandle(dev);
      rig = await qemuRig(dev, t, crtcId, { x: 400, y: 300, w: W, h: H });
      const r = rig;
      const bufs = [r.buffer(W, H), r.buffer(W, H)];
      r.draw(bufs[0], () => 0x4080c0);
      r.draw(bufs[1], () => 0xc08040);
      const ok = (m: PeerMessage) => expect([m.type, m.errorName]).toEqual([MESSAGE.METHOD_RETURN, undefined]);
      /** A double-buffered guest's frame as QEMU sends it: the new scanout, then its update, not waiting for the first reply. */
      const frame = async (i: number) => {
        const b = bufs[i % 2];
        const scanout = r.call('ScanoutDMABUF', 'huuuutb', [b.fd, W, H, b.pitch, DRM_FORMAT.XRGB8888, 0n, false]);
        const update = r.call('UpdateDMABUF', 'iiii', [0, 0, W, H]);
        ok(await scanout);
        ok(await update);
      };
      await frame(0);
      await frame(1);
      // Both buffers imported (the listener holds one handle each) and their fbs cached.
      const h1 = nextHandle(dev);
      const fds1 = fdCounts(card);
      expect(h1).toBe(h0 + 2);
      let getfb2 = 0;
      for (let i = 0; i < FRAMES; i++) {
        await frame(i);
        if (i % 10 === 9) {
          expect(describeFb(dev, dev.getPlane(r.overlay.id).fbId)).toMatchObject({ width: W, height: H });
          getfb2++;
        }
      }
      const h2 = nextHandle(dev);
      const fds2 = fdCounts(card);
      report(`# handles: next GEM handle ${h1} before and ${h2} after ${FRAMES} frames and ${getfb2} GETFB2 calls (${h0} before the listener imported); fds all/vkms/dma-buf ${fds1.all}/${fds1.card}/${fds1.dmabuf} before, ${fds2.all}/${fds2.card}/${fds2.dmabuf} after`);
      expect([h2, fds2, getfb2]).toEqual([h1, fds1, 100]);
      expect(r.pipeline.counters.flipped).toBeGreaterThanOrEqual(FRAMES);
      expect([r.listener.cachedFbs, r.logs, r.errors]).toEqual([2, [], []]);
      rig = null;
      await r.close();
      // The listener gave back both imports; nothing it or the link opened is left.
      expect([nextHandle(dev), fdCounts(card)]).toEqual([h0, fds0]);
    } finally {
      await rig?.close();
      dev.close();
      await collectMappings();
    }
  }, 300_000);
});
