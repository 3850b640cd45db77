/**
 * The guest has what the lane needs: every module loaded, the vkms and vgem cards, an mbochs mdev
 * with its VFIO group. A missing piece is a failed test with /init's reason, never a skip.
 */
import { existsSync } from 'node:fs';
import { cardOf, mbochsMdev, moduleMissing } from './guest';

const MODULES = ['drm', 'drm_kms_helper', 'drm_shmem_helper', 'vkms', 'vgem', 'vfio', 'vfio_iommu_type1', 'mdev', 'mbochs'];

describe('guest environment', () => {
  for (const m of MODULES) {
    test(`module ${m} is loaded`, () => {
      const why = moduleMissing(m);
      if (why) throw new Error(why);
    });
  }

  test('vkms has a card node, found by driver name', () => {
    expect(cardOf('vkms')).toMatch(/^\/dev\/dri\/card\d+$/);
  });

  test('vgem has a card node, found by driver name', () => {
    expect(cardOf('vgem')).toMatch(/^\/dev\/dri\/card\d+$/);
  });

  test("udmabuf is there: /dev/udmabuf exists (built in on 6.12, the lane's own module on 6.1)", () => {
    if (!existsSync('/dev/udmabuf')) throw new Error(`/dev/udmabuf is missing; ${moduleMissing('udmabuf') ?? 'the udmabuf module is loaded but made no device node'}`);
  });

  test('the VFIO container node exists', () => {
    expect(existsSync('/dev/vfio/vfio')).toBe(true);
  });

  test('an mbochs-medium mdev can be created and has a VFIO group', () => {
    const m = mbochsMdev('mbochs-medium');
    expect(existsSync(m.group)).toBe(true);
  });
});
