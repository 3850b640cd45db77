import type { Logger } from './log';

export interface Refusal {
  uid: number | null;
  pid: number | null;
  sender: string;
  call: string;
  error: string;
  message: string;
}

interface Window {
  opened: number;
  suppressed: number;
  timer: NodeJS.Timeout | null;
}

/**
 * Every refusal (AccessDenied, InvalidArgs) is logged with who asked, but at most one line per
 * caller uid per window: a hostile local user making a million calls must not flood the journal.
 * A uid, not a bus name, is the caller, because a new connection is a new name for free.
 * What was suppressed is counted in one line when the window closes.
 */
export class RefusalLog {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly log: Logger,
    private readonly windowMs = 10_000,
    private readonly now: () => number = Date.now,
    private readonly schedule: (f: () => void, ms: number) => NodeJS.Timeout | null = (f, ms) => setTimeout(f, ms).unref(),
  ) {}

  note(r: Refusal): void {
    const key = r.uid === null ? `sender ${r.sender}` : `uid ${r.uid}`;
    const w = this.windows.get(key);
    if (w && this.now() - w.opened < this.windowMs) {
      w.suppressed++;
      if (!w.timer) w.timer = this.schedule(() => this.close(key), this.windowMs - (this.now() - w.opened));
      return;
    }
    if (w) this.close(key);
    this.windows.set(key, { opened: this.now(), suppressed: 0, timer: null });
    this.log('warning', null, `refused ${r.call}: ${r.error}: ${r.message}`, { uid: r.uid ?? 'unknown', pid: r.pid ?? 'unknown', sender: r.sender });
  }

  /** Ends a caller's window, saying how many refusals it did not log. */
  private close(key: string): void {
    const w = this.windows.get(key);
    if (!w) return;
    if (w.timer) clearTimeout(w.timer);
    this.windows.delete(key);
    if (w.suppressed > 0) this.log('warning', null, `${w.suppressed} more refusal${w.suppressed === 1 ? '' : 's'} of ${key} in ${this.windowMs / 1000} s not logged one by one`);
  }

  /** On shutdown: the counts still open are said, not lost. */
  flush(): void {
    for (const key of [...this.windows.keys()]) this.close(key);
  }
}
