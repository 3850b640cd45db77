/**
 * GEM handles on a real kernel. GETFB2 gives a master a new handle for every plane of the fb on
 * every call (drm_framebuffer.c drm_mode_getfb2_ioctl → drm_gem_handle_create), and the kernel
 * hands out the lowest free id (idr_alloc from 1), so the next handle a file is given shows
 * whether any handle is left behind.
 */
import { describeFb, fbExists } from '../../src/kms/fb-info';
import type { KmsDevice } from '../../src/kernel/types';
import { cardOf, dumbFb, freeFb, openMaster } from './guest';

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
