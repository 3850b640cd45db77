/**
 * Operations strictly one after another, in arrival order, so no plane is ever given twice. On
 * close, everything still waiting is answered with the closing error at once (its caller gets a
 * reply, not a hang or a call on a closed card) and the last operation runs after the current one.
 */
export class OpQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly waiting = new Set<(e: Error) => void>();
  private closing: (() => Error) | null = null;

  get closed(): boolean {
    return this.closing !== null;
  }

  run<T>(fn: () => T | Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(this.closing());
    return new Promise<T>((resolve, reject) => {
      let cancelled = false;
      const cancel = (e: Error) => {
        cancelled = true;
        reject(e);
      };
      this.waiting.add(cancel);
      const go = async () => {
        // A turn of the event loop between operations: a burst of calls must not starve the
        // frames of the guests already shown, nor a SIGTERM.
        await new Promise((r) => setImmediate(r));
        if (cancelled) return;
        this.waiting.delete(cancel);
        try {
          resolve(await fn());
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      };
      this.tail = this.tail.then(go, go);
    });
  }

  /** Refuses what waits and what comes; `last` runs once the running operation is done. */
  close<T>(error: () => Error, last: () => T | Promise<T>): Promise<T> {
    this.closing = error;
    for (const cancel of this.waiting) cancel(error());
    this.waiting.clear();
    const done = this.tail.then(last, last);
    this.tail = done.catch(() => undefined);
    return done;
  }
}
