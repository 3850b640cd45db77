import { fourcc, VFIO } from '../constants';
import { kernelError } from '../errors';
import type { GfxPlaneInfo, VfioContainer, VfioDevice, VfioDeviceInfo, VfioGroup, VfioRegionInfo } from '../types';
import type { SimBuffer, SimDmabufTable } from './buffers';
import { newSimBuffer } from './buffers';
import { modifierByName } from './kms-build';
import { paintCursor, paintDesktop } from './patterns';
import type { VfioProfile } from './vfio-profile';

/**
 * Simulated VFIO with the rules that matter to directflip: one opener per group (EBUSY), GVT-g's
 * refusal of anyone but the VM's QEMU (ESRCH), PROBE semantics per driver, zeroed disabled
 * planes, and a new dmabuf id each time the guest flips.
 */

export interface GuestPlane {
  buffer: SimBuffer;
  generation: number;
}

export interface SimMdev {
  uuid: string;
  type: string;
  iommuGroup: number;
  planes: { primary: GuestPlane | null; cursor: GuestPlane | null };
  heldByQemu: boolean;
  groupOpen: boolean;
  deviceOpen: boolean;
  /** dmabuf id → the buffer it was issued for. */
  dmabufs: Map<number, SimBuffer>;
  /** plane → kernel fb id (Intel's direct flip: one fb per plane, following the guest). */
  drmFbs: Map<string, number>;
}

const FLAGS = VFIO;

export class SimVfio {
  readonly mdevs = new Map<string, SimMdev>();
  /** Called when state that outlives processes changes: mdevs, QEMU's hold, kernel fbs. */
  onChange: (() => void) | null = null;
  private nextGroup: number;
  private readonly failures = new Map<string, string[]>();

  constructor(
    readonly profile: VfioProfile,
    readonly env: { dmabufs: SimDmabufTable; kernelFb: (buf: SimBuffer) => number; retargetFb: (id: number, buf: SimBuffer) => void },
  ) {
    this.nextGroup = profile.firstIommuGroup ?? 0;
    for (const m of profile.mdevs ?? []) this.createMdev(m.uuid, m.type);
  }

  get autoCreate(): boolean {
    return this.profile.kind !== 'none' && this.profile.autoCreateMdevs !== false;
  }

  createMdev(uuid: string, type: string): SimMdev {
    const t = this.profile.types.find((x) => x.name === type);
    if (!t) throw new Error(`sim: mdev type ${type} is not one of ${this.profile.types.map((x) => x.name).join(', ')}`);
    const [w, h] = t.resolution;
    const primary = newSimBuffer({ width: w, height: h, stride: w * 4, format: fourcc(this.profile.primary.format), modifier: modifierByName(this.profile.primary.modifier) });
    paintDesktop(primary, uuid);
    let cursor: GuestPlane | null = null;
    if (this.profile.cursor) {
      const c = newSimBuffer({ width: 64, height: 64, stride: 256, format: fourcc(this.profile.cursor.format), modifier: modifierByName(this.profile.cursor.modifier) });
      paintCursor(c);
      cursor = { buffer: c, generation: 1 };
    }
    const m: SimMdev = {
      uuid, type, iommuGroup: this.nextGroup++, planes: { primary: { buffer: primary, generation: 1 }, cursor },
      heldByQemu: false, groupOpen: false, deviceOpen: false, dmabufs: new Map(), drmFbs: new Map(),
    };
    this.mdevs.set(uuid, m);
    this.onChange?.();
    return m;
  }

  /** `mdevctl start` on first reference, when the profile allows it. */
  ensureMdev(uuid: string): SimMdev | undefined {
    return this.mdevs.get(uuid) ?? (this.autoCreate ? this.createMdev(uuid, this.profile.defaultType) : undefined);
  }

  failNext(ioctl: string, code: string): void {
    this.failures.set(ioctl, [...(this.failures.get(ioctl) ?? []), code]);
  }

  enter(ioctl: string, path: string): void {
    const code = this.failures.get(ioctl)?.shift();
    if (code) throw kernelError(code, ioctl, path, 'injected by failNext');
  }

  /** Test control: the VM's QEMU has the group open. */
  holdByQemu(uuid: string, held = true): void {
    this.mdev(uuid).heldByQemu = held;
    this.onChange?.();
  }

