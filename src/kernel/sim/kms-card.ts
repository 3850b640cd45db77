import { DRM_MODE_PROP, fourcc } from '../constants';
import { kernelError } from '../errors';
import type { AtomicProp, DrmEvent, Uevent } from '../types';
import type { SimBuffer, SimDmabufTable } from './buffers';
import { newSimBuffer } from './buffers';
import { buildCard } from './kms-build';
import type { BuiltCard } from './kms-build';
import type { KmsProfile } from './kms-profile';
import type { PropState } from './kms-objects';
import type { AtomicContext, SimFb } from './kms-atomic';
import { SimKmsFile } from './kms-file';
import type { Gem } from './kms-gem';
import { atomicRemoveFb, fbdevRestore } from './kms-close';
import { UeventSource } from './kms-uevents';
import { VblankClock } from './kms-vblank';
import type { PendingFlip } from './kms-vblank';
import { paintConsole } from './patterns';

export interface CardFb extends SimFb {
  /** The file that created it; null for kernel-owned fbs (fbcon, GVT-g direct-flip planes). */
  owner: SimKmsFile | null;
  flags: number;
  /** The GEM object behind each of its planes (GETFB2 hands out a new handle to each). */
  objs: Gem[];
  pitches: number[];
  offsets: number[];
  modifiers: bigint[];
  buffer: SimBuffer;
}

export interface CardBlob {
  data: Buffer;
  owner: SimKmsFile | null;
  destroyed: boolean;
}

export interface CommitRecord {
  file: number;
  flags: number;
  props: AtomicProp[];
}

/** fbcon's framebuffer on one CRTC, as fbdev emulation set it up at boot. */
export interface ConsoleFb {
  crtcId: number;
  connectorId: number;
  planeId: number;
  fbId: number;
  modeBlob: number;
  width: number;
  height: number;
}

/**
 * One simulated DRM card: its objects, the property state, framebuffers, blobs, the master, and
 * the simulated vblank. Each `open()` is a new file with its own caps, fbs and GEM handles.
 */
export class SimCard {
  readonly built: BuiltCard;
  state: PropState;
  readonly fbs = new Map<number, CardFb>();
  readonly blobs = new Map<number, CardBlob>();
  readonly files = new Set<SimKmsFile>();
  readonly console: ConsoleFb[] = [];
  master: SimKmsFile | null = null;
  /** The simulated process has CAP_SYS_ADMIN (the daemon runs as root): GETFB2 hands it handles. */
  capSysAdmin = true;
  /** The latest real commits, oldest first (tests read what a step committed); bounded, as a daemon runs for months. */
  readonly commitLog: CommitRecord[] = [];
  readonly counters = { ioctls: new Map<string, number>(), testOnly: 0, commits: 0 };
  /** Called whenever state that outlives the files changes (the host persists it). */
  onKernelChange: (() => void) | null = null;
  private readonly uevents: UeventSource;
  private readonly vblank: VblankClock;
  /** Ids 1..bootIds are the card's objects, properties and boot blobs. */
  private readonly bootIds: number;
  private readonly failures = new Map<string, string[]>();
  private nextFd = 200000;
  private lessees = 0;
  private readonly statusListeners: ((connector: string, connected: boolean) => void)[] = [];
  private intruder: SimKmsFile | null = null;

  constructor(
    readonly profile: KmsProfile,
    readonly opts: { dmabufs: SimDmabufTable; devPath?: string; vblank?: 'manual' | 'timer' },
  ) {
    this.built = buildCard(profile);
    this.bootIds = this.built.lastId();
    this.uevents = new UeventSource(opts.devPath ?? profile.devPath, profile.pciAddress);
    this.state = this.built.state;
    for (const [id, data] of this.built.blobs) this.blobs.set(id, { data, owner: null, destroyed: false });
    this.vblank = new VblankClock(opts.vblank ?? 'manual');
    this.bootConsole();
  }

  get devPath(): string {
    return this.opts.devPath ?? this.profile.devPath;
  }

  /** fbcon: each connector active at boot shows a console fb on its CRTC's primary plane. */
  private bootConsole(): void {
    for (const c of this.built.console) {
      const buf = newSimBuffer({ width: c.width, height: c.height, stride: c.width * 4, format: fourcc('XR24'), modifier: 0n });
      paintConsole(buf, c.connector.name);
      const fbId = this.kernelFb(buf);
      const primary = this.built.planes.find((p) => p.type === 'primary' && p.possibleCrtcs & (1 << c.crtc.index))!;
      this.console.push({ crtcId: c.crtc.id, connectorId: c.connector.id, planeId: primary.id, fbId, modeBlob: c.modeBlob, width: c.width, height: c.height });
      const v = this.state.get(primary.id)!;
      v.set('FB_ID', BigInt(fbId));
      v.set('CRTC_ID', BigInt(c.crtc.id));
      v.set('SRC_W', BigInt(c.width) << 16n);
      v.set('SRC_H', BigInt(c.height) << 16n);
      v.set('CRTC_W', BigInt(c.width));
      v.set('CRTC_H', BigInt(c.height));
    }
  }

