import { DRM_EVENT, fourcc } from '../constants';
import { kernelError } from '../errors';
import type { AtomicProp, DrmEvent } from '../types';
import type { SimBuffer, SimDmabufTable } from './buffers';
import { newSimBuffer } from './buffers';
import { buildCard } from './kms-build';
import type { BuiltCard } from './kms-build';
import type { KmsProfile } from './kms-profile';
import { cloneState } from './kms-objects';
import type { PropState } from './kms-objects';
import type { AtomicContext, SimFb } from './kms-atomic';
import { SimKmsFile } from './kms-file';
import { paintConsole } from './patterns';

export interface CardFb extends SimFb {
  /** The file that created it; null for kernel-owned fbs (fbcon, GVT-g direct-flip planes). */
  owner: SimKmsFile | null;
  flags: number;
  handles: number[];
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

interface PendingFlip {
  file: SimKmsFile;
  crtcId: number;
  userData: bigint;
  event: boolean;
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
  master: SimKmsFile | null = null;
  readonly commitLog: CommitRecord[] = [];
  readonly counters = { ioctls: new Map<string, number>(), testOnly: 0, commits: 0 };
  vblankCount = 0;
  private pending: PendingFlip[] = [];
  private readonly failures = new Map<string, string[]>();
  private readonly bootState: PropState;
  private nextFd = 200000;
  private lessees = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly hotplugListeners: ((connector: string, connected: boolean) => void)[] = [];

  constructor(
    readonly profile: KmsProfile,
    readonly opts: { dmabufs: SimDmabufTable; devPath?: string; vblank?: 'manual' | 'timer' },
  ) {
    this.built = buildCard(profile);
    this.state = this.built.state;
    for (const [id, data] of this.built.blobs) this.blobs.set(id, { data, owner: null, destroyed: false });
    this.bootConsole();
    this.bootState = cloneState(this.state);
    if (opts.vblank === 'timer') {
      this.timer = setInterval(() => this.advanceVblank(), 1000 / 60);
      this.timer.unref();
    }
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
  kernelFb(buf: SimBuffer): number {
    const id = this.built.nextId();
    this.fbs.set(id, {
      id, width: buf.width, height: buf.height, format: buf.format, modifier: buf.modifier, owner: null, flags: 0,
      handles: [0], pitches: [buf.stride], offsets: [0], modifiers: [buf.modifier], buffer: buf,
    });
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
  }

  newBlob(data: Buffer, owner: SimKmsFile | null): number {
    const id = this.built.nextId();
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
    };
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

  /** Test control: plug or unplug a monitor. */
  hotplug(connectorName: string, connected: boolean): void {
    const c = this.built.connectors.find((x) => x.name === connectorName);
    if (!c) throw new Error(`sim: no connector ${connectorName}`);
    c.status = connected ? 1 : 2;
    for (const l of this.hotplugListeners) l(connectorName, connected);
  }

  onHotplug(l: (connector: string, connected: boolean) => void): void {
    this.hotplugListeners.push(l);
  }

  /** Test control: another process takes the master role (e.g. a compositor starting). */
  revokeMaster(): void {
    this.master = null;
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

  hasPendingFlip(crtcId: number): boolean {
    return this.pending.some((p) => p.crtcId === crtcId);
  }

  addPending(p: PendingFlip): void {
    this.pending.push(p);
  }

  /** One vblank: completes pending flips and queues their events (drm_crtc_send_vblank_event). */
  advanceVblank(n = 1): void {
    for (let i = 0; i < n; i++) {
      this.vblankCount++;
      const done = this.pending;
      this.pending = [];
      for (const p of done) if (p.event) p.file.queueEvent(this.flipEvent(p.crtcId, p.userData));
    }
  }

  /** A blocking commit waits for the CRTC's pending flip (drm_atomic_helper_wait_for_dependencies). */
  completePending(crtcIds: Set<number>): void {
    const stay = this.pending.filter((p) => !crtcIds.has(p.crtcId));
    const done = this.pending.filter((p) => crtcIds.has(p.crtcId));
    this.pending = stay;
    if (done.length) this.vblankCount++;
    for (const p of done) if (p.event) p.file.queueEvent(this.flipEvent(p.crtcId, p.userData));
  }

  flipEvent(crtcId: number, userData: bigint): DrmEvent {
    const t = process.hrtime();
    return { type: DRM_EVENT.FLIP_COMPLETE, userData, tvSec: t[0], tvUsec: Math.floor(t[1] / 1000), sequence: this.vblankCount, crtcId };
  }

  /** drm_fb_release() + drm_master_release(); lastclose lets fbcon repaint its boot console. */
  closeFile(f: SimKmsFile): void {
    const mine = [...this.fbs.values()].filter((fb) => fb.owner === f).map((fb) => fb.id);
    this.removeFbs(mine);
    for (const b of this.blobs.values()) if (b.owner === f) b.destroyed = true;
    this.pending = this.pending.filter((p) => p.file !== f);
    if (this.master === f) this.master = null;
    this.files.delete(f);
    if (this.files.size === 0) this.state = cloneState(this.bootState);
    this.collectBlobs();
  }

  /** drm_framebuffer_remove(): planes showing a removed fb are disabled. */
  removeFbs(ids: number[]): void {
    if (!ids.length) return;
    const gone = new Set(ids.map(BigInt));
    for (const p of this.built.planes) {
      const v = this.state.get(p.id)!;
      if (gone.has(v.get('FB_ID')!)) for (const k of ['FB_ID', 'CRTC_ID', 'SRC_X', 'SRC_Y', 'SRC_W', 'SRC_H', 'CRTC_X', 'CRTC_Y', 'CRTC_W', 'CRTC_H']) v.set(k, 0n);
    }
    for (const id of ids) this.fbs.delete(id);
  }

  /** Destroyed blobs live while the state still references them, as refcounting keeps them. */
  collectBlobs(): void {
    const used = new Set<number>();
    for (const v of this.state.values()) for (const [k, val] of v) if (k === 'MODE_ID') used.add(Number(val));
    for (const [id, b] of this.blobs) if (b.destroyed && !used.has(id)) this.blobs.delete(id);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
