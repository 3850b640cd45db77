import type { PeerLink, PeerMessage } from './dbus-peer';
import { NO_REPLY_EXPECTED } from './dbus-peer';

interface Held {
  m: PeerMessage;
  deadline: number;
  answered: boolean;
}

/**
 * Replies held until the flip that shows their frame has completed, each within a bound (a lost
 * flip event never stalls the guest). The pipeline calls its waiters in the order they were
 * added, so one callback serves every reply (the oldest held is the one its flip answers), and
 * one timer serves every bound: a frame costs one record, not two closures and a timer (design
 * §5, no GC stalls on the frame path).
 */
export class HeldReplies {
  private readonly queue: Held[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Replies the bound sent before their flip completed. */
  timeouts = 0;

  /** `afterFlip(cb)`: the pipeline's, for the listener's plane. */
  constructor(
    private readonly link: PeerLink,
    private readonly afterFlip: (cb: () => void) => void,
    private readonly withinMs: number,
  ) {}

  private readonly flipped = (): void => {
    const h = this.queue.shift();
    if (h && !h.answered) {
      h.answered = true;
      this.link.reply(h.m);
    }
  };

  hold(m: PeerMessage): void {
    if (m.flags & NO_REPLY_EXPECTED) return;
    this.queue.push({ m, deadline: performance.now() + this.withinMs, answered: false });
    if (!this.timer) this.arm(this.withinMs);
    this.afterFlip(this.flipped);
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.expire(), ms);
  }

  private expire(): void {
    this.timer = null;
    const now = performance.now();
    let next = Infinity;
    for (const h of this.queue) {
      if (h.answered) continue;
      if (h.deadline > now) {
        next = h.deadline;
        break; // held in order: the later ones' bounds are later still
      }
      h.answered = true;
      this.timeouts++;
      this.link.reply(h.m);
    }
    if (next < Infinity) this.arm(Math.max(1, next - now));
  }

  /** The link goes: nothing more is answered. */
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
  }
}
