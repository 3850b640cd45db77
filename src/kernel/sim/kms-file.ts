import { decodeModeInfo } from '../blobs';
import { DRM_CAP, DRM_CLIENT_CAP, DRM_MODE_PROP } from '../constants';
import { kernelError } from '../errors';
import type {
  AddFb2Args, AtomicProp, CardResources, ConnectorInfo, CrtcInfo, DrmEvent, DrmVersion, DumbBuffer, EncoderInfo, Fb2Info,
  KmsDevice, Lease, ObjectProperties, PlaneInfo, PropertyInfo,
} from '../types';
import type { SimCard } from './kms-card';
import { atomicCommit } from './kms-commit';
import { checkAddFb2 } from './kms-fb';
import { GemHandles } from './kms-gem';
import { OBJECT_TYPE } from './kms-objects';
import type { SimObject } from './kms-objects';

/** linux/drm.h numbers drm_getcap() answers that the layers above do not name. */
const DRM_CAP_VBLANK_HIGH_CRTC = 0x2;
const O_CLOEXEC = 0o2000000;
const O_NONBLOCK = 0o4000;
const DRM_CAP_TIMESTAMP_MONOTONIC = 0x6;
/** drm_open_helper(): event_space = 4096. Each flip event is a struct drm_event_vblank. */
const EVENT_SPACE = 4096;
const EVENT_VBLANK_SIZE = 32;

/** One open file of a simulated card: the KmsDevice the layers above use. */
export class SimKmsFile implements KmsDevice {
  universalPlanes = false;
  /** A lessee is master of the objects it was leased, and sees nothing else to commit to. */
  lease: Set<number> | null = null;
  atomicCap = false;
  writebackCap = false;
  private closed = false;
  private events: DrmEvent[] = [];
  /** file_priv->event_space: bytes of events the file may have reserved and not yet read. */
  private eventSpace = EVENT_SPACE;
  private watchers = new Set<(ev: DrmEvent[]) => void>();
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

  private holds(o: SimObject): boolean {
    return !this.lease || o.kind === 'encoder' || this.lease.has(o.id);
  }

  private visibleConnector(id: number, ioctl: string) {
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
    const c = this.card.profile.caps;
    const caps: Record<number, number> = {
      [DRM_CAP.DUMB_BUFFER]: c.dumbBuffer, [DRM_CAP.PRIME]: c.prime, [DRM_CAP.CURSOR_WIDTH]: c.cursorWidth,
      [DRM_CAP.CURSOR_HEIGHT]: c.cursorHeight, [DRM_CAP.ADDFB2_MODIFIERS]: c.addfb2Modifiers ? 1 : 0, [DRM_CAP.CRTC_IN_VBLANK_EVENT]: 1,
      // drm_getcap() answers these for every KMS driver: vblank on any CRTC, CLOCK_MONOTONIC stamps.
      [DRM_CAP_VBLANK_HIGH_CRTC]: 1, [DRM_CAP_TIMESTAMP_MONOTONIC]: 1,
    };
    if (caps[cap] === undefined) this.fail('EINVAL', 'DRM_IOCTL_GET_CAP', `unknown cap ${cap}`);
    return BigInt(caps[cap]);
  }

