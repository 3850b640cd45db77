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

/** One frame for one CRTC: the properties to commit, and what to free once it is off screen. */
export interface Frame {
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

/**
 * The streaming sources' way to the screen: at most one commit in flight per CRTC, and a mailbox
 * of one — a newer frame replaces a queued one, so latency never builds up. Framebuffers are
 * handed back (`retire`) once they are neither on screen nor queued.
 */
export class FramePipeline {
  readonly counters: PipelineCounters = { received: 0, flipped: 0, dropped: 0, bytesCopied: 0 };
  private inFlight: Frame | null = null;
  private onScreen: Frame | null = null;
  private queued: Frame | null = null;
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

  /** Whether `fb` is on screen or being flipped to: not to be written into. */
  busy(fb: number): boolean {
    return !!(this.inFlight?.fbs.includes(fb) || this.onScreen?.fbs.includes(fb));
  }

  submit(frame: Frame): void {
    this.counters.received++;
    if (this.inFlight) {
      if (this.queued) {
        this.counters.dropped++;
        this.release(this.queued);
      }
      this.queued = frame;
      return;
    }
    this.commit(frame);
  }

  private commit(frame: Frame): void {
    try {
      this.dev.atomic(frame.props, DRM_MODE_ATOMIC.NONBLOCK | DRM_MODE_ATOMIC.PAGE_FLIP_EVENT, this.nextUserData++);
      this.inFlight = frame;
    } catch (e) {
      this.release(frame);
      // EBUSY: a flip we did not see complete is still pending; the next event retries.
      if (!isKernelError(e, 'EBUSY')) this.onError(e as Error);
    }
  }

  private onEvents(events: DrmEvent[]): void {
    for (const e of events) {
      if (e.crtcId !== this.crtcId || !this.inFlight) continue;
      this.counters.flipped++;
      if (this.onScreen) this.release(this.onScreen);
      this.onScreen = this.inFlight;
      this.inFlight = null;
      const next = this.queued;
      this.queued = null;
      if (next) this.commit(next);
    }
  }

  /** Frames share fbs (a cached fb shown twice): only free what no live frame still shows. */
  private release(frame: Frame): void {
    const live = new Set([this.inFlight, this.onScreen, this.queued].filter((f) => f && f !== frame).flatMap((f) => f!.fbs));
    const free = frame.fbs.filter((fb) => !live.has(fb));
    if (free.length) this.retire(free);
  }

  stop(): void {
    this.stopWatching();
  }
}
