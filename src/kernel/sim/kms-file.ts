import { decodeModeInfo, MODEINFO_SIZE } from '../blobs';
import { DRM_CAP, DRM_CLIENT_CAP, DRM_MODE_ATOMIC, DRM_MODE_FB_MODIFIERS, DRM_MODE_PROP } from '../constants';
import { kernelError } from '../errors';
import { formatInfo } from '../formats';
import type {
  AddFb2Args, AtomicProp, CardResources, ConnectorInfo, CrtcInfo, DrmEvent, DrmVersion, DumbBuffer, EncoderInfo, Fb2Info,
  KmsDevice, Lease, ObjectProperties, PlaneInfo, PropertyInfo,
} from '../types';
import type { SimBuffer } from './buffers';
import { newSimBuffer } from './buffers';
import { checkAtomic } from './kms-atomic';
import type { Touched } from './kms-atomic';
import type { SimCard } from './kms-card';
import { cloneState, OBJECT_TYPE } from './kms-objects';
import type { SimObject } from './kms-objects';
import { invalidModeReason } from './modes';
import { renderWriteback } from './render';

/** linux/drm.h numbers drm_getcap() answers that the layers above do not name. */
const DRM_CAP_VBLANK_HIGH_CRTC = 0x2;
const DRM_CAP_TIMESTAMP_MONOTONIC = 0x6;

const ATOMIC_FLAGS = DRM_MODE_ATOMIC.PAGE_FLIP_EVENT | DRM_MODE_ATOMIC.PAGE_FLIP_ASYNC | DRM_MODE_ATOMIC.TEST_ONLY | DRM_MODE_ATOMIC.NONBLOCK | DRM_MODE_ATOMIC.ALLOW_MODESET;

interface Gem {
  buffer: SimBuffer;
  size: number;
  dumb: boolean;
}

/** One open file of a simulated card: the KmsDevice the layers above use. */
export class SimKmsFile implements KmsDevice {
  universalPlanes = false;
  /** A lessee is master of the objects it was leased, and sees nothing else to commit to. */
  lease: Set<number> | null = null;
  atomicCap = false;
  writebackCap = false;
  private closed = false;
  private events: DrmEvent[] = [];
  private watchers = new Set<(ev: DrmEvent[]) => void>();
  private readonly gems = new Map<number, Gem>();
  private nextHandle = 1;
  private readonly mapOffsets = new Map<bigint, number>();

  constructor(
    readonly card: SimCard,
    readonly fd: number,
  ) {}

  get path(): string {
    return this.card.devPath;
  }

  private enter(ioctl: string): void {
    if (this.closed) throw kernelError('EBADF', ioctl, this.path);
    this.card.enter(ioctl, this.path);
  }

  private fail(code: string, ioctl: string, detail: string): never {
    throw kernelError(code, ioctl, this.path, detail);
  }

  private requireMaster(ioctl: string): void {
    if (this.card.master !== this && !this.lease) this.fail('EACCES', ioctl, 'not DRM master');
  }

  private obj(id: number): SimObject | undefined {
    const b = this.card.built;
    return [...b.crtcs, ...b.planes, ...b.connectors, ...b.encoders].find((o) => o.id === id);
  }

  private visibleConnector(id: number, ioctl: string) {
    const c = this.card.built.connectors.find((x) => x.id === id);
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
      crtcs: b.crtcs.map((c) => c.id),
      connectors: b.connectors.filter((c) => !c.writeback || this.writebackCap).map((c) => c.id),
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
    const c = this.card.built.crtcs.find((x) => x.id === id);
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
    return this.card.built.planes.filter((p) => p.type === 'overlay' || this.universalPlanes).map((p) => p.id);
  }

