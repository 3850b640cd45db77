/**
 * The kernel surface directflip uses, exactly as thin as the ioctls: the native addon implements it
 * over real fds, and the simulated kernel (`./sim`) implements it from a host profile. Nothing here
 * builds paths or decides policy. Every failure throws a `KernelError` (see ./errors).
 *
 * 64-bit kernel values (property values, modifiers, offsets) are bigint; ids and small numbers are
 * number.
 */

export interface DrmVersion {
  major: number;
  minor: number;
  patch: number;
  name: string;
  date: string;
  desc: string;
}

/** struct drm_mode_modeinfo, field for field. */
export interface ModeInfo {
  clock: number;
  hdisplay: number;
  hsyncStart: number;
  hsyncEnd: number;
  htotal: number;
  hskew: number;
  vdisplay: number;
  vsyncStart: number;
  vsyncEnd: number;
  vtotal: number;
  vscan: number;
  vrefresh: number;
  flags: number;
  type: number;
  name: string;
}

export interface CardResources {
  fbs: number[];
  crtcs: number[];
  connectors: number[];
  encoders: number[];
  minWidth: number;
  maxWidth: number;
  minHeight: number;
  maxHeight: number;
}

export interface ConnectorInfo {
  connectorId: number;
  encoderId: number;
  connectorType: number;
  connectorTypeId: number;
  /** DRM_MODE_CONNECTED: 1 connected, 2 disconnected, 3 unknown. */
  connection: number;
  mmWidth: number;
  mmHeight: number;
  subpixel: number;
  modes: ModeInfo[];
  encoders: number[];
}

export interface EncoderInfo {
  encoderId: number;
  encoderType: number;
  crtcId: number;
  possibleCrtcs: number;
  possibleClones: number;
}

export interface CrtcInfo {
  crtcId: number;
  fbId: number;
  x: number;
  y: number;
  gammaSize: number;
  modeValid: boolean;
  mode: ModeInfo | null;
}

export interface PlaneInfo {
  planeId: number;
  crtcId: number;
  fbId: number;
  possibleCrtcs: number;
  gammaSize: number;
  formats: number[];
}

export interface ObjectProperties {
  props: number[];
  values: bigint[];
}

export interface PropertyInfo {
  propId: number;
  name: string;
  flags: number;
  /** Range bounds (min, max) for range properties; enum values for enums (also in `enums`). */
  values: bigint[];
  enums: { name: string; value: bigint }[];
}

/** One (object, property, value) triple of an atomic request. */
export interface AtomicProp {
  objectId: number;
  propId: number;
  value: bigint;
}

/** DRM_EVENT_FLIP_COMPLETE / DRM_EVENT_VBLANK as read from the fd. */
export interface DrmEvent {
  type: number;
  userData: bigint;
  tvSec: number;
  tvUsec: number;
  sequence: number;
  crtcId: number;
}

export interface AddFb2Args {
  width: number;
  height: number;
  pixelFormat: number;
  /** DRM_MODE_FB_MODIFIERS when `modifiers` apply. */
  flags: number;
  handles: number[];
  pitches: number[];
  offsets: number[];
  modifiers: bigint[];
}

export interface Fb2Info extends AddFb2Args {
  fbId: number;
}

export interface DumbBuffer {
  handle: number;
  pitch: number;
  size: number;
}

export interface Lease {
  fd: number;
  lesseeId: number;
}

export interface KmsDevice {
  readonly fd: number;
  /** Error context only. */
  readonly path: string;
  version(): DrmVersion;
  getCap(cap: number): bigint;
  setClientCap(cap: number, value: number): void;
  setMaster(): void;
  dropMaster(): void;
  getResources(): CardResources;
  getConnector(connectorId: number): ConnectorInfo;
  getEncoder(encoderId: number): EncoderInfo;
  getCrtc(crtcId: number): CrtcInfo;
  getPlaneResources(): number[];
  getPlane(planeId: number): PlaneInfo;
  objGetProperties(objectId: number, objectType: number): ObjectProperties;
  getProperty(propId: number): PropertyInfo;
  getPropBlob(blobId: number): Buffer;
  createPropBlob(data: Buffer): number;
  destroyPropBlob(blobId: number): void;
  /** DRM_IOCTL_MODE_ATOMIC. Blocking commits should use `atomicAsync`. */
  atomic(props: AtomicProp[], flags: number, userData?: bigint): void;
  /** The same ioctl, run off the JS thread (a blocking commit waits for vblank). */
  atomicAsync(props: AtomicProp[], flags: number, userData?: bigint): Promise<void>;
  /** Reads every pending event without blocking; [] when none. */
  readEvents(): DrmEvent[];
  /** Calls `cb` whenever the fd has events. Returns the function that stops watching. */
  watchEvents(cb: (events: DrmEvent[]) => void): () => void;
  addFb2(args: AddFb2Args): number;
  rmFb(fbId: number): void;
  getFb2(fbId: number): Fb2Info;
  primeFdToHandle(fd: number): number;
  /** DRM_IOCTL_PRIME_HANDLE_TO_FD; flags DRM_CLOEXEC | DRM_RDWR. */
  primeHandleToFd(handle: number, flags: number): number;
  gemClose(handle: number): void;
  createDumb(width: number, height: number, bpp: number): DumbBuffer;
  /** DRM_IOCTL_MODE_MAP_DUMB: the fake offset to mmap at. */
  mapDumb(handle: number): bigint;
  /** mmap(fd, offset, size) shared; the Buffer views the buffer's memory. */
  mmap(offset: bigint, size: number): Buffer;
  /**
   * Ends a mapping from `mmap` now. A live mapping keeps the DRM file (and with it master and
   * every fb it made) after close(), so whoever drops master or closes must unmap first. The
   * Buffer stays safe to touch but no longer views the device. EINVAL if it is not a live mapping.
   */
  munmap(map: Buffer): void;
  destroyDumb(handle: number): void;
  createLease(objects: number[], flags: number): Lease;
  close(): void;
}