  open(): SimKmsFile {
    const f = new SimKmsFile(this, this.nextFd++);
    this.files.add(f);
    // drm_master_open(): the first opener of a card with no master becomes master.
    if (!this.master) this.master = f;
    return f;
  }

  /** A framebuffer no file owns: it survives every close (GVT-g's direct-flip fbs, fbcon). */
  kernelFb(buf: SimBuffer, id = this.newObjectId()): number {
    this.fbs.set(id, {
      id, width: buf.width, height: buf.height, format: buf.format, modifier: buf.modifier, owner: null, flags: 0,
      objs: [{ buffer: buf, size: buf.pixels.length, dumb: false }], pitches: [buf.stride], offsets: [0], modifiers: [buf.modifier], buffer: buf,
    });
    this.changed();
    return id;
  }

  /**
   * Intel's direct flip: the kernel-owned fb keeps its id while the guest flips, and scans out
   * whatever the guest shows now, with no work by any client.
   */
  retargetKernelFb(id: number, buf: SimBuffer): void {
    const fb = this.fbs.get(id);
    if (!fb || fb.owner !== null) throw new Error(`sim: fb ${id} is not kernel-owned`);
    Object.assign(fb, { width: buf.width, height: buf.height, format: buf.format, modifier: buf.modifier, pitches: [buf.stride], modifiers: [buf.modifier], buffer: buf });
    fb.objs = [{ buffer: buf, size: buf.pixels.length, dumb: false }];
  }

  /**
   * __drm_mode_object_add(): idr_alloc(object_idr, 1, 0), the lowest free id, so the id of a
   * removed fb or blob comes back (past the objects created at boot, which never go).
   */
  newObjectId(): number {
    let id = this.bootIds + 1;
    while (this.fbs.has(id) || this.blobs.has(id)) id++;
    return id;
  }

  newBlob(data: Buffer, owner: SimKmsFile | null): number {
    const id = this.newObjectId();
    this.blobs.set(id, { data, owner, destroyed: false });
    return id;
  }

  atomicContext(): AtomicContext {
    const b = this.built;
    return {
      crtcs: b.crtcs, planes: b.planes, connectors: b.connectors,
      fb: (id) => this.fbs.get(id),
      blob: (id) => this.blobs.get(id)?.data,
      cursorMax: { width: this.profile.caps.cursorWidth, height: this.profile.caps.cursorHeight },
      scalers: this.profile.scalersPerCrtc,
      scalerRange: this.profile.scalerRange,
    };
  }

  /** The host persists what the kernel keeps across the death of every process. */
  changed(): void {
    this.onKernelChange?.();
  }

  /** Test control: the next call of `ioctl` fails with `code`, once. */
  failNext(ioctl: string, code: string): void {
    const q = this.failures.get(ioctl) ?? [];
    q.push(code);
    this.failures.set(ioctl, q);
  }

  /** Every ioctl passes here first: counts it, and applies an injected failure. */
  enter(ioctl: string, path: string): void {
    this.counters.ioctls.set(ioctl, (this.counters.ioctls.get(ioctl) ?? 0) + 1);
    const code = this.failures.get(ioctl)?.shift();
    if (code) throw kernelError(code, ioctl, path, 'injected by failNext');
  }

  connector(name: string) {
    const c = this.built.connectors.find((x) => x.name === name);
    if (!c) throw Object.assign(new Error(`sim: no connector ${name} (the card has ${this.built.connectors.map((x) => x.name).join(', ')})`), { code: 'ENOENT' });
    return c;
  }

  /**
   * Test control: plug or unplug a monitor. As the kernel does, only the connection status
   * changes (the atomic state keeps its routing) and a HOTPLUG uevent names the connector
   * (drm_kms_helper_connector_hotplug_event).
   */
  hotplug(connectorName: string, connected: boolean): void {
    const c = this.connector(connectorName);
    const status = connected ? 1 : 2;
    if (c.status === status) return;
    c.status = status;
    for (const l of this.statusListeners) l(connectorName, connected);
    this.changed();
    this.uevents.emit({ CONNECTOR: String(c.id) });
  }

  /**
   * Test control: the link of a connector fails (drm_connector_set_link_status_property):
   * `link-status` reads Bad and a HOTPLUG uevent names the connector and the property.
   */
  setLinkStatus(connectorName: string, good: boolean): void {
    const c = this.connector(connectorName);
    this.state.get(c.id)!.set('link-status', good ? 0n : 1n);
    this.changed();
    this.uevents.emit({ CONNECTOR: String(c.id), PROPERTY: String(this.built.props.standard('link-status').id) });
  }