  getPlane(id: number): PlaneInfo {
    this.enter('DRM_IOCTL_MODE_GETPLANE');
    const p = this.card.built.planes.find((x) => x.id === id);
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
    // drm_mode_atomic_ioctl(): EOPNOTSUPP only when the *driver* lacks DRIVER_ATOMIC; a client that
    // did not set DRM_CLIENT_CAP_ATOMIC gets EINVAL ("commit failed: atomic cap not enabled").
    if (!this.atomicCap) this.fail('EINVAL', I, 'atomic cap not enabled (DRM_CLIENT_CAP_ATOMIC)');
    if (flags & ~ATOMIC_FLAGS) this.fail('EINVAL', I, `unknown flags 0x${flags.toString(16)}`);
    if (flags & DRM_MODE_ATOMIC.TEST_ONLY && flags & DRM_MODE_ATOMIC.PAGE_FLIP_EVENT) this.fail('EINVAL', I, 'TEST_ONLY with PAGE_FLIP_EVENT');
    if (flags & DRM_MODE_ATOMIC.PAGE_FLIP_ASYNC) this.fail('EINVAL', I, 'async flips are not supported with atomic');
    const card = this.card;
    const next = cloneState(card.state);
    const touched: Touched = { crtcs: new Set(), planes: new Set(), connectors: new Set() };
    for (const ap of props) this.setProp(next, touched, ap);
    checkAtomic(card.atomicContext(), card.state, next, touched, flags);
    if (flags & DRM_MODE_ATOMIC.TEST_ONLY) {
      card.counters.testOnly++;
      return;
    }
    if (flags & DRM_MODE_ATOMIC.NONBLOCK) {
      for (const c of touched.crtcs) if (card.hasPendingFlip(c)) this.fail('EBUSY', I, `[CRTC:${c}] has a flip pending`);
    } else {
      card.completePending(touched.crtcs);
    }
    // Fence properties are one-shot: they read back as 0 / -1 after the commit
    // (drm_atomic_{crtc,plane,connector}_get_property).
    for (const id of [...touched.crtcs, ...touched.planes, ...touched.connectors]) {
      const v = next.get(id)!;
      for (const k of ['OUT_FENCE_PTR', 'WRITEBACK_OUT_FENCE_PTR']) if (v.has(k)) v.set(k, 0n);
      if (v.has('IN_FENCE_FD')) v.set('IN_FENCE_FD', BigInt.asUintN(64, -1n));
    }
    card.state = next;
    card.counters.commits++;
    card.commitLog.push({ file: this.fd, flags, props: props.map((p) => ({ ...p })) });
    renderWriteback(card, touched);
    card.collectBlobs();
    const event = !!(flags & DRM_MODE_ATOMIC.PAGE_FLIP_EVENT);
    for (const crtcId of touched.crtcs) {
      if (flags & DRM_MODE_ATOMIC.NONBLOCK) card.addPending({ file: this, crtcId, userData, event });
      else if (event) this.queueEvent(card.flipEvent(crtcId, userData));
    }
  }

