import type { DrmEvent } from '../types';

type Fail = (code: string, ioctl: string, detail: string) => never;

/** drm_open_helper(): event_space = 4096. Each flip event is a struct drm_event_vblank. */
const EVENT_SPACE = 4096;
const EVENT_VBLANK_SIZE = 32;

/**
 * One file's event queue (drm_file.c): events wait until read, poll wakes the watchers, and
 * event_space bounds what a file may have reserved and not yet read.
 */
export class EventQueue {
  private events: DrmEvent[] = [];
  /** file_priv->event_space: bytes of events reserved and not yet read. */
  private space = EVENT_SPACE;
  private readonly watchers = new Set<(ev: DrmEvent[]) => void>();
  private closed = false;

  constructor(private readonly fail: Fail) {}

  queue(e: DrmEvent): void {
    this.events.push(e);
    if (this.watchers.size) setImmediate(() => this.deliver());
  }

  /** Every pending event; their space is free again (drm_read). */
  read(): DrmEvent[] {
    const e = this.events;
    this.events = [];
    this.release(e.length);
    return e;
  }

  watch(cb: (events: DrmEvent[]) => void): () => void {
    this.watchers.add(cb);
    if (this.events.length) setImmediate(() => this.deliver());
    return () => this.watchers.delete(cb);
  }

  /** drm_event_reserve_init_locked(): ENOMEM when the unread events would pass 4 KiB. */
  reserve(n: number): void {
    if (this.space < n * EVENT_VBLANK_SIZE) this.fail('ENOMEM', 'DRM_IOCTL_MODE_ATOMIC', `event queue full: ${(EVENT_SPACE - this.space) / EVENT_VBLANK_SIZE} events unread`);
    this.space -= n * EVENT_VBLANK_SIZE;
  }

  release(n: number): void {
    this.space += n * EVENT_VBLANK_SIZE;
  }

  close(): void {
    this.closed = true;
    this.watchers.clear();
  }

  private deliver(): void {
    if (!this.events.length || this.closed) return;
    const ev = this.read();
    for (const w of this.watchers) {
      try {
        w(ev);
      } catch {
        // As the native poller: a watcher's exception is its own, never the process's end.
      }
    }
  }
}
