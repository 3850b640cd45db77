import type { PeerMessage } from './dbus-peer';

const METHOD_ERROR = 3;

interface Call {
  resolve: (m: PeerMessage) => void;
  reject: (e: Error) => void;
  /** performance.now() past which the call has timed out. */
  deadline: number;
  timeoutMs: number;
  iface: string | undefined;
  member: string | undefined;
}

/**
 * A link's calls waiting for their reply (or error), each with a timeout: nothing here may hang.
 * One timer serves them all, set for the earliest deadline, so a call costs one record and its
 * promise, not a timer and two closures (the harnesses that play QEMU call once per frame).
 */
export class PendingCalls {
  private readonly calls = new Map<number, Call>();
  private timer: NodeJS.Timeout | null = null;
  private armedFor = Infinity;

  /** The reply to call `serial` (of `iface`.`member`, for the timeout's message), within `timeoutMs`. */
  wait(serial: number, iface: string | undefined, member: string | undefined, timeoutMs: number): Promise<PeerMessage> {
    return new Promise((resolve, reject) => {
      const deadline = performance.now() + timeoutMs;
      this.calls.set(serial, { resolve, reject, deadline, timeoutMs, iface, member });
      if (deadline < this.armedFor) this.arm(deadline);
    });
  }

  /** Settles the call `m` answers; false when it answers none of ours. */
  answer(m: PeerMessage): boolean {
    const c = this.calls.get(Number(m.replySerial));
    if (!c) return false;
    this.calls.delete(Number(m.replySerial));
    if (m.type === METHOD_ERROR) c.reject(Object.assign(new Error(`${m.errorName}: ${typeof m.body[0] === 'string' ? m.body[0] : ''}`), { dbusName: m.errorName }));
    else c.resolve(m);
    if (!this.calls.size) this.disarm();
    return true;
  }

  has(serial: number): boolean {
    return this.calls.has(serial);
  }

  /** Fails every call with the error `make` gives (the link closed). */
  failAll(make: () => Error): void {
    const all = [...this.calls.values()];
    this.calls.clear();
    this.disarm();
    for (const c of all) c.reject(make());
  }

  private arm(deadline: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = deadline;
    this.timer = setTimeout(() => this.sweep(), Math.max(0, deadline - performance.now()));
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.armedFor = Infinity;
  }

  private sweep(): void {
    this.timer = null;
    this.armedFor = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const [serial, c] of this.calls) {
      if (c.deadline <= now) {
        this.calls.delete(serial);
        c.reject(Object.assign(new Error(`${c.iface}.${c.member} got no answer within ${c.timeoutMs} ms: the guest's QEMU may be stuck or paused; check it (virsh domstate)`), { code: 'ETIMEDOUT' }));
      } else next = Math.min(next, c.deadline);
    }
    if (next < Infinity) this.arm(next);
  }
}