  /** drm_atomic_set_property() and drm_property_change_valid_get(). */
  private setProp(next: Map<number, Map<string, bigint>>, touched: Touched, ap: AtomicProp): void {
    const I = 'DRM_IOCTL_MODE_ATOMIC';
    const o = this.obj(ap.objectId);
    if (!o || o.kind === 'encoder' || (o.kind === 'connector' && o.writeback && !this.writebackCap) || (this.lease && !this.lease.has(o.id))) {
      this.fail('ENOENT', I, `no object ${ap.objectId}`);
    }
    const p = this.card.built.props.propOf(o.id, ap.propId);
    if (!p) this.fail('ENOENT', I, `object ${o.id} has no property ${ap.propId}`);
    const v = ap.value;
    if (p.flags & DRM_MODE_PROP.IMMUTABLE) this.fail('EINVAL', I, `${p.name} is immutable`);
    if (p.flags & DRM_MODE_PROP.RANGE && (v < p.values[0] || v > p.values[1])) this.fail('EINVAL', I, `${p.name}=${v} out of range`);
    if ((p.flags & DRM_MODE_PROP.EXTENDED_TYPE) === DRM_MODE_PROP.SIGNED_RANGE) {
      const s = BigInt.asIntN(64, v);
      if (s < p.values[0] || s > p.values[1]) this.fail('EINVAL', I, `${p.name}=${s} out of range`);
    }
    if (p.flags & DRM_MODE_PROP.ENUM && !p.enums.some((e) => e.value === v)) this.fail('EINVAL', I, `${p.name}=${v} is not an enum value`);
    if ((p.flags & DRM_MODE_PROP.EXTENDED_TYPE) === DRM_MODE_PROP.OBJECT && v !== 0n) {
      const ok = p.name.endsWith('FB_ID') ? this.card.fbs.has(Number(v)) : this.card.built.crtcs.some((c) => c.id === Number(v));
      if (!ok) this.fail('EINVAL', I, `${p.name}=${v} names no such object`);
    }
    // drm_atomic_plane_set_property(): IN_FENCE_FD must name a sync_file; the sim has none.
    if (p.name === 'IN_FENCE_FD' && BigInt.asIntN(64, v) !== -1n) this.fail('EINVAL', I, `IN_FENCE_FD ${BigInt.asIntN(64, v)} is not a sync_file`);
    if (p.flags & DRM_MODE_PROP.BLOB && v !== 0n) {
      const b = this.card.blobs.get(Number(v));
      if (!b) this.fail('EINVAL', I, `${p.name}=${v} names no blob`);
      if (p.name === 'MODE_ID' && b.data.length !== MODEINFO_SIZE) this.fail('EINVAL', I, `MODE_ID blob is ${b.data.length} bytes`);
      const bad = p.name === 'MODE_ID' ? invalidModeReason(decodeModeInfo(b.data)) : null;
      if (bad) this.fail('EINVAL', I, `MODE_ID blob ${v}: ${bad}`);
    }
    const vals = next.get(o.id)!;
    if (o.kind === 'plane' || (o.kind === 'connector' && p.name === 'CRTC_ID')) {
      // The old and the new CRTC both join the state, as drm_atomic_get_crtc_state() does.
      const old = Number(vals.get('CRTC_ID'));
      if (old) touched.crtcs.add(old);
      if (p.name === 'CRTC_ID' && v) touched.crtcs.add(Number(v));
    }
    if (o.kind === 'crtc') touched.crtcs.add(o.id);
    if (o.kind === 'plane') touched.planes.add(o.id);
    if (o.kind === 'connector') touched.connectors.add(o.id);
    vals.set(p.name, v);
  }