export interface VfioRegionInfo {
  index: number;
  flags: number;
  size: bigint;
  offset: bigint;
}

export interface VfioDeviceInfo {
  flags: number;
  numRegions: number;
  numIrqs: number;
}

/**
 * struct vfio_device_gfx_plane_info. The union at offset 56 is exposed under all three names;
 * `drmFbId` is Intel's out-of-tree member.
 */
export interface GfxPlaneInfo {
  flags: number;
  drmPlaneType: number;
  drmFormat: number;
  drmFormatMod: bigint;
  width: number;
  height: number;
  stride: number;
  size: number;
  xPos: number;
  yPos: number;
  xHot: number;
  yHot: number;
  regionIndex: number;
  dmabufId: number;
  drmFbId: number;
}

export interface VfioContainer {
  readonly fd: number;
  readonly path: string;
  getApiVersion(): number;
  checkExtension(extension: number): number;
  setIommu(type: number): void;
  close(): void;
}

export interface VfioGroup {
  readonly fd: number;
  readonly path: string;
  getStatus(): { flags: number };
  setContainer(container: VfioContainer): void;
  /** VFIO_GROUP_GET_DEVICE_FD with the device name (the mdev UUID or PCI address). */
  getDevice(name: string): VfioDevice;
  close(): void;
}

export interface VfioDevice {
  readonly fd: number;
  readonly path: string;
  getInfo(): VfioDeviceInfo;
  getRegionInfo(index: number): VfioRegionInfo;
  /** Zeroes the 64-byte struct, sets argsz 64, and passes `flags` and `drmPlaneType`. */
  queryGfxPlane(flags: number, drmPlaneType: number): GfxPlaneInfo;
  /** Returns a dma-buf fd. */
  getGfxDmabuf(dmabufId: number): number;
  regionRead(offset: bigint, length: number): Buffer;
  regionWrite(offset: bigint, data: Buffer): void;
  close(): void;
}

/**
 * One kernel uevent (netlink NETLINK_KOBJECT_UEVENT), as the DRM core sends them: ACTION=change,
 * SUBSYSTEM=drm, HOTPLUG=1, and CONNECTOR=<id> (and PROPERTY=<id> for a link-status change)
 * when the driver names the connector.
 */
export interface Uevent {
  action: string;
  /** DEVPATH, e.g. /devices/pci0000:00/0000:00:02.0/drm/card0. */
  devpath: string;
  subsystem: string;
  /** Every KEY=VALUE of the message. */
  env: Record<string, string>;
}

/**
 * /dev/udmabuf (linux/udmabuf.h): turns a sealed memfd range into a dma-buf, so QEMU's shared
 * pixels (Listener.Unix.Map) can be PRIME-imported and scanned out with no copy. The kernel
 * refuses a memfd without F_SEAL_SHRINK (EINVAL), one with F_SEAL_WRITE (EINVAL), and an offset or
 * size that is not page-aligned (EINVAL); a range past the end of the file is EINVAL.
 */
export interface UdmabufDevice {
  readonly fd: number;
  /** UDMABUF_CREATE with UDMABUF_FLAGS_CLOEXEC: the new dma-buf's fd. */
  create(memfd: number, offset: number, size: number): number;
  close(): void;
}

/**
 * What opens devices: the real kernel (paths under `/`) or a simulated host (paths as the sim's
 * own `/dev` presents them). The only place paths meet the kernel surface.
 */
export interface KernelBackend {
  readonly kind: 'native' | 'sim';
  openKms(path: string): KmsDevice;
  openVfioContainer(path: string): VfioContainer;
  openVfioGroup(path: string): VfioGroup;
  /** Opens /dev/udmabuf (the sim's own under its root); ENOENT where the kernel has none. */
  openUdmabuf(path: string): UdmabufDevice;
  /** Closes a plain fd the backend handed out (dma-buf, lease). */
  closeFd(fd: number): void;
  /**
   * Calls `cb` for every DRM uevent (hotplug, link-status) from now on; returns the function that
   * stops listening. What goes wrong with the listening itself (the socket, a callback that
   * throws) goes to `onError`, never out of the event loop.
   */
  watchUevents?(cb: (ev: Uevent) => void, onError?: (e: Error) => void): () => void;
}
