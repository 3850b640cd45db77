import { kernelError } from '../errors';
import type {
  AddFb2Args, AtomicProp, CardResources, ConnectorInfo, CrtcInfo, DrmEvent, DrmVersion, DumbBuffer, EncoderInfo, Fb2Info,
  KmsDevice, Lease, ObjectProperties, PlaneInfo, PropertyInfo,
} from '../types';
import type { SimCard } from './kms-card';
import { capValue, setClientCap } from './kms-caps';
import { atomicCommit } from './kms-commit';
import { connectorInfo, crtcInfo, encoderInfo, objectProperties, planeIds, planeInfo, resources } from './kms-query';
import { EventQueue } from './kms-events';
import { checkAddFb2 } from './kms-fb';
import { GemHandles } from './kms-gem';
import type { SimObject } from './kms-objects';

const O_CLOEXEC = 0o2000000;
const O_NONBLOCK = 0o4000;

/** One open file of a simulated card: the KmsDevice the layers above use. */
export class SimKmsFile implements KmsDevice {
  universalPlanes = false;
  /** A lessee is master of the objects it was leased, and sees nothing else to commit to. */
  lease: Set<number> | null = null;
  atomicCap = false;
  writebackCap = false;
  private closed = false;
  private readonly events = new EventQueue((c, i, d) => this.fail(c, i, d));
  private readonly gem: GemHandles;
  /** Live mmaps: each holds a reference on the struct file, so drm_release waits for the last. */
  private readonly maps = new Set<Buffer>();

  constructor(
    readonly card: SimCard,
    readonly fd: number,
  ) {
    this.gem = new GemHandles((c, i, d) => this.fail(c, i, d), card.opts.dmabufs, card.profile.caps.dumbPitchAlign ?? 64);
  }

  get path(): string {
    return this.card.devPath;
  }

  private enter(ioctl: string): void {
    if (this.closed) throw kernelError('EBADF', ioctl, this.path);
    this.card.enter(ioctl, this.path);
  }

  fail(code: string, ioctl: string, detail: string): never {
    throw kernelError(code, ioctl, this.path, detail);
  }

  private requireMaster(ioctl: string): void {
    if (this.card.master !== this && !this.lease) this.fail('EACCES', ioctl, 'not DRM master');
  }

  /**
   * drm_mode_object_find() for this file: a lessee finds only the CRTCs, connectors and planes
   * it holds (drm_mode_object_lease_required + _drm_lease_held); encoders are never leased.
   */
  obj(id: number): SimObject | undefined {
    const b = this.card.built;
    const o = [...b.crtcs, ...b.planes, ...b.connectors, ...b.encoders].find((x) => x.id === id);
    return o && this.holds(o) ? o : undefined;
  }

  holds(o: SimObject): boolean {
    return !this.lease || o.kind === 'encoder' || this.lease.has(o.id);
  }

  visibleConnector(id: number, ioctl: string) {
    const c = this.card.built.connectors.find((x) => x.id === id && this.holds(x));
    if (!c || (c.writeback && !this.writebackCap)) this.fail('ENOENT', ioctl, `no connector ${id}`);
    return c;
  }

  version(): DrmVersion {
    this.enter('DRM_IOCTL_VERSION');
    const d = this.card.profile.driver;
    return { major: d.major, minor: d.minor, patch: d.patch, name: d.name, date: d.date, desc: d.desc };
  }

  getCap(cap: number): bigint {
    this.enter('DRM_IOCTL_GET_CAP');
    return capValue(this.card.profile.caps, cap, (c, i, d) => this.fail(c, i, d));
  }

  setClientCap(cap: number, value: number): void {
    this.enter('DRM_IOCTL_SET_CLIENT_CAP');
    setClientCap(this, cap, value, (c, i, d) => this.fail(c, i, d));
  }

  setMaster(): void {
    this.enter('DRM_IOCTL_SET_MASTER');
    if (this.card.master === this) return;
    if (this.card.master) this.fail('EBUSY', 'DRM_IOCTL_SET_MASTER', 'another file is DRM master');
    this.card.master = this;
  }

  dropMaster(): void {
    this.enter('DRM_IOCTL_DROP_MASTER');
    if (this.card.master !== this) this.fail('EINVAL', 'DRM_IOCTL_DROP_MASTER', 'not DRM master');
    this.card.master = null;
  }

  getResources(): CardResources {
    this.enter('DRM_IOCTL_MODE_GETRESOURCES');
    return resources(this);
  }

  getConnector(id: number): ConnectorInfo {
    this.enter('DRM_IOCTL_MODE_GETCONNECTOR');
    return connectorInfo(this, id);
  }

  getEncoder(id: number): EncoderInfo {
    this.enter('DRM_IOCTL_MODE_GETENCODER');
    return encoderInfo(this, id);
  }