  async atomicAsync(props: AtomicProp[], flags: number, userData?: bigint): Promise<void> {
    this.atomic(props, flags, userData);
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
    return e;
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
    const I = 'DRM_IOCTL_MODE_ADDFB2';
    this.enter(I);
    const l = this.card.profile.limits;
    if (a.flags & ~DRM_MODE_FB_MODIFIERS) this.fail('EINVAL', I, `bad flags 0x${a.flags.toString(16)}`);
    if (a.flags & DRM_MODE_FB_MODIFIERS && !this.card.profile.caps.addfb2Modifiers) this.fail('EINVAL', I, 'driver does not support modifiers');
    if (a.width < Math.max(1, l.minWidth) || a.width > l.maxWidth || a.height < Math.max(1, l.minHeight) || a.height > l.maxHeight) {
      this.fail('EINVAL', I, `size ${a.width}x${a.height} outside ${l.minWidth}..${l.maxWidth} x ${l.minHeight}..${l.maxHeight}`);
    }
    const info = formatInfo(a.pixelFormat);
    if (!info) this.fail('EINVAL', I, `unknown format 0x${a.pixelFormat.toString(16)}`);
    const modifier = a.flags & DRM_MODE_FB_MODIFIERS ? (a.modifiers[0] ?? 0n) : 0n;
    // drm_any_plane_has_format()
    if (!this.card.built.planes.some((p) => (p.modifiers.get(a.pixelFormat) ?? []).includes(modifier))) {
      this.fail('EINVAL', I, `no plane supports format 0x${a.pixelFormat.toString(16)} with modifier 0x${modifier.toString(16)}`);
    }
    const gems: Gem[] = [];
    for (let i = 0; i < info.cpp.length; i++) {
      const w = i === 0 ? a.width : Math.ceil(a.width / info.hsub);
      const h = i === 0 ? a.height : Math.ceil(a.height / info.vsub);
      const handle = a.handles[i] ?? 0;
      if (!handle) this.fail('EINVAL', I, `no buffer object handle for plane ${i}`);
      if (!(a.flags & DRM_MODE_FB_MODIFIERS) && (a.modifiers[i] ?? 0n) !== 0n) this.fail('EINVAL', I, 'modifier without DRM_MODE_FB_MODIFIERS');
      const pitch = a.pitches[i] ?? 0;
      if (pitch < w * info.cpp[i]) this.fail('EINVAL', I, `pitch ${pitch} too small for ${w} pixels`);
      const gem = this.gems.get(handle);
      if (!gem) this.fail('ENOENT', I, `no GEM handle ${handle}`);
      const min = (h - 1) * pitch + w * info.cpp[i] + (a.offsets[i] ?? 0);
      if (gem.size < min) this.fail('EINVAL', I, `buffer object of ${gem.size} bytes is smaller than ${min}`);
      gems.push(gem);
    }
    const id = this.card.built.nextId();
    this.card.fbs.set(id, {
      id, width: a.width, height: a.height, format: a.pixelFormat, modifier, owner: this, flags: a.flags,
      handles: [...a.handles], pitches: [...a.pitches], offsets: [...a.offsets], modifiers: [...a.modifiers],
      buffer: { ...gems[0].buffer, stride: a.pitches[0], format: a.pixelFormat, modifier, pixels: gems[0].buffer.pixels.subarray(a.offsets[0] ?? 0) },
    });
    return id;
  }

  rmFb(fbId: number): void {
    this.enter('DRM_IOCTL_MODE_RMFB');
    const fb = this.card.fbs.get(fbId);
    if (!fb || fb.owner !== this) this.fail('ENOENT', 'DRM_IOCTL_MODE_RMFB', `fb ${fbId} is not one of this file's`);
    this.card.removeFbs([fbId]);
  }

  getFb2(fbId: number): Fb2Info {
    this.enter('DRM_IOCTL_MODE_GETFB2');
    const fb = this.card.fbs.get(fbId);
    if (!fb) this.fail('ENOENT', 'DRM_IOCTL_MODE_GETFB2', `no fb ${fbId}`);
    // Handles are only given to the master or CAP_SYS_ADMIN; a root daemon is the latter.
    return {
      fbId, width: fb.width, height: fb.height, pixelFormat: fb.format, flags: fb.flags, handles: fb.owner === this ? [...fb.handles] : fb.handles.map(() => 0),
      pitches: [...fb.pitches], offsets: [...fb.offsets], modifiers: [...fb.modifiers],
    };
  }

  primeFdToHandle(fd: number): number {
    this.enter('DRM_IOCTL_PRIME_FD_TO_HANDLE');
    const buf = this.card.opts.dmabufs.lookup(fd, 'DRM_IOCTL_PRIME_FD_TO_HANDLE');
    // drm_gem_prime_fd_to_handle(): one handle per buffer per file.
    for (const [h, g] of this.gems) if (g.buffer === buf) return h;
    const h = this.nextHandle++;
    this.gems.set(h, { buffer: buf, size: buf.pixels.length, dumb: false });
    return h;
  }