  /** Test control: the guest flips to a new framebuffer (optionally with new pixels). */
  guestFlip(uuid: string, plane: 'primary' | 'cursor', pixels?: Buffer): void {
    const p = this.mdev(uuid).planes[plane];
    if (!p) throw new Error(`sim: mdev ${uuid} has no ${plane} plane enabled`);
    const b = newSimBuffer({ ...p.buffer, pixels: Buffer.from(pixels ?? p.buffer.pixels) });
    p.buffer = b;
    p.generation++;
    const fb = this.mdev(uuid).drmFbs.get(plane);
    if (fb) this.env.retargetFb(fb, b);
  }

  /** Test control: the guest enables (spec) or disables (null) a plane. */
  setGuestPlane(uuid: string, plane: 'primary' | 'cursor', spec: Omit<SimBuffer, 'id'> | null): void {
    const m = this.mdev(uuid);
    const gen = (m.planes[plane]?.generation ?? 0) + 1;
    m.planes[plane] = spec ? { buffer: newSimBuffer(spec), generation: gen } : null;
  }

  /**
   * The kernel-owned fb of a guest plane on Intel's direct-flip kernel: one id per plane for the
   * vGPU's life, following the guest's flips. 0 when the guest has the plane off.
   */
  directFlipFb(uuid: string, which: 'primary' | 'cursor'): number {
    const m = this.mdev(uuid);
    const plane = m.planes[which];
    if (!plane) return 0;
    let fb = m.drmFbs.get(which);
    if (!fb) {
      fb = this.env.kernelFb(plane.buffer);
      m.drmFbs.set(which, fb);
      this.onChange?.();
    }
    return fb;
  }

  mdev(uuid: string): SimMdev {
    const m = this.mdevs.get(uuid);
    if (!m) throw new Error(`sim: no mdev ${uuid}`);
    return m;
  }

  groupByNumber(n: number): SimMdev | undefined {
    return [...this.mdevs.values()].find((m) => m.iommuGroup === n);
  }

  openContainer(path: string): VfioContainer {
    return new SimContainer(this, path);
  }

  openGroup(path: string): VfioGroup {
    const n = /^\/dev\/vfio\/(\d+)$/.exec(path);
    const m = n ? this.groupByNumber(Number(n[1])) : undefined;
    if (!m) throw kernelError('ENOENT', 'open', path);
    // vfio_group_fops_open(): a group has one opener.
    if (m.groupOpen || m.heldByQemu) throw kernelError('EBUSY', 'open', path, 'the group is already open');
    m.groupOpen = true;
    return new SimGroup(this, m, path);
  }
}

class SimContainer implements VfioContainer {
  readonly fd: number;
  groups = 0;
  iommu = 0;
  closed = false;
  private static nextFd = 300000;

  constructor(
    readonly sim: SimVfio,
    readonly path: string,
  ) {
    this.fd = SimContainer.nextFd++;
  }

  private enter(ioctl: string): void {
    if (this.closed) throw kernelError('EBADF', ioctl, this.path);
    this.sim.enter(ioctl, this.path);
  }

  getApiVersion(): number {
    this.enter('VFIO_GET_API_VERSION');
    return FLAGS.API_VERSION;
  }

  checkExtension(ext: number): number {
    this.enter('VFIO_CHECK_EXTENSION');
    return ext === FLAGS.TYPE1_IOMMU || ext === FLAGS.TYPE1v2_IOMMU ? 1 : 0;
  }

  setIommu(type: number): void {
    this.enter('VFIO_SET_IOMMU');
    // vfio_ioctl_set_iommu(): needs a group in the container, and a driver for the type.
    if (!this.groups) throw kernelError('EINVAL', 'VFIO_SET_IOMMU', this.path, 'no group in the container');
    if (type !== FLAGS.TYPE1_IOMMU && type !== FLAGS.TYPE1v2_IOMMU) throw kernelError('ENODEV', 'VFIO_SET_IOMMU', this.path);
    if (this.iommu) throw kernelError('EBUSY', 'VFIO_SET_IOMMU', this.path, 'IOMMU already set');
    this.iommu = type;
  }

  close(): void {
    if (this.closed) throw kernelError('EBADF', 'close', this.path);
    this.closed = true;
  }
}

