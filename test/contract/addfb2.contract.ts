/**
 * ADDFB2 carries four planes' handles, pitches, offsets and modifiers (drm_mode_fb_cmd2), and the
 * kernel's framebuffer_check() refuses any of them set on a plane the format does not have. So a
 * one-plane XRGB8888 fb with one extra value in slot 1, 2 or 3 of any of the four arrays is EINVAL
 * only if that value reached the kernel: on the real addon this proves every slot of every array
 * is passed (what ScanoutDMABUF2's multi-plane buffers need); on the simulator, that it refuses as
 * the kernel does. GETFB2 hands plane 0's values back.
 */
import { DRM_FORMAT, DRM_MODE_FB_MODIFIERS } from '../../src/kernel/constants';
import type { AddFb2Args, KmsDevice } from '../../src/kernel/types';
import { errOf } from './kms.contract';

export interface Addfb2Rig {
  open(): KmsDevice;
  close(): void | Promise<void>;
}

export function addfb2Contract(name: string, setup: () => Addfb2Rig): void {
  describe(`ADDFB2 planes contract: ${name}`, () => {
    let rig: Addfb2Rig;
    let dev: KmsDevice;
    let dumb: { handle: number; pitch: number };

    beforeEach(() => {
      rig = setup();
      dev = rig.open();
      dumb = dev.createDumb(64, 64, 32);
    });
    afterEach(async () => {
      dev.destroyDumb(dumb.handle);
      dev.close();
      await rig.close();
    });

    const args = (): AddFb2Args => ({
      width: 64, height: 64, pixelFormat: DRM_FORMAT.XRGB8888, flags: DRM_MODE_FB_MODIFIERS,
      handles: [dumb.handle, 0, 0, 0], pitches: [dumb.pitch, 0, 0, 0], offsets: [0, 0, 0, 0], modifiers: [0n, 0n, 0n, 0n],
    });

    test('a one-plane fb with every unused slot zero is made, and GETFB2 gives back its pitch, offset and modifier', () => {
      const fb = dev.addFb2(args());
      try {
        const got = dev.getFb2(fb);
        expect([got.width, got.height, got.pixelFormat, got.pitches[0], got.offsets[0], got.modifiers[0]]).toEqual([64, 64, DRM_FORMAT.XRGB8888, dumb.pitch, 0, 0n]);
        if (got.handles[0]) dev.gemClose(got.handles[0]);
      } finally {
        dev.rmFb(fb);
      }
    });

    for (const slot of [1, 2, 3]) {
      test(`a handle, a pitch, an offset or a modifier in unused slot ${slot} is EINVAL, each on its own`, () => {
        const cases: [string, (a: AddFb2Args) => void][] = [
          ['handle', (a) => (a.handles[slot] = dumb.handle)],
          ['pitch', (a) => (a.pitches[slot] = dumb.pitch)],
          ['offset', (a) => (a.offsets[slot] = 4096)],
          ['modifier', (a) => (a.modifiers[slot] = 1n)],
        ];
        expect(cases.map(([what, set]) => {
          const a = args();
          set(a);
          return [what, errOf(() => dev.addFb2(a)).code];
        })).toEqual(cases.map(([what]) => [what, 'EINVAL']));
      });
    }
  });
}