  primeHandleToFd(handle: number, _flags: number): number {
    this.enter('DRM_IOCTL_PRIME_HANDLE_TO_FD');
    const g = this.gems.get(handle);
    if (!g) this.fail('ENOENT', 'DRM_IOCTL_PRIME_HANDLE_TO_FD', `no GEM handle ${handle}`);
    return this.card.opts.dmabufs.export(g.buffer);
  }

  gemClose(handle: number): void {
    this.enter('DRM_IOCTL_GEM_CLOSE');
    if (!this.gems.delete(handle)) this.fail('EINVAL', 'DRM_IOCTL_GEM_CLOSE', `no GEM handle ${handle}`);
  }

  createDumb(width: number, height: number, bpp: number): DumbBuffer {
    this.enter('DRM_IOCTL_MODE_CREATE_DUMB');
    if (!width || !height || !bpp || width > 16384 || height > 16384) this.fail('EINVAL', 'DRM_IOCTL_MODE_CREATE_DUMB', `${width}x${height}x${bpp}`);
    const pitch = Math.ceil((width * Math.ceil(bpp / 8)) / 64) * 64;
    const buffer = newSimBuffer({ width, height, stride: pitch, format: 0, modifier: 0n });
    const handle = this.nextHandle++;
    this.gems.set(handle, { buffer, size: pitch * height, dumb: true });
    return { handle, pitch, size: pitch * height };
  }

  mapDumb(handle: number): bigint {
    this.enter('DRM_IOCTL_MODE_MAP_DUMB');
    const g = this.gems.get(handle);
    // drm_gem_dumb_map_offset(): an unknown handle is ENOENT; an imported (PRIME) object is EINVAL.
    if (!g) this.fail('ENOENT', 'DRM_IOCTL_MODE_MAP_DUMB', `no GEM handle ${handle}`);
    if (!g.dumb) this.fail('EINVAL', 'DRM_IOCTL_MODE_MAP_DUMB', `GEM handle ${handle} is an imported buffer`);
    const offset = BigInt(handle) << 32n;
    this.mapOffsets.set(offset, handle);
    return offset;
  }

  mmap(offset: bigint, size: number): Buffer {
    this.enter('mmap');
    const g = this.gems.get(this.mapOffsets.get(offset) ?? -1);
    if (!g) this.fail('EINVAL', 'mmap', `no mapping at offset 0x${offset.toString(16)}`);
    if (size > g.size) this.fail('EINVAL', 'mmap', `size ${size} beyond the ${g.size}-byte buffer`);
    return g.buffer.pixels.subarray(0, size);
  }

  destroyDumb(handle: number): void {
    this.enter('DRM_IOCTL_MODE_DESTROY_DUMB');
    // drm_mode_destroy_dumb() is drm_gem_handle_delete(): any handle goes, an unknown one is EINVAL.
    if (!this.gems.delete(handle)) this.fail('EINVAL', 'DRM_IOCTL_MODE_DESTROY_DUMB', `no GEM handle ${handle}`);
  }

  createLease(objects: number[], _flags: number): Lease {
    const I = 'DRM_IOCTL_MODE_CREATE_LEASE';
    this.enter(I);
    this.requireMaster(I);
    if (!objects.length) this.fail('EINVAL', I, 'no objects');
    for (const id of objects) {
      const o = this.obj(id);
      if (!o || o.kind === 'encoder') this.fail('ENOENT', I, `object ${id} cannot be leased`);
    }
    const lessee = this.card.open();
    lessee.lease = new Set(objects);
    // Lessee ids come from the lessor's own lessee_idr (drm_lease_create), not the mode object idr.
    return { fd: lessee.fd, lesseeId: this.card.nextLesseeId() };
  }

  get gemCount(): number {
    return this.gems.size;
  }

  close(): void {
    if (this.closed) throw kernelError('EBADF', 'close', this.path);
    this.closed = true;
    this.watchers.clear();
    this.card.closeFile(this);
  }
}