  getCrtc(id: number): CrtcInfo {
    this.enter('DRM_IOCTL_MODE_GETCRTC');
    return crtcInfo(this, id);
  }

  getPlaneResources(): number[] {
    this.enter('DRM_IOCTL_MODE_GETPLANERESOURCES');
    return planeIds(this);
  }

  getPlane(id: number): PlaneInfo {
    this.enter('DRM_IOCTL_MODE_GETPLANE');
    return planeInfo(this, id);
  }

  objGetProperties(objectId: number, objectType: number): ObjectProperties {
    this.enter('DRM_IOCTL_MODE_OBJ_GETPROPERTIES');
    return objectProperties(this, objectId, objectType);
  }

  getProperty(propId: number): PropertyInfo {
    this.enter('DRM_IOCTL_MODE_GETPROPERTY');
    const p = this.card.built.props.byId.get(propId);
    if (!p) this.fail('ENOENT', 'DRM_IOCTL_MODE_GETPROPERTY', `no property ${propId}`);
    return { propId: p.id, name: p.name, flags: p.flags, values: [...p.values], enums: p.enums.map((e) => ({ ...e })) };
  }

  getPropBlob(blobId: number): Buffer {
    this.enter('DRM_IOCTL_MODE_GETPROPBLOB');
    const b = this.card.blobs.get(blobId);
    if (!b) this.fail('ENOENT', 'DRM_IOCTL_MODE_GETPROPBLOB', `no blob ${blobId}`);
    return Buffer.from(b.data);
  }

  createPropBlob(data: Buffer): number {
    this.enter('DRM_IOCTL_MODE_CREATEPROPBLOB');
    if (data.length === 0) this.fail('EINVAL', 'DRM_IOCTL_MODE_CREATEPROPBLOB', 'empty blob');
    return this.card.newBlob(Buffer.from(data), this);
  }

  destroyPropBlob(blobId: number): void {
    this.enter('DRM_IOCTL_MODE_DESTROYPROPBLOB');
    const b = this.card.blobs.get(blobId);
    if (!b || b.destroyed) this.fail('ENOENT', 'DRM_IOCTL_MODE_DESTROYPROPBLOB', `no blob ${blobId}`);
    if (b.owner !== this) this.fail('EPERM', 'DRM_IOCTL_MODE_DESTROYPROPBLOB', `blob ${blobId} belongs to another file`);
    b.destroyed = true;
    this.card.collectBlobs();
  }

  atomic(props: AtomicProp[], flags: number, userData = 0n): void {
    const I = 'DRM_IOCTL_MODE_ATOMIC';
    this.enter(I);
    this.requireMaster(I);
    atomicCommit(this, props, flags, userData);
  }

  /** The sim commits at once; a refusal still arrives as a rejection, as from the worker thread. */
  atomicAsync(props: AtomicProp[], flags: number, userData?: bigint): Promise<void> {
    return new Promise((resolve) => {
      this.atomic(props, flags, userData);
      resolve();
    });
  }

  queueEvent(e: DrmEvent): void {
    this.events.queue(e);
  }

  /** prepare_signaling()'s reservation for `n` events, and its return. */
  reserveEvents(n: number): void {
    this.events.reserve(n);
  }

  releaseEvents(n: number): void {
    this.events.release(n);
  }

  readEvents(): DrmEvent[] {
    this.enter('read');
    return this.events.read();
  }

  watchEvents(cb: (events: DrmEvent[]) => void): () => void {
    if (this.closed) throw kernelError('EBADF', 'poll', this.path);
    return this.events.watch(cb);
  }

  addFb2(a: AddFb2Args): number {
    this.enter('DRM_IOCTL_MODE_ADDFB2');
    const { modifier, gems } = checkAddFb2(a, this.card.profile, this.card.built.planes, this.gem, (c, i, d) => this.fail(c, i, d));
    const id = this.card.newObjectId();
    const first = gems[0].buffer;
    this.card.fbs.set(id, {
      id, width: a.width, height: a.height, format: a.pixelFormat, modifier, owner: this, flags: a.flags,
      objs: gems, pitches: [...a.pitches], offsets: [...a.offsets], modifiers: [...a.modifiers],
      buffer: { ...first, stride: a.pitches[0], format: a.pixelFormat, modifier, pixels: first.pixels.subarray(a.offsets[0] ?? 0) },
    });
    return id;
  }

  rmFb(fbId: number): void {
    this.enter('DRM_IOCTL_MODE_RMFB');
    const fb = this.card.fbs.get(fbId);
    if (!fb || fb.owner !== this) this.fail('ENOENT', 'DRM_IOCTL_MODE_RMFB', `fb ${fbId} is not one of this file's`);
    this.card.removeFb(fbId);
  }

