import { constants, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { Addon } from './addon';
import { kernelError } from './errors';
import type {
  UdmabufDevice,
  AddFb2Args, AtomicProp, CardResources, ConnectorInfo, CrtcInfo, DrmEvent, DrmVersion, DumbBuffer, EncoderInfo, Fb2Info, GfxPlaneInfo,
  KernelBackend, KmsDevice, Lease, ObjectProperties, PlaneInfo, PropertyInfo, VfioContainer, VfioDevice, VfioDeviceInfo, VfioGroup,
  VfioRegionInfo, Uevent,
} from './types';
import { parseUevent } from './uevents';

let addon: Addon | undefined;

/** Loads the addon on first use: nothing above the kernel layer needs it to import or test. */
export function loadAddon(): Addon {
  if (addon) return addon;
  // src/kernel under ts-jest, dist/src/kernel when compiled: the build dir is at the package root.
  const candidates = ['../..', '../../..'].map((up) => join(__dirname, up, 'build', 'Release', 'directflip_native.node'));
  const file = candidates.find((f) => existsSync(f)) ?? candidates[0];
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require(file) as Addon;
  } catch (e) {
    throw Object.assign(new Error(`the native addon is not built (${(e as Error).message.split('\n')[0]}): run npm ci, which needs the Debian packages libdrm-dev and linux-libc-dev`), { code: 'EDF_NO_ADDON' });
  }
  return addon;
}

const OPEN_FLAGS = constants.O_RDWR | constants.O_NONBLOCK;

/**
 * Node's own open(): its errors already carry code, errno, syscall and path, and libuv opens every
 * fd close-on-exec, so no helper we spawn inherits the DRM master.
 */
function openDevice(path: string, flags = OPEN_FLAGS): number {
  return openSync(path, flags);
}

class NativeKms implements KmsDevice {
  constructor(
    readonly fd: number,
    readonly path: string,
    private readonly a: Addon,
  ) {}

  version(): DrmVersion { return this.a.drmVersion(this.fd, this.path); }
  getCap(cap: number): bigint { return this.a.drmGetCap(this.fd, this.path, cap); }
  setClientCap(cap: number, value: number): void { this.a.drmSetClientCap(this.fd, this.path, cap, value); }
  setMaster(): void { this.a.drmSetMaster(this.fd, this.path); }
  dropMaster(): void { this.a.drmDropMaster(this.fd, this.path); }
  getResources(): CardResources { return this.a.drmGetResources(this.fd, this.path); }
  getConnector(id: number): ConnectorInfo { return this.a.drmGetConnector(this.fd, this.path, id); }
  getEncoder(id: number): EncoderInfo { return this.a.drmGetEncoder(this.fd, this.path, id); }
  getCrtc(id: number): CrtcInfo { return this.a.drmGetCrtc(this.fd, this.path, id); }
  getPlaneResources(): number[] { return this.a.drmGetPlaneResources(this.fd, this.path); }
  getPlane(id: number): PlaneInfo { return this.a.drmGetPlane(this.fd, this.path, id); }
  objGetProperties(id: number, type: number): ObjectProperties { return this.a.drmObjGetProperties(this.fd, this.path, id, type); }
  getProperty(id: number): PropertyInfo { return this.a.drmGetProperty(this.fd, this.path, id); }
  getPropBlob(id: number): Buffer { return this.a.drmGetPropBlob(this.fd, this.path, id); }
  createPropBlob(data: Buffer): number { return this.a.drmCreatePropBlob(this.fd, this.path, data); }
  destroyPropBlob(id: number): void { this.a.drmDestroyPropBlob(this.fd, this.path, id); }

  private triples(props: AtomicProp[]): [number[], number[], bigint[]] {
    return [props.map((p) => p.objectId), props.map((p) => p.propId), props.map((p) => p.value)];
  }

  atomic(props: AtomicProp[], flags: number, userData = 0n): void {
    this.a.drmAtomic(this.fd, this.path, ...this.triples(props), flags, userData);
  }

  atomicAsync(props: AtomicProp[], flags: number, userData = 0n): Promise<void> {
    return this.a.drmAtomicAsync(this.fd, this.path, ...this.triples(props), flags, userData);
  }

  readEvents(): DrmEvent[] { return this.a.drmReadEvents(this.fd, this.path); }
  watchEvents(cb: (events: DrmEvent[]) => void): () => void { return this.a.drmWatchEvents(this.fd, this.path, cb); }

  addFb2(f: AddFb2Args): number {
    return this.a.drmAddFb2(this.fd, this.path, f.width, f.height, f.pixelFormat, f.flags, f.handles, f.pitches, f.offsets, f.modifiers);
  }

  rmFb(id: number): void { this.a.drmRmFb(this.fd, this.path, id); }
  getFb2(id: number): Fb2Info { return this.a.drmGetFb2(this.fd, this.path, id); }
  primeFdToHandle(fd: number): number { return this.a.drmPrimeFdToHandle(this.fd, this.path, fd); }
  primeHandleToFd(handle: number, flags: number): number { return this.a.drmPrimeHandleToFd(this.fd, this.path, handle, flags); }
  gemClose(handle: number): void { this.a.drmGemClose(this.fd, this.path, handle); }
  createDumb(w: number, h: number, bpp: number): DumbBuffer { return this.a.drmCreateDumb(this.fd, this.path, w, h, bpp); }
  mapDumb(handle: number): bigint { return this.a.drmMapDumb(this.fd, this.path, handle); }
  mmap(offset: bigint, size: number): Buffer { return this.a.mmap(this.fd, this.path, offset, size); }
  munmap(map: Buffer): void {
    if (!this.a.munmap(map)) throw kernelError('EINVAL', 'munmap', this.path);
  }
  destroyDumb(handle: number): void { this.a.drmDestroyDumb(this.fd, this.path, handle); }
  createLease(objects: number[], flags: number): Lease { return this.a.drmCreateLease(this.fd, this.path, objects, flags); }
  close(): void { this.a.close(this.fd, this.path); }
}

