import { DRM_MODE_ATOMIC } from '../kernel/constants';
import { isKernelError } from '../kernel/errors';
import type { AtomicProp, DrmEvent, KmsDevice } from '../kernel/types';
import type { EventHub } from './event-hub';
import { propsOf, shows, showsOther } from './pipeline-frames';
import { ReusedTimer } from './pipeline-timer';

export { EventHub } from './event-hub';

/**
 * The CRTC's one pipeline on this device, made on first use and shared by every domain with
 * planes on it (the kernel keeps one atomic state per CRTC, whoever's planes are on it).
 */
export function sharedPipeline(events: EventHub, dev: KmsDevice, crtcId: number): { pipeline: FramePipeline; leave(): void } {
  return events.join(crtcId, () => new FramePipeline(dev, crtcId, events));
}

/** One plane's next picture: the properties to commit, and what to free once it is off screen. */
export interface Frame {
  planeId: number;
  props: AtomicProp[];
  /** Framebuffers this frame shows; released by `retire` once a later frame has replaced it. */
  fbs: number[];
}

export interface PipelineCounters {
  received: number;
  flipped: number;
  /** Frames replaced by a newer one before they were ever committed. */
  dropped: number;
  /** Commits of this plane's frames the kernel refused with EBUSY: re-queued and retried. */
  busy: number;
  /** Flips whose completion event never came within FLIP_TIMEOUT_MS (taken as landed). */
  lostFlips: number;
  bytesCopied: number;
}

/** Who streams to a plane: its framebuffers go back to it, and its errors are its own. */
export interface PlaneOwner {
  retire(fbs: number[]): void;
  error(e: Error): void;
}

/** A flip event later than this is taken as lost: the pipeline goes on (and counts it). */
export const FLIP_TIMEOUT_MS = 250;
/** When a commit is refused with EBUSY and no flip of ours is pending to retry from. */
const BUSY_RETRY_MS = 4;

const zero = (): PipelineCounters => ({ received: 0, flipped: 0, dropped: 0, busy: 0, lostFlips: 0, bytesCopied: 0 });
type Waiter = (shown: boolean) => void;
interface Slot extends Frame {
  waiters: Waiter[];
}
const FLIP = DRM_MODE_ATOMIC.NONBLOCK | DRM_MODE_ATOMIC.PAGE_FLIP_EVENT;
/** What a spare slot holds: nothing of the frame it carried, and no new array per recycle. */
const NONE_PROPS: AtomicProp[] = [];
const NONE_FBS: number[] = [];

/**
 * The streaming sources' way to the screen: at most one commit in flight per CRTC, and a mailbox
 * of one frame per plane — a newer frame replaces a queued one, so latency never builds up, and
 * frames for different planes of the CRTC (a picture and its cursor, two guests) go out together
 * in the next commit. A commit refused with EBUSY stays queued and is retried; a flip event is
 * matched by its user_data, and one that never comes is timed out. Framebuffers are handed back
 * (`retire`) once they are neither on screen nor queued.
 */
export class FramePipeline {
  private readonly perPlane = new Map<number, PipelineCounters>();
  private readonly owners = new Map<number, PlaneOwner>();
  /** Planes given up while a flip to them was in flight: that flip lands for no one. */
  private readonly left = new Set<number>();
  private inFlight = new Map<number, Slot>();
  private inFlightTag = 0n;
  private onScreen = new Map<number, Slot>();
  private queued = new Map<number, Slot>();
  // Design §5 (no GC stalls on the frame path): the maps a commit moves frames between, and the
  // slots frames ride in, are reused rather than made per frame.
  private readonly spareMaps: Map<number, Slot>[] = [];
  private readonly spareSlots: Slot[] = [];
  /** The one commit's properties when frames of several planes go together (refilled each time). */
  private readonly together: AtomicProp[] = [];
  private readonly flipTimer = new ReusedTimer(FLIP_TIMEOUT_MS, () => {
    for (const id of this.inFlight.keys()) this.plane(id).lostFlips++;
    this.landed();
  });
  private readonly busyTimer = new ReusedTimer(BUSY_RETRY_MS, () => this.commitQueued());
  private readonly stopWatching: () => void;
  private stopped = false;

