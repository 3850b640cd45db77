import type {
  CardResources, ConnectorInfo, CrtcInfo, DrmEvent, DrmVersion, DumbBuffer, EncoderInfo, Fb2Info, GfxPlaneInfo, Lease, ObjectProperties,
  PlaneInfo, PropertyInfo, VfioDeviceInfo, VfioRegionInfo,
} from './types';

/**
 * What build/Release/directflip_native.node exports, function by function. Every DRM and VFIO
 * call takes the fd and the path first (the path only names the device in errors). The test
 * test/native/addon-surface.test.ts checks that the built addon exports exactly ADDON_EXPORTS,
 * so this interface cannot drift from native/ without a failing test.
 */
export interface Addon {
  // DRM (native/drm.cc)
  drmVersion(fd: number, path: string): DrmVersion;
  drmGetCap(fd: number, path: string, cap: number): bigint;
  drmSetClientCap(fd: number, path: string, cap: number, value: number): void;
  drmSetMaster(fd: number, path: string): void;
  drmDropMaster(fd: number, path: string): void;
  drmGetResources(fd: number, path: string): CardResources;
  drmGetConnector(fd: number, path: string, id: number): ConnectorInfo;
  drmGetEncoder(fd: number, path: string, id: number): EncoderInfo;
  drmGetCrtc(fd: number, path: string, id: number): CrtcInfo;
  drmGetPlaneResources(fd: number, path: string): number[];
  drmGetPlane(fd: number, path: string, id: number): PlaneInfo;
  drmObjGetProperties(fd: number, path: string, id: number, type: number): ObjectProperties;
  drmGetProperty(fd: number, path: string, id: number): PropertyInfo;
  drmGetPropBlob(fd: number, path: string, id: number): Buffer;
  drmCreatePropBlob(fd: number, path: string, data: Buffer): number;
  drmDestroyPropBlob(fd: number, path: string, id: number): void;
  drmAddFb2(
    fd: number, path: string, width: number, height: number, format: number, flags: number,
    handles: number[], pitches: number[], offsets: number[], modifiers: bigint[],
  ): number;
  drmRmFb(fd: number, path: string, id: number): void;
  drmGetFb2(fd: number, path: string, id: number): Fb2Info;
  drmPrimeFdToHandle(fd: number, path: string, dmabuf: number): number;
  drmPrimeHandleToFd(fd: number, path: string, handle: number, flags: number): number;
  drmGemClose(fd: number, path: string, handle: number): void;
  drmCreateDumb(fd: number, path: string, width: number, height: number, bpp: number): DumbBuffer;
  drmMapDumb(fd: number, path: string, handle: number): bigint;
  drmDestroyDumb(fd: number, path: string, handle: number): void;
  drmCreateLease(fd: number, path: string, objects: number[], flags: number): Lease;
  // DRM atomic and events (native/drm_events.cc)
  drmAtomic(fd: number, path: string, objects: number[], props: number[], values: bigint[], flags: number, userData: bigint): void;
  drmAtomicAsync(fd: number, path: string, objects: number[], props: number[], values: bigint[], flags: number, userData: bigint): Promise<void>;
  /**
   * A blocking commit that also points `fenceProp` of `fenceObject` (OUT_FENCE_PTR, or a writeback
   * connector's WRITEBACK_OUT_FENCE_PTR) at an s32 the kernel fills: the sync_file fd it returns
   * (-1 if none) is readable once that flip or writeback job is done. The caller closes it.
   */
  drmAtomicOutFence(
    fd: number, path: string, objects: number[], props: number[], values: bigint[], flags: number, userData: bigint, fenceObject: number, fenceProp: number,
  ): number;
  drmReadEvents(fd: number, path: string): DrmEvent[];
  /**
   * Returns the function that stops watching. An exception thrown by `cb` goes to `onError`
   * (else it is written once to stderr); it never ends the process.
   */
  drmWatchEvents(fd: number, path: string, cb: (events: DrmEvent[]) => void, onError?: (err: unknown) => void): () => void;
  // Memory and fds (native/mem.cc)
  mmap(fd: number, path: string, offset: bigint, size: number): Buffer;
  /**
   * Ends a mapping made by mmap now rather than at GC: the device's pages are replaced by private
   * anonymous memory, so the Buffer stays safe to touch but no longer pins the device's file (and,
   * for DRM, its master). False when the Buffer is not a live mapping of ours.
   */
  munmap(buffer: Buffer): boolean;
  close(fd: number, path: string): void;
  // Sockets (native/socket.cc)
  socketPair(): [number, number];
  sendWithFds(fd: number, data: Buffer, fds: number[]): number;
  recvWithFds(fd: number, maxBytes: number): { data: Buffer; fds: number[]; truncated: boolean } | null;
  /** memfd_create; flags are the kernel's (MFD_ALLOW_SEALING), MFD_CLOEXEC always added. (native/memfd.cc) */
  memfdCreate(name: string, flags?: number): number;
  memfdGetSeals(fd: number): number;
  memfdAddSeals(fd: number, seals: number): void;
  /** UDMABUF_CREATE on /dev/udmabuf's fd: the dma-buf's fd. */
  udmabufCreate(devFd: number, path: string, memfd: number, offset: number, size: number): number;
  /** As drmWatchEvents: an exception thrown by `cb` goes to `onError`, never out of the poll. */
  watchFd(fd: number, cb: (mask: number) => void, onError?: (err: unknown) => void): { stop(): void; wantWritable(on: boolean): void };
  connectUnix(path: string): number;
  // Uevents (native/uevent.cc)
  /** A non-blocking NETLINK_KOBJECT_UEVENT socket bound to the kernel's group. */
  ueventOpen(): number;
  /** Every pending datagram the kernel sent (others are dropped and counted); overrun: ENOBUFS seen. */
  ueventRead(fd: number): { messages: Buffer[]; foreign: number; overrun: boolean };
  // VFIO (native/vfio.cc)
  vfioGetApiVersion(fd: number, path: string): number;
  vfioCheckExtension(fd: number, path: string, ext: number): number;
  vfioSetIommu(fd: number, path: string, type: number): void;
  vfioGroupGetStatus(fd: number, path: string): { flags: number };
  vfioGroupSetContainer(fd: number, path: string, containerFd: number): void;
  vfioGroupGetDeviceFd(fd: number, path: string, name: string): number;
  vfioDeviceGetInfo(fd: number, path: string): VfioDeviceInfo;
  vfioDeviceGetRegionInfo(fd: number, path: string, index: number): VfioRegionInfo;
  vfioQueryGfxPlane(fd: number, path: string, flags: number, type: number): GfxPlaneInfo;
  vfioGetGfxDmabuf(fd: number, path: string, id: number): number;
  vfioRegionRead(fd: number, path: string, offset: bigint, length: number): Buffer;
  vfioRegionWrite(fd: number, path: string, offset: bigint, data: Buffer): void;
  /** The struct layout the addon was compiled against (checked against the UAPI at build time). */
  readonly vfioLayout: { gfxPlaneInfoSize: number; gfxPlaneUnionOffset: number; gfxPlaneTypeDrmOutOfTree: number };
}

