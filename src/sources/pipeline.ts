import { DRM_MODE_ATOMIC } from '../kernel/constants';
import { isKernelError } from '../kernel/errors';
import type { AtomicProp, DrmEvent, KmsDevice } from '../kernel/types';

/** One watcher on a device's fd, fanned out to whoever listens. */
export class EventHub {
  private readonly listeners = new Set<(events: DrmEvent[]) => void>();
  private stop: (() => void) | null = null;

  constructor(private readonly dev: KmsDevice) {}

  subscribe(fn: (events: DrmEvent[]) => void): () => void {
    this.listeners.add(fn);
    this.stop ??= this.dev.watchEvents((ev) => {
      for (const l of this.listeners) l(ev);
    });
    return () => {
      this.listeners.delete(fn);
      if (!this.listeners.size && this.stop) {
        this.stop();
        this.stop = null;
      }
    };
  }
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
  /** Frames replaced in the mailbox before they were ever committed. */
  dropped: number;
  bytesCopied: number;
}

const zero = (): PipelineCounters => ({ received: 0, flipped: 0, dropped: 0, bytesCopied: 0 });

/**
 * The streaming sources' way to the screen: at most one commit in flight per CRTC, and a mailbox
 * of one frame per plane — a newer frame replaces a queued one, so latency never builds up, and
 * frames for different planes of the CRTC (a picture and its cursor) go out together in the next
 * commit. Framebuffers are handed back (`retire`) once they are neither on screen nor queued.
 */
export class FramePipeline {
  private readonly perPlane = new Map<number, PipelineCounters>();
  private inFlight = new Map<number, Frame>();
  private onScreen = new Map<number, Frame>();
  private queued = new Map<number, Frame>();
  private readonly stopWatching: () => void;
  private nextUserData = 1n;

  /**
   * `events`: the device's page-flip events, shared by every pipeline on the fd (one poller per
   * fd: libuv allows no second one).
   */
  constructor(
    private readonly dev: KmsDevice,
    private readonly crtcId: number,
    events: EventHub,
    private readonly retire: (fbs: number[]) => void,
    private readonly onError: (e: Error) => void = () => undefined,
  ) {
    this.stopWatching = events.subscribe((ev) => this.onEvents(ev));
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

  /** Whether `fb` is on screen, in flight or queued: not to be freed. */
  inUse(fb: number): boolean {
    return shows(fb, this.inFlight, this.onScreen, this.queued);
  }

  submit(frame: Frame): void {
    this.plane(frame.planeId).received++;
    const old = this.queued.get(frame.planeId);
    this.queued.set(frame.planeId, frame);
    if (old) {
      this.plane(frame.planeId).dropped++;
      this.release(old);
    }
    if (!this.inFlight.size) this.commitQueued();
  }

  private commitQueued(): void {
    const frames = this.queued;
    if (!frames.size) return;
    this.queued = new Map();
    try {
      this.dev.atomic([...frames.values()].flatMap((f) => f.props), DRM_MODE_ATOMIC.NONBLOCK | DRM_MODE_ATOMIC.PAGE_FLIP_EVENT, this.nextUserData++);
      this.inFlight = frames;
    } catch (e) {
      for (const f of frames.values()) this.release(f);
      // EBUSY: a flip we did not see complete is still pending; the next event retries.
      if (!isKernelError(e, 'EBUSY')) this.onError(e as Error);
    }
  }

  private onEvents(events: DrmEvent[]): void {
    for (const e of events) {
      if (e.crtcId !== this.crtcId || !this.inFlight.size) continue;
      const landed = this.inFlight;
      this.inFlight = new Map();
      for (const [plane, f] of landed) {
        this.plane(plane).flipped++;
        const old = this.onScreen.get(plane);
        this.onScreen.set(plane, f);
        if (old) this.release(old);
      }
      this.commitQueued();
    }
  }

  /** Frames share fbs (a cached fb shown twice): only free what no live frame still shows. */
  private release(frame: Frame): void {
    const live = new Set([this.inFlight, this.onScreen, this.queued].flatMap((m) => [...m.values()]).filter((f) => f !== frame).flatMap((f) => f.fbs));
    const free = frame.fbs.filter((fb) => !live.has(fb));
    if (free.length) this.retire(free);
  }

  stop(): void {
    this.stopWatching();
  }
}

/** Whether a frame in any of these per-plane maps shows `fb`. */
function shows(fb: number, ...frames: Map<number, Frame>[]): boolean {
  return frames.some((m) => [...m.values()].some((f) => f.fbs.includes(fb)));
}