  /**
   * `events`: the device's page-flip events, shared by every pipeline on the fd (one poller per
   * fd: libuv allows no second one). `retire` and `onError` serve planes no owner claimed.
   */
  constructor(
    private readonly dev: KmsDevice,
    private readonly crtcId: number,
    private readonly events: EventHub,
    private readonly retire: (fbs: number[]) => void = () => undefined,
    private readonly onError: (e: Error) => void = () => undefined,
  ) {
    this.stopWatching = events.subscribe((ev) => this.onEvents(ev));
  }

  /** Claims planes for one stream; the returned function gives them up (its queued frames go). */
  own(planeIds: number[], owner: PlaneOwner): () => void {
    for (const id of planeIds) {
      this.owners.set(id, owner);
      this.left.delete(id);
    }
    return () => {
      for (const id of planeIds) {
        if (this.owners.get(id) !== owner) continue;
        this.owners.delete(id);
        if (this.inFlight.has(id)) this.left.add(id);
        this.perPlane.delete(id);
        for (const m of [this.queued, this.onScreen]) this.notify(m.get(id), false);
        this.queued.delete(id);
        this.onScreen.delete(id);
      }
    };
  }

  /** One plane's counters; sources add the bytes they copy here. */
  plane(planeId: number): PipelineCounters {
    let c = this.perPlane.get(planeId);
    if (!c) this.perPlane.set(planeId, (c = zero()));
    return c;
  }

  /** All planes together. */
  get counters(): Readonly<PipelineCounters> {
    const sum = zero();
    for (const c of this.perPlane.values()) for (const k of Object.keys(sum) as (keyof PipelineCounters)[]) sum[k] += c[k];
    return sum;
  }

  /** Whether `fb` is on screen or being flipped to: not to be written into. */
  busy(fb: number): boolean {
    return shows(fb, this.inFlight, this.onScreen);
  }

  /** Whether a commit showing `fb` is in flight or queued (a flip to it is on its way). */
  pending(fb: number): boolean {
    return shows(fb, this.inFlight, this.queued);
  }

  /** Whether `fb` is at all on screen, in flight or queued: not to be freed. */
  inUse(fb: number): boolean {
    return shows(fb, this.inFlight, this.onScreen, this.queued);
  }

  /** Whether a frame for the plane is queued or in flight. */
  hasFrame(planeId: number): boolean {
    return this.queued.has(planeId) || this.inFlight.has(planeId);
  }

  /**
   * Calls `cb(true)` once the plane shows what was submitted for it (now, when nothing is on its
   * way), or `cb(false)` when that can no longer happen (refused, stopped). A queued frame that
   * is replaced hands its waiters to the newer one, which shows later pixels still.
   */
  afterFlip(planeId: number, cb: Waiter): void {
    const slot = this.queued.get(planeId) ?? this.inFlight.get(planeId);
    if (slot) slot.waiters.push(cb);
    else cb(true);
  }

  submit(frame: Frame): void {
    if (this.stopped) return;
    const c = this.plane(frame.planeId);
    c.received++;
    const old = this.queued.get(frame.planeId);
    const slot = this.spareSlots.pop() ?? { planeId: 0, props: NONE_PROPS, fbs: NONE_FBS, waiters: [] };
    slot.planeId = frame.planeId;
    slot.props = frame.props;
    slot.fbs = frame.fbs;
    if (old) {
      // The newer frame takes over the waiters (it shows later pixels still).
      const w = slot.waiters;
      slot.waiters = old.waiters;
      old.waiters = w;
    }
    this.queued.set(frame.planeId, slot);
    if (old) {
      c.dropped++;
      this.release(old);
      this.recycle(old);
    }
    if (!this.inFlight.size && !this.flipTimer.armed && !this.busyTimer.armed) this.commitQueued();
  }