  setClientCap(cap: number, value: number): void {
    this.enter('DRM_IOCTL_SET_CLIENT_CAP');
    // drm_setclientcap(): ATOMIC takes 0..2, the others 0..1; anything larger is EINVAL.
    const max = cap === DRM_CLIENT_CAP.ATOMIC ? 2 : 1;
    if (!Number.isInteger(value) || value < 0 || value > max) this.fail('EINVAL', 'DRM_IOCTL_SET_CLIENT_CAP', `value ${value}`);
    const on = value !== 0;
    switch (cap) {
      case DRM_CLIENT_CAP.STEREO_3D:
      case DRM_CLIENT_CAP.ASPECT_RATIO:
        return;
      case DRM_CLIENT_CAP.UNIVERSAL_PLANES:
        this.universalPlanes = on;
        return;
      case DRM_CLIENT_CAP.ATOMIC:
        // file_priv->atomic = file_priv->universal_planes = req->value: clearing ATOMIC clears both.
        this.atomicCap = on;
        this.universalPlanes = on;
        return;
      case DRM_CLIENT_CAP.WRITEBACK_CONNECTORS:
        // drm_setclientcap(): writeback connectors need the atomic cap first.
        if (!this.atomicCap) this.fail('EINVAL', 'DRM_IOCTL_SET_CLIENT_CAP', 'WRITEBACK_CONNECTORS needs ATOMIC');
        this.writebackCap = on;
        return;
      default:
        this.fail('EINVAL', 'DRM_IOCTL_SET_CLIENT_CAP', `unknown client cap ${cap}`);
    }
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
    const b = this.card.built;
    const l = this.card.profile.limits;
    return {
      fbs: [...this.card.fbs.values()].filter((f) => f.owner === this).map((f) => f.id),
      crtcs: b.crtcs.filter((c) => this.holds(c)).map((c) => c.id),
      connectors: b.connectors.filter((c) => (!c.writeback || this.writebackCap) && this.holds(c)).map((c) => c.id),
      encoders: b.encoders.map((e) => e.id),
      ...l,
    };
  }

  getConnector(id: number): ConnectorInfo {
    this.enter('DRM_IOCTL_MODE_GETCONNECTOR');
    const c = this.visibleConnector(id, 'DRM_IOCTL_MODE_GETCONNECTOR');
    const crtcId = Number(this.card.state.get(c.id)!.get('CRTC_ID'));
    return {
      connectorId: c.id, encoderId: crtcId ? c.encoder.id : 0, connectorType: c.connectorType, connectorTypeId: c.typeId,
      connection: c.status, mmWidth: c.mmWidth, mmHeight: c.mmHeight, subpixel: 1,
      modes: c.status === 1 ? c.modes.map((m) => ({ ...m })) : [], encoders: [c.encoder.id],
    };
  }

  getEncoder(id: number): EncoderInfo {
    this.enter('DRM_IOCTL_MODE_GETENCODER');
    const e = this.card.built.encoders.find((x) => x.id === id);
    if (!e) this.fail('ENOENT', 'DRM_IOCTL_MODE_GETENCODER', `no encoder ${id}`);
    const conn = this.card.built.connectors.find((c) => c.encoder === e)!;
    // Each encoder clones only itself: drm_mode_config_validate() adds the encoder's own bit.
    const possibleClones = 1 << this.card.built.encoders.indexOf(e);
    return { encoderId: e.id, encoderType: e.encoderType, crtcId: Number(this.card.state.get(conn.id)!.get('CRTC_ID')), possibleCrtcs: e.possibleCrtcs, possibleClones };
  }

  getCrtc(id: number): CrtcInfo {
    this.enter('DRM_IOCTL_MODE_GETCRTC');
    const c = this.card.built.crtcs.find((x) => x.id === id && this.holds(x));
    if (!c) this.fail('ENOENT', 'DRM_IOCTL_MODE_GETCRTC', `no CRTC ${id}`);
    const v = this.card.state.get(c.id)!;
    const blob = this.card.blobs.get(Number(v.get('MODE_ID')));
    const primary = this.card.built.planes.find((p) => p.type === 'primary' && Number(this.card.state.get(p.id)!.get('CRTC_ID')) === c.id);
    const pv = primary && this.card.state.get(primary.id)!;
    return {
      crtcId: c.id, fbId: pv ? Number(pv.get('FB_ID')) : 0, x: pv ? Number(pv.get('SRC_X')! >> 16n) : 0, y: pv ? Number(pv.get('SRC_Y')! >> 16n) : 0,
      gammaSize: 256, modeValid: !!blob, mode: blob ? decodeModeInfo(blob.data) : null,
    };
  }