class SimGroup implements VfioGroup {
  readonly fd: number;
  private container: SimContainer | null = null;
  private closed = false;
  private static nextFd = 310000;

  constructor(
    readonly sim: SimVfio,
    readonly mdev: SimMdev,
    readonly path: string,
  ) {
    this.fd = SimGroup.nextFd++;
  }

  private enter(ioctl: string): void {
    if (this.closed) throw kernelError('EBADF', ioctl, this.path);
    this.sim.enter(ioctl, this.path);
  }

  getStatus(): { flags: number } {
    this.enter('VFIO_GROUP_GET_STATUS');
    return { flags: FLAGS.GROUP_FLAGS_VIABLE | (this.container ? FLAGS.GROUP_FLAGS_CONTAINER_SET : 0) };
  }

  setContainer(c: VfioContainer): void {
    this.enter('VFIO_GROUP_SET_CONTAINER');
    if (this.container) throw kernelError('EINVAL', 'VFIO_GROUP_SET_CONTAINER', this.path, 'already in a container');
    if (!(c instanceof SimContainer) || c.closed) throw kernelError('EBADF', 'VFIO_GROUP_SET_CONTAINER', this.path, 'not a VFIO container fd');
    this.container = c;
    c.groups++;
  }

  getDevice(name: string): VfioDevice {
    const I = 'VFIO_GROUP_GET_DEVICE_FD';
    this.enter(I);
    if (!this.container || !this.container.iommu) throw kernelError('EINVAL', I, this.path, 'group not in a container with an IOMMU set');
    if (name !== this.mdev.uuid) throw kernelError('ENODEV', I, this.path, `no device ${name} in this group`);
    // intel_vgpu_open_device(): "KVM is required to use Intel vGPU".
    if (this.sim.profile.kind === 'gvt') throw kernelError('ESRCH', I, this.path, 'GVT-g opens only for the VM\'s own QEMU');
    if (this.mdev.deviceOpen) throw kernelError('EBUSY', I, this.path, 'device already open');
    this.mdev.deviceOpen = true;
    return new SimDevice(this.sim, this.mdev, `${this.path}:${name}`);
  }

  close(): void {
    if (this.closed) throw kernelError('EBADF', 'close', this.path);
    this.closed = true;
    this.mdev.groupOpen = false;
    if (this.container) this.container.groups--;
  }
}

const NUM_REGIONS = 9;
const BAR0_SIZE = 16 * 1024 * 1024;

class SimDevice implements VfioDevice {
  readonly fd: number;
  private closed = false;
  private nextDmabufId = 1;
  private readonly bar0 = Buffer.alloc(BAR0_SIZE);
  private static nextFd = 320000;

  constructor(
    readonly sim: SimVfio,
    readonly mdev: SimMdev,
    readonly path: string,
  ) {
    this.fd = SimDevice.nextFd++;
  }

  private enter(ioctl: string): void {
    if (this.closed) throw kernelError('EBADF', ioctl, this.path);
    this.sim.enter(ioctl, this.path);
  }

  getInfo(): VfioDeviceInfo {
    this.enter('VFIO_DEVICE_GET_INFO');
    return { flags: FLAGS.DEVICE_FLAGS_PCI | 1, numRegions: NUM_REGIONS, numIrqs: 5 };
  }

  getRegionInfo(index: number): VfioRegionInfo {
    this.enter('VFIO_DEVICE_GET_REGION_INFO');
    if (index < 0 || index >= NUM_REGIONS) throw kernelError('EINVAL', 'VFIO_DEVICE_GET_REGION_INFO', this.path, `region ${index}`);
    const size = index === 0 ? BigInt(BAR0_SIZE) : index === 7 ? 256n : 0n;
    const rw = size ? FLAGS.REGION_INFO_FLAG_READ | FLAGS.REGION_INFO_FLAG_WRITE : 0;
    return { index, flags: rw | (index === 0 ? FLAGS.REGION_INFO_FLAG_MMAP : 0), size, offset: BigInt(index) << 40n };
  }