  private commitQueued(): void {
    const frames = this.queued;
    if (!frames.size || this.stopped) return;
    this.queued = this.spareMaps.pop() ?? new Map<number, Slot>();
    const tag = this.events.nextUserData();
    try {
      this.dev.atomic(propsOf(frames, this.together), FLIP, tag);
    } catch (e) {
      if (isKernelError(e, 'EBUSY')) {
        // Someone's flip on this CRTC is still pending (a lost event of ours, another fd's
        // commit): keep the frames and try again shortly. Nothing newer can have come meanwhile.
        this.spareMaps.push(this.queued);
        this.queued = frames;
        for (const id of frames.keys()) this.plane(id).busy++;
        this.arm(this.busyTimer);
        return;
      }
      for (const f of frames.values()) {
        this.notify(f, false);
        this.release(f);
      }
      const owners = new Set([...frames.keys()].map((id) => this.owners.get(id)));
      for (const o of owners) (o ? o.error.bind(o) : this.onError)(e as Error);
      return;
    }
    if (!this.inFlight.size) this.spareMaps.push(this.inFlight); // empty: nothing was in flight
    this.inFlight = frames;
    this.inFlightTag = tag;
    this.arm(this.flipTimer);
  }

  private arm(timer: ReusedTimer): void {
    this.disarm();
    timer.arm();
  }

  private disarm(): void {
    this.flipTimer.disarm();
    this.busyTimer.disarm();
  }

  private onEvents(events: DrmEvent[]): void {
    // user_data names the commit: an event for someone else's commit on this CRTC, or a late one
    // for a flip already timed out, is not ours.
    for (const e of events) if (this.inFlight.size && e.userData === this.inFlightTag) this.landed();
  }

  private landed(): void {
    this.disarm();
    const landed = this.inFlight;
    this.inFlight = this.spareMaps.pop() ?? new Map<number, Slot>();
    this.inFlightTag = 0n;
    // values(), not entries: an entry is a [key, value] array per plane per flip.
    for (const f of landed.values()) {
      const plane = f.planeId;
      if (this.left.delete(plane)) continue;
      this.plane(plane).flipped++;
      const old = this.onScreen.get(plane);
      this.onScreen.set(plane, f);
      if (old) {
        this.release(old);
        this.recycle(old);
      }
    }
    for (const f of landed.values()) this.notify(f, true);
    landed.clear();
    this.spareMaps.push(landed);
    this.commitQueued();
  }

  /** Answers a frame's waiters; what one throws is its plane owner's error, not the event loop's. */
  private notify(slot: Slot | undefined, shown: boolean): void {
    if (!slot) return;
    const ws = slot.waiters;
    // Waiters added while these run wait for a later flip: only the first `n` are answered.
    const n = ws.length;
    for (let i = 0; i < n; i++) {
      try {
        ws[i](shown);
      } catch (e) {
        const owner = this.owners.get(slot.planeId);
        (owner ? owner.error.bind(owner) : this.onError)(e as Error);
      }
    }
    ws.copyWithin(0, n);
    ws.length -= n;
  }

  /** A slot no map holds any more goes back for the next frame. */
  private recycle(slot: Slot): void {
    if (slot.waiters.length || this.spareSlots.length >= 8) return;
    slot.props = NONE_PROPS;
    slot.fbs = NONE_FBS;
    this.spareSlots.push(slot);
  }

  /** Whether a frame other than `frame` in any of the maps shows `fb`. */
  private liveElsewhere(fb: number, frame: Frame): boolean {
    return showsOther(fb, frame, this.inFlight) || showsOther(fb, frame, this.onScreen) || showsOther(fb, frame, this.queued);
  }

  /** Frames share fbs (a cached fb shown twice): only free what no live frame still shows. */
  private release(frame: Frame): void {
    let live = 0;
    for (const fb of frame.fbs) if (this.liveElsewhere(fb, frame)) live++;
    if (live === frame.fbs.length) return;
    const free = live ? frame.fbs.filter((fb) => !this.liveElsewhere(fb, frame)) : frame.fbs;
    const owner = this.owners.get(frame.planeId);
    try {
      if (owner) owner.retire(free);
      else this.retire(free);
    } catch (e) {
      (owner ? owner.error.bind(owner) : this.onError)(e as Error);
    }
  }

  /** No more commits; whoever waits for a flip is answered. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.flipTimer.close();
    this.busyTimer.close();
    this.stopWatching();
    for (const m of [this.queued, this.inFlight]) for (const f of m.values()) this.notify(f, false);
  }
}