/**
 * Every export, by kind. `satisfies` makes the compiler insist that each member of Addon is listed
 * here and nothing else is; the surface test then holds the built addon to the same list.
 */
export const ADDON_EXPORTS = {
  drmVersion: 'function', drmGetCap: 'function', drmSetClientCap: 'function', drmSetMaster: 'function', drmDropMaster: 'function',
  drmGetResources: 'function', drmGetConnector: 'function', drmGetEncoder: 'function', drmGetCrtc: 'function',
  drmGetPlaneResources: 'function', drmGetPlane: 'function', drmObjGetProperties: 'function', drmGetProperty: 'function',
  drmGetPropBlob: 'function', drmCreatePropBlob: 'function', drmDestroyPropBlob: 'function', drmAddFb2: 'function',
  drmRmFb: 'function', drmGetFb2: 'function', drmPrimeFdToHandle: 'function', drmPrimeHandleToFd: 'function',
  drmGemClose: 'function', drmCreateDumb: 'function', drmMapDumb: 'function', drmDestroyDumb: 'function',
  drmCreateLease: 'function', drmAtomic: 'function', drmAtomicAsync: 'function', drmAtomicOutFence: 'function', drmReadEvents: 'function',
  drmWatchEvents: 'function', mmap: 'function', munmap: 'function', close: 'function', socketPair: 'function',
  sendWithFds: 'function', recvWithFds: 'function', memfdCreate: 'function', memfdGetSeals: 'function', memfdAddSeals: 'function', udmabufCreate: 'function', watchFd: 'function', connectUnix: 'function',
  vfioGetApiVersion: 'function', vfioCheckExtension: 'function', vfioSetIommu: 'function', vfioGroupGetStatus: 'function',
  vfioGroupSetContainer: 'function', vfioGroupGetDeviceFd: 'function', vfioDeviceGetInfo: 'function',
  vfioDeviceGetRegionInfo: 'function', vfioQueryGfxPlane: 'function', vfioGetGfxDmabuf: 'function',
  vfioRegionRead: 'function', vfioRegionWrite: 'function', vfioLayout: 'object', ueventOpen: 'function', ueventRead: 'function',
} as const satisfies Record<keyof Addon, 'function' | 'object'>;