  queryGfxPlane(flags: number, drmPlaneType: number): GfxPlaneInfo {
    const I = 'VFIO_DEVICE_QUERY_GFX_PLANE';
    this.enter(I);
    const { PROBE, DMABUF, REGION } = { PROBE: FLAGS.GFX_PLANE_TYPE_PROBE, DMABUF: FLAGS.GFX_PLANE_TYPE_DMABUF, REGION: FLAGS.GFX_PLANE_TYPE_REGION };
    const DRM = FLAGS.GFX_PLANE_TYPE_DRM_OUT_OF_TREE;
    const supported = this.sim.profile.planeType === 'region' ? [REGION] : [DMABUF, ...(this.sim.profile.directFlip ? [DRM] : [])];
    const zero: GfxPlaneInfo = { flags, drmPlaneType, drmFormat: 0, drmFormatMod: 0n, width: 0, height: 0, stride: 0, size: 0, xPos: 0, yPos: 0, xHot: 0, yHot: 0, regionIndex: 0, dmabufId: 0, drmFbId: 0 };
    if (flags & PROBE) {
      // Mainline GVT-g and mbochs answer PROBE|<type> with 0 only for the types they implement.
      if (!supported.some((t) => flags === (PROBE | t))) throw kernelError('EINVAL', I, this.path, `plane type 0x${(flags & ~PROBE).toString(16)} not supported`);
      // Intel's direct-flip kernel fills the plane in, drm_fb_id at byte 56, as its QEMU branch reads it.
      if (flags !== (PROBE | DRM)) return zero;
      flags = DRM;
    }
    if (!supported.includes(flags)) throw kernelError('EINVAL', I, this.path, `flags 0x${flags.toString(16)}`);
    const which = drmPlaneType === FLAGS.PLANE_PRIMARY ? 'primary' : drmPlaneType === FLAGS.PLANE_CURSOR ? 'cursor' : null;
    if (!which) throw kernelError('EINVAL', I, this.path, `drm_plane_type ${drmPlaneType}`);
    const plane = this.mdev.planes[which];
    if (!plane) return zero;
    const b = plane.buffer;
    const info: GfxPlaneInfo = { ...zero, drmFormat: b.format, drmFormatMod: b.modifier, width: b.width, height: b.height, stride: b.stride, size: b.stride * b.height };
    if (flags === DRM) return { ...info, drmFbId: this.sim.directFlipFb(this.mdev.uuid, which) };
    if (flags === REGION) {
      // The guest's framebuffer lives in device memory (BAR0 here), as mdpy's does.
      if (info.size > BAR0_SIZE) throw kernelError('EINVAL', I, this.path, `plane of ${info.size} bytes exceeds the device memory`);
      b.pixels.copy(this.bar0, 0, 0, info.size);
      return { ...info, regionIndex: 0 };
    }
    const existing = [...this.mdev.dmabufs].find(([, buf]) => buf === b);
    const id = existing ? existing[0] : this.nextDmabufId++;
    this.mdev.dmabufs.set(id, b);
    return { ...info, dmabufId: id };
  }

  getGfxDmabuf(dmabufId: number): number {
    this.enter('VFIO_DEVICE_GET_GFX_DMABUF');
    const b = this.mdev.dmabufs.get(dmabufId);
    if (!b) throw kernelError('ENOENT', 'VFIO_DEVICE_GET_GFX_DMABUF', this.path, `no dmabuf id ${dmabufId}`);
    return this.sim.env.dmabufs.export(b);
  }

  private region(offset: bigint, length: number, syscall: string): number {
    const index = Number(offset >> 40n);
    const at = Number(offset & ((1n << 40n) - 1n));
    if (index !== 0 || at + length > BAR0_SIZE) throw kernelError('EINVAL', syscall, this.path, `offset 0x${offset.toString(16)}+${length} outside BAR0`);
    return at;
  }

  regionRead(offset: bigint, length: number): Buffer {
    this.enter('pread');
    const at = this.region(offset, length, 'pread');
    return Buffer.from(this.bar0.subarray(at, at + length));
  }

  regionWrite(offset: bigint, data: Buffer): void {
    this.enter('pwrite');
    const at = this.region(offset, data.length, 'pwrite');
    data.copy(this.bar0, at);
  }

  close(): void {
    if (this.closed) throw kernelError('EBADF', 'close', this.path);
    this.closed = true;
    this.mdev.deviceOpen = false;
  }
}