  getPlaneResources(): number[] {
    this.enter('DRM_IOCTL_MODE_GETPLANERESOURCES');
    return this.card.built.planes.filter((p) => (p.type === 'overlay' || this.universalPlanes) && this.holds(p)).map((p) => p.id);
  }

  getPlane(id: number): PlaneInfo {
    this.enter('DRM_IOCTL_MODE_GETPLANE');
    const p = this.card.built.planes.find((x) => x.id === id && this.holds(x));
    if (!p) this.fail('ENOENT', 'DRM_IOCTL_MODE_GETPLANE', `no plane ${id}`);
    const v = this.card.state.get(p.id)!;
    return { planeId: p.id, crtcId: Number(v.get('CRTC_ID')), fbId: Number(v.get('FB_ID')), possibleCrtcs: p.possibleCrtcs, gammaSize: 0, formats: [...p.formats] };
  }

  objGetProperties(objectId: number, objectType: number): ObjectProperties {
    this.enter('DRM_IOCTL_MODE_OBJ_GETPROPERTIES');
    const o = this.obj(objectId);
    if (!o || (objectType !== 0 && OBJECT_TYPE[o.kind] !== objectType) || (o.kind === 'connector' && o.writeback && !this.writebackCap)) {
      this.fail('ENOENT', 'DRM_IOCTL_MODE_OBJ_GETPROPERTIES', `no object ${objectId} of type 0x${objectType.toString(16)}`);
    }
    const t = this.card.built.props;
    // drm_mode_object_get_properties(): atomic-only properties are hidden from non-atomic clients.
    const ids = (t.attached.get(objectId) ?? []).filter((pid) => this.atomicCap || !(t.byId.get(pid)!.flags & DRM_MODE_PROP.ATOMIC));
    const vals = this.card.state.get(objectId)!;
    return { props: ids, values: ids.map((pid) => vals.get(t.byId.get(pid)!.name)!) };
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
    this.events.push(e);
    if (this.watchers.size) setImmediate(() => this.deliver());
  }

  private deliver(): void {
    if (!this.events.length || this.closed) return;
    const ev = this.readEventsQuiet();
    for (const w of this.watchers) w(ev);
  }

  private readEventsQuiet(): DrmEvent[] {
    const e = this.events;
    this.events = [];
    this.releaseEvents(e.length);
    return e;
  }

  /** drm_event_reserve_init_locked(): ENOMEM when the unread events would pass 4 KiB. */
  reserveEvents(n: number): void {
    if (this.eventSpace < n * EVENT_VBLANK_SIZE) this.fail('ENOMEM', 'DRM_IOCTL_MODE_ATOMIC', `event queue full: ${(EVENT_SPACE - this.eventSpace) / EVENT_VBLANK_SIZE} events unread`);
    this.eventSpace -= n * EVENT_VBLANK_SIZE;
  }

  releaseEvents(n: number): void {
    this.eventSpace += n * EVENT_VBLANK_SIZE;
  }

  readEvents(): DrmEvent[] {
    this.enter('read');
    return this.readEventsQuiet();
  }

  watchEvents(cb: (events: DrmEvent[]) => void): () => void {
    if (this.closed) throw kernelError('EBADF', 'poll', this.path);
    this.watchers.add(cb);
    if (this.events.length) setImmediate(() => this.deliver());
    return () => this.watchers.delete(cb);
  }

  addFb2(a: AddFb2Args): number {
    this.enter('DRM_IOCTL_MODE_ADDFB2');
    const { modifier, gems } = checkAddFb2(a, this.card.profile, this.card.built.planes, this.gem, (c, i, d) => this.fail(c, i, d));
    const id = this.card.built.nextId();
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
    this.watchers.clear();
    // A live mapping keeps the file, its master and its fbs, as in the kernel (vm_file's ref).
    if (this.maps.size === 0) this.card.closeFile(this);
  }
}