  /** Called at once when a connector's status changes (the simulated sysfs follows it). */
  onHotplug(l: (connector: string, connected: boolean) => void): void {
    this.statusListeners.push(l);
  }

  watchUevents(cb: (ev: Uevent) => void, onError?: (e: Error) => void): () => void {
    return this.uevents.watch(cb, onError);
  }

  /** Test control: another process takes the master role (e.g. a compositor starting). */
  revokeMaster(): void {
    this.master = null;
  }

  /**
   * Test control: another file takes DRM master, as a compositor does on a VT switch: the master
   * drops it (DROP_MASTER) and the other file sets it. From then on the old master's ATOMIC is
   * EACCES and its SET_MASTER EBUSY, as the kernel answers them.
   */
  takeMaster(): void {
    if (this.intruder) throw Object.assign(new Error('sim: master is already taken by another file'), { code: 'EBUSY' });
    this.master = null;
    this.intruder = this.open();
    this.intruder.setMaster();
  }

  /** Test control: the other file drops master and closes; whoever asks next may set it. */
  returnMaster(): void {
    if (!this.intruder) throw Object.assign(new Error('sim: no other file has taken master'), { code: 'EINVAL' });
    const f = this.intruder;
    this.intruder = null;
    if (this.master === f) f.dropMaster();
    f.close();
  }

  /**
   * Test control: the file with this fd loses master as if it had called DROP_MASTER (a VT switch
   * or logind revoking it). Throws when that fd is not the master, so a test cannot silently miss.
   */
  dropMasterOf(fd: number): void {
    if (this.master?.fd !== fd) throw new Error(`sim: fd ${fd} is not the DRM master`);
    this.master = null;
  }

  nextLesseeId(): number {
    return ++this.lessees;
  }

  /** Framebuffers alive on the card, kernel-owned ones (fbcon, GVT-g) included. */
  get fbCount(): number {
    return this.fbs.size;
  }

  /** GEM handles held by all open files. */
  get gemHandleCount(): number {
    let n = 0;
    for (const f of this.files) n += f.gemCount;
    return n;
  }

  logCommit(r: CommitRecord): void {
    this.commitLog.push(r);
    if (this.commitLog.length > 4096) this.commitLog.splice(0, 2048);
  }

  hasPendingFlip(crtcId: number): boolean {
    return this.vblank.hasPending(crtcId);
  }

  addPending(p: PendingFlip): void {
    this.vblank.add(p);
  }

  /** Test control: one vblank (or n) on every CRTC. */
  advanceVblank(n = 1): void {
    this.vblank.advance(n);
  }

  get vblankCount(): number {
    return this.vblank.count;
  }

  completePending(crtcIds: Set<number>): void {
    this.vblank.complete(crtcIds);
  }

  flipEvent(crtcId: number, userData: bigint): DrmEvent {
    return this.vblank.event(crtcId, userData);
  }

  /**
   * drm_file_free(): drm_fb_release() removes each of the file's fbs (one atomic_remove_fb commit
   * each), drm_property_destroy_user_blobs() its blobs, drm_master_release() its master, and the
   * last close of the device lets fbdev restore its console (drm_lastclose).
   */
  closeFile(f: SimKmsFile): void {
    for (const fb of [...this.fbs.values()]) if (fb.owner === f) this.removeFb(fb.id);
    for (const b of this.blobs.values()) if (b.owner === f) b.destroyed = true;
    this.vblank.forget(f);
    if (this.master === f) this.master = null;
    this.files.delete(f);
    if (this.files.size === 0) fbdevRestore(this);
    this.collectBlobs();
    this.changed();
  }

  /** drm_framebuffer_remove(): the planes showing it are disabled first, by a commit of their own. */
  removeFb(id: number): void {
    if (atomicRemoveFb(this, id)) this.changed();
    this.fbs.delete(id);
  }

  /** Names of the properties whose values are blob ids. */
  blobPropNames(): Set<string> {
    return new Set([...this.built.props.byId.values()].filter((p) => p.flags & DRM_MODE_PROP.BLOB).map((p) => p.name));
  }

  /** Destroyed blobs live while the state still references them, as refcounting keeps them. */
  collectBlobs(): void {
    const names = this.blobPropNames();
    const used = new Set<number>();
    for (const v of this.state.values()) for (const [k, val] of v) if (names.has(k)) used.add(Number(val));
    for (const [id, b] of this.blobs) if (b.destroyed && !used.has(id)) this.blobs.delete(id);
  }

  stop(): void {
    this.vblank.stop();
  }
}
