import type { DrmEvent, KmsDevice } from '../kernel/types';
import type { FramePipeline } from './pipeline';

let lastUserData = 0n;

/**
 * One watcher on a device's fd, fanned out to whoever listens, and the one frame pipeline of
 * each CRTC on that device: the kernel keeps one atomic state per CRTC whoever's planes are on
 * it, so two guests sharing a CRTC share its pipeline (and its one commit in flight).
 */
export class EventHub {
  private readonly listeners = new Set<(events: DrmEvent[]) => void>();
  private stop: (() => void) | null = null;
  private readonly crtcs = new Map<number, { pipeline: FramePipeline; users: number }>();

  private warned = false;

  /**
   * `onError`: what a listener threw (it is one pipeline's fault; the others still get events).
   * Without one, the first such error is written to stderr as a warning, once.
   */
  constructor(
    private readonly dev: KmsDevice,
    private readonly onError: (e: Error) => void = (e) => {
      if (this.warned) return;
      this.warned = true;
      process.stderr.write(`<4>a DRM event handler failed (further failures are not logged): ${JSON.stringify(e.message)}\n`);
    },
  ) {}

  subscribe(fn: (events: DrmEvent[]) => void): () => void {
    this.listeners.add(fn);
    this.stop ??= this.dev.watchEvents((ev) => {
      for (const l of this.listeners) {
        try {
          l(ev);
        } catch (e) {
          this.onError(e as Error);
        }
      }
    });
    return () => {
      this.listeners.delete(fn);
      if (!this.listeners.size && this.stop) {
        this.stop();
        this.stop = null;
      }
    };
  }

  /**
   * A user_data no other commit carries, so each flip event names its own commit: unique in the
   * process, so even two hubs on one fd (tests make them) cannot confuse each other's events.
   */
  nextUserData(): bigint {
    return ++lastUserData;
  }

  /**
   * The CRTC's pipeline (made by `make` on first use), shared by every domain with planes on it;
   * `leave` once done with it. `sharedPipeline` in pipeline.ts is the usual way in.
   */
  join(crtcId: number, make: () => FramePipeline): { pipeline: FramePipeline; leave(): void } {
    let c = this.crtcs.get(crtcId);
    if (!c) this.crtcs.set(crtcId, (c = { pipeline: make(), users: 0 }));
    c.users++;
    let left = false;
    const entry = c;
    return {
      pipeline: c.pipeline,
      leave: () => {
        if (left) return;
        left = true;
        if (--entry.users) return;
        entry.pipeline.stop();
        this.crtcs.delete(crtcId);
      },
    };
  }
}