class NativeContainer implements VfioContainer {
  constructor(readonly fd: number, readonly path: string, private readonly a: Addon) {}
  getApiVersion(): number { return this.a.vfioGetApiVersion(this.fd, this.path); }
  checkExtension(ext: number): number { return this.a.vfioCheckExtension(this.fd, this.path, ext); }
  setIommu(type: number): void { this.a.vfioSetIommu(this.fd, this.path, type); }
  close(): void { this.a.close(this.fd, this.path); }
}

class NativeGroup implements VfioGroup {
  constructor(readonly fd: number, readonly path: string, private readonly a: Addon) {}
  getStatus(): { flags: number } { return this.a.vfioGroupGetStatus(this.fd, this.path); }
  setContainer(c: VfioContainer): void { this.a.vfioGroupSetContainer(this.fd, this.path, c.fd); }
  getDevice(name: string): VfioDevice {
    return new NativeDevice(this.a.vfioGroupGetDeviceFd(this.fd, this.path, name), `${this.path}:${name}`, this.a);
  }
  close(): void { this.a.close(this.fd, this.path); }
}

class NativeDevice implements VfioDevice {
  constructor(readonly fd: number, readonly path: string, private readonly a: Addon) {}
  getInfo(): VfioDeviceInfo { return this.a.vfioDeviceGetInfo(this.fd, this.path); }
  getRegionInfo(i: number): VfioRegionInfo { return this.a.vfioDeviceGetRegionInfo(this.fd, this.path, i); }
  queryGfxPlane(flags: number, type: number): GfxPlaneInfo { return this.a.vfioQueryGfxPlane(this.fd, this.path, flags, type); }
  getGfxDmabuf(id: number): number { return this.a.vfioGetGfxDmabuf(this.fd, this.path, id); }
  regionRead(offset: bigint, length: number): Buffer { return this.a.vfioRegionRead(this.fd, this.path, offset, length); }
  regionWrite(offset: bigint, data: Buffer): void { this.a.vfioRegionWrite(this.fd, this.path, offset, data); }
  close(): void { this.a.close(this.fd, this.path); }
}

class NativeUdmabuf implements UdmabufDevice {
  constructor(readonly fd: number, readonly path: string, private readonly a: Addon) {}
  create(memfd: number, offset: number, size: number): number { return this.a.udmabufCreate(this.fd, this.path, memfd, offset, size); }
  close(): void { this.a.close(this.fd, this.path); }
}

/** The real kernel. Device nodes are opened here with Node's open(); the addon gets fds. */
export function nativeBackend(): KernelBackend {
  const a = loadAddon();
  return {
    kind: 'native',
    openKms: (path) => new NativeKms(openDevice(path), path, a),
    openVfioContainer: (path) => new NativeContainer(openDevice(path, constants.O_RDWR), path, a),
    openVfioGroup: (path) => new NativeGroup(openDevice(path, constants.O_RDWR), path, a),
    openUdmabuf: (path) => new NativeUdmabuf(openDevice(path, constants.O_RDWR), path, a),
    closeFd: (fd) => a.close(fd, ''),
    watchUevents: (cb: (ev: Uevent) => void, onError?: (e: Error) => void) => watchUeventsOn(a, cb, onError),
  };
}

/**
 * The kernel's uevent group (netlink NETLINK_KOBJECT_UEVENT). Nothing thrown by a read, a parse
 * or `cb` leaves the poll: it goes to `onError`. A receive queue that overran lost events, which
 * is reported as one synthetic event (DIRECTFLIP_OVERRUN=1) so the listener re-reads the card.
 */
export function watchUeventsOn(
  a: Pick<Addon, 'ueventOpen' | 'ueventRead' | 'watchFd' | 'close'>,
  cb: (ev: Uevent) => void,
  onError: (e: Error) => void = () => undefined,
): () => void {
  const fd = a.ueventOpen();
  const report = (e: unknown) => onError(e instanceof Error ? e : new Error(String(e)));
  const deliver = (u: Uevent) => {
    try {
      cb(u);
    } catch (e) {
      report(e);
    }
  };
  const w = a.watchFd(fd, () => {
    const r = a.ueventRead(fd);
    for (const m of r.messages) {
      const u = parseUevent(m);
      if (u) deliver(u);
    }
    if (r.overrun) deliver({ action: 'change', devpath: '', subsystem: 'drm', env: { DIRECTFLIP_OVERRUN: '1' } });
  }, report);
  let open = true;
  return () => {
    if (!open) return;
    open = false;
    w.stop();
    a.close(fd, '');
  };
}

/** Wraps an fd the caller opened (tests use /dev/null and closed fds to check refusals). */
export function nativeKmsFromFd(fd: number, path: string): KmsDevice {
  return new NativeKms(fd, path, loadAddon());
}

export function nativeVfioDeviceFromFd(fd: number, path: string): VfioDevice {
  return new NativeDevice(fd, path, loadAddon());
}
