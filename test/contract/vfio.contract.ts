import { VFIO } from '../../src/kernel/constants';
import type { VfioContainer, VfioDevice, VfioGroup } from '../../src/kernel/types';
import { errOf } from './kms.contract';

/**
 * VFIO behaviour any kernel must show for an mdev that a process other than QEMU may open
 * (mbochs): the simulator here, the real addon with mbochs in the kernel lane.
 */
export interface VfioBackend {
  openContainer(): VfioContainer;
  openGroup(): VfioGroup;
  /** The mdev's UUID (its device name in the group). */
  uuid: string;
  /** The guest programs a mode and draws; afterwards the primary plane is enabled. */
  enableGuestPlane(): void;
  /** The guest scans out a new framebuffer. */
  guestFlip(): void;
  /** Closes a dma-buf fd the device handed out. */
  closeFd(fd: number): void;
  close(): void;
}

export function vfioContract(name: string, make: () => VfioBackend): void {
  describe(`VFIO contract: ${name}`, () => {
    let be: VfioBackend;
    const open: { c?: VfioContainer; g?: VfioGroup; d?: VfioDevice } = {};
    const device = () => {
      open.c = be.openContainer();
      open.g = be.openGroup();
      open.g.setContainer(open.c);
      open.c.setIommu(VFIO.TYPE1v2_IOMMU);
      open.d = open.g.getDevice(be.uuid);
      return open.d;
    };
    beforeEach(() => {
      be = make();
    });
    afterEach(() => {
      for (const x of [open.d, open.g, open.c]) {
        try {
          x?.close();
        } catch {
          // already closed by the test
        }
      }
      open.c = open.g = open.d = undefined;
      be.close();
    });

    test('the container speaks API version 0 and type1 IOMMUs', () => {
      const c = be.openContainer();
      expect(c.getApiVersion()).toBe(VFIO.API_VERSION);
      expect(c.checkExtension(VFIO.TYPE1v2_IOMMU)).toBe(1);
      c.close();
    });

    test('SET_IOMMU before a group joins is EINVAL; GET_DEVICE_FD before SET_IOMMU is EINVAL', () => {
      open.c = be.openContainer();
      expect(errOf(() => open.c!.setIommu(VFIO.TYPE1v2_IOMMU)).code).toBe('EINVAL');
      open.g = be.openGroup();
      expect(open.g.getStatus().flags & VFIO.GROUP_FLAGS_VIABLE).toBeTruthy();
      open.g.setContainer(open.c);
      expect(open.g.getStatus().flags & VFIO.GROUP_FLAGS_CONTAINER_SET).toBeTruthy();
      expect(errOf(() => open.g!.getDevice(be.uuid)).code).toBe('EINVAL');
    });

    test('a second open of the group is EBUSY', () => {
      open.g = be.openGroup();
      expect(errOf(() => be.openGroup()).code).toBe('EBUSY');
    });

    test('PROBE|DMABUF answers; PROBE|REGION and Intel\'s PROBE|DRM are EINVAL', () => {
      const d = device();
      expect(() => d.queryGfxPlane(VFIO.GFX_PLANE_TYPE_PROBE | VFIO.GFX_PLANE_TYPE_DMABUF, VFIO.PLANE_PRIMARY)).not.toThrow();
      expect(errOf(() => d.queryGfxPlane(VFIO.GFX_PLANE_TYPE_PROBE | VFIO.GFX_PLANE_TYPE_REGION, VFIO.PLANE_PRIMARY)).code).toBe('EINVAL');
      const e = errOf(() => d.queryGfxPlane(VFIO.GFX_PLANE_TYPE_PROBE | VFIO.GFX_PLANE_TYPE_DRM_OUT_OF_TREE, VFIO.PLANE_PRIMARY));
      expect([e.code, e.syscall]).toEqual(['EINVAL', 'VFIO_DEVICE_QUERY_GFX_PLANE']);
    });

    test('a disabled plane reads back zeroed: no format, no size', () => {
      const d = device();
      const p = d.queryGfxPlane(VFIO.GFX_PLANE_TYPE_DMABUF, VFIO.PLANE_CURSOR);
      expect([p.drmFormat, p.size, p.width, p.height, p.dmabufId]).toEqual([0, 0, 0, 0, 0]);
    });

    test('an enabled primary gives a dmabuf id, and a new one after the guest flips', () => {
      be.enableGuestPlane();
      const d = device();
      const a = d.queryGfxPlane(VFIO.GFX_PLANE_TYPE_DMABUF, VFIO.PLANE_PRIMARY);
      expect(a.drmFormat).not.toBe(0);
      expect(a.size).toBeGreaterThanOrEqual(a.stride * a.height);
      expect(d.queryGfxPlane(VFIO.GFX_PLANE_TYPE_DMABUF, VFIO.PLANE_PRIMARY).dmabufId).toBe(a.dmabufId);
      be.guestFlip();
      const b = d.queryGfxPlane(VFIO.GFX_PLANE_TYPE_DMABUF, VFIO.PLANE_PRIMARY);
      expect(b.dmabufId).not.toBe(a.dmabufId);
      const fd = d.getGfxDmabuf(b.dmabufId);
      expect(fd).toBeGreaterThan(2);
      be.closeFd(fd);
    });

    test('region reads and writes round-trip within BAR0, and fail outside it', () => {
      const d = device();
      const bar0 = d.getRegionInfo(0);
      expect(bar0.size).toBeGreaterThan(0n);
      d.regionWrite(bar0.offset + 16n, Buffer.from([1, 2, 3, 4]));
      expect([...d.regionRead(bar0.offset + 16n, 4)]).toEqual([1, 2, 3, 4]);
      expect(errOf(() => d.getRegionInfo(d.getInfo().numRegions)).code).toBe('EINVAL');
    });

    test('a closed device answers EBADF', () => {
      const d = device();
      d.close();
      expect(errOf(() => d.getInfo()).code).toBe('EBADF');
      open.d = undefined;
    });
  });
}