  /**
   * drm_mode_getfb2_ioctl(): a master (or CAP_SYS_ADMIN) gets a NEW GEM handle for each distinct
   * object of the fb on every call, its own fbs and kernel fbs alike; the caller must close them.
   * Anyone else gets the layout with zero handles.
   */
  getFb2(fbId: number): Fb2Info {
    this.enter('DRM_IOCTL_MODE_GETFB2');
    const fb = this.card.fbs.get(fbId);
    if (!fb) this.fail('ENOENT', 'DRM_IOCTL_MODE_GETFB2', `no fb ${fbId}`);
    const handles = fb.objs.map(() => 0);
    if (this.card.master === this || this.lease || this.card.capSysAdmin) {
      fb.objs.forEach((o, i) => {
        const j = fb.objs.indexOf(o);
        handles[i] = j < i ? handles[j] : this.gem.add(o);
      });
    }
    return {
      fbId, width: fb.width, height: fb.height, pixelFormat: fb.format, flags: fb.flags, handles,
      pitches: [...fb.pitches], offsets: [...fb.offsets], modifiers: [...fb.modifiers],
    };
  }

  primeFdToHandle(fd: number): number {
    this.enter('DRM_IOCTL_PRIME_FD_TO_HANDLE');
    return this.gem.importFd(fd);
  }

  primeHandleToFd(handle: number, _flags: number): number {
    this.enter('DRM_IOCTL_PRIME_HANDLE_TO_FD');
    return this.gem.exportHandle(handle);
  }

  gemClose(handle: number): void {
    this.enter('DRM_IOCTL_GEM_CLOSE');
    this.gem.delete(handle, 'DRM_IOCTL_GEM_CLOSE');
  }

  createDumb(width: number, height: number, bpp: number): DumbBuffer {
    this.enter('DRM_IOCTL_MODE_CREATE_DUMB');
    return this.gem.createDumb(width, height, bpp);
  }

  mapDumb(handle: number): bigint {
    this.enter('DRM_IOCTL_MODE_MAP_DUMB');
    return this.gem.mapDumb(handle);
  }

  mmap(offset: bigint, size: number): Buffer {
    this.enter('mmap');
    const m = this.gem.mmap(offset, size);
    this.maps.add(m);
    return m;
  }

  /** munmap() needs no fd: it works after close(), and the last one lets the file go. */
  munmap(map: Buffer): void {
    if (!this.maps.delete(map)) throw kernelError('EINVAL', 'munmap', this.path, 'not a live mapping of this file');
    if (this.closed && this.maps.size === 0) this.card.closeFile(this);
  }

  /** Whether the kernel still holds this file (closed but mapped). */
  get released(): boolean {
    return this.closed && this.maps.size === 0;
  }

  /** drm_mode_destroy_dumb() is drm_gem_handle_delete(): any handle goes. */
  destroyDumb(handle: number): void {
    this.enter('DRM_IOCTL_MODE_DESTROY_DUMB');
    this.gem.delete(handle, 'DRM_IOCTL_MODE_DESTROY_DUMB');
  }

  /** drm_mode_create_lease_ioctl() and fill_object_idr(), minimal: no nested leases, no revoke. */
  createLease(objects: number[], flags: number): Lease {
    const I = 'DRM_IOCTL_MODE_CREATE_LEASE';
    this.enter(I);
    this.requireMaster(I);
    if (flags & ~(O_CLOEXEC | O_NONBLOCK)) this.fail('EINVAL', I, `bad flags 0x${flags.toString(16)}`);
    if (this.lease) this.fail('EINVAL', I, 'a lessee cannot lease further (not modelled)');
    if (!objects.length) this.fail('EINVAL', I, 'no objects');
    for (const id of objects) {
      const o = this.obj(id);
      if (!o) this.fail('ENOENT', I, `no object ${id}`);
      // drm_mode_object_lease_required(): only CRTCs, connectors and planes can be leased.
      if (o.kind === 'encoder') this.fail('EINVAL', I, `object ${id} is an encoder: invalid object for lease`);
      for (const f of this.card.files) if (f.lease?.has(id)) this.fail('EBUSY', I, `object ${id} is already leased`);
    }
    const lessee = this.card.open();
    lessee.lease = new Set(objects);
    // Lessee ids come from the lessor's own lessee_idr (drm_lease_create), not the mode object idr.
    return { fd: lessee.fd, lesseeId: this.card.nextLesseeId() };
  }

  /** Test control: the GEM handles this file holds (the kernel's object_idr, counted). */
  get gemCount(): number {
    return this.gem.count;
  }

  close(): void {
    if (this.closed) throw kernelError('EBADF', 'close', this.path);
    this.closed = true;
    this.events.close();
    // A live mapping keeps the file, its master and its fbs, as in the kernel (vm_file's ref).
    if (this.maps.size === 0) this.card.closeFile(this);
  }
}
