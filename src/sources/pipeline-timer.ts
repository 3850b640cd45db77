/**
 * One timeout, made once and re-armed with refresh(): a setTimeout per commit would be a new
 * Timeout object per frame (design §5: no GC stalls on the frame path). Disarmed, it is unref'd
 * and its firing ignored, so like a cleared one it neither holds the process open nor runs.
 */
export class ReusedTimer {
  private t: NodeJS.Timeout | null = null;
  private on = false;

  constructor(
    private readonly ms: number,
    private readonly fn: () => void,
  ) {}

  private readonly fire = (): void => {
    if (!this.on) return;
    this.on = false;
    this.t?.unref();
    this.fn();
  };

  get armed(): boolean {
    return this.on;
  }

  /** Runs `fn` in `ms` from now (a later arm moves it; one run at most). */
  arm(): void {
    this.on = true;
    if (this.t) this.t.ref().refresh();
    else this.t = setTimeout(this.fire, this.ms);
  }

  disarm(): void {
    if (!this.on) return;
    this.on = false;
    this.t?.unref();
  }

  /** For good: the Timeout goes. */
  close(): void {
    this.on = false;
    if (this.t) clearTimeout(this.t);
    this.t = null;
  }
}
