/**
 * What the frame pipeline does on the real kernel, seen from underneath it: every nonblocking
 * commit it issues (accepted or refused, with its user_data) and every event the device's fd
 * delivers, in the order the pipeline saw them, with the time (CLOCK_MONOTONIC, the clock of
 * the kernel's event timestamps) of each.
 */
import type { AtomicProp, DrmEvent, KmsDevice } from '../../src/kernel/types';
import { DRM_MODE_ATOMIC } from '../../src/kernel/constants';

export type Entry =
  | { kind: 'commit'; tag: bigint; at: bigint; ok: boolean; code?: string }
  | { kind: 'event'; tag: bigint; at: bigint; kernelNs: bigint; crtcId: number };

export interface FlipLog {
  entries: Entry[];
}

/** Now on CLOCK_MONOTONIC (libuv's hrtime), in ns. */
export const now = (): bigint => process.hrtime.bigint();

/** The kernel's timestamp of a flip event (tv_sec/tv_usec, CLOCK_MONOTONIC), in ns. */
export const eventNs = (e: DrmEvent): bigint => BigInt(e.tvSec) * 1_000_000_000n + BigInt(e.tvUsec) * 1000n;

/**
 * `dev`, logging its nonblocking commits (the pipeline's; blocking ones, such as a writeback
 * capture, are not logged) and the events its watcher hands on.
 */
export function recording(dev: KmsDevice, log: FlipLog): KmsDevice {
  return new Proxy(dev, {
    get(target, k) {
      if (k === 'atomic') {
        return (props: AtomicProp[], flags: number, userData?: bigint) => {
          if (!(flags & DRM_MODE_ATOMIC.NONBLOCK)) return target.atomic(props, flags, userData);
          const entry: Entry = { kind: 'commit', tag: userData ?? 0n, at: now(), ok: false };
          log.entries.push(entry);
          try {
            target.atomic(props, flags, userData);
            entry.ok = true;
          } catch (e) {
            entry.code = (e as { code?: string }).code;
            throw e;
          }
        };
      }
      if (k === 'watchEvents') {
        return (cb: (ev: DrmEvent[]) => void) =>
          target.watchEvents((ev) => {
            const at = now();
            for (const e of ev) log.entries.push({ kind: 'event', tag: e.userData, at, kernelNs: eventNs(e), crtcId: e.crtcId });
            cb(ev);
          });
      }
      const v = Reflect.get(target, k) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

export interface FlipSummary {
  attempts: number;
  accepted: number;
  ebusy: number;
  /** Accepted commits whose flip event arrived. */
  completed: number;
  /** Commits issued while an accepted one of ours still waited for its event. */
  overlapping: number;
}

/** Walks the log in the order things happened. */
export function summarize(log: FlipLog): FlipSummary {
  const waiting = new Set<bigint>();
  const s: FlipSummary = { attempts: 0, accepted: 0, ebusy: 0, completed: 0, overlapping: 0 };
  for (const e of log.entries) {
    if (e.kind === 'event') {
      if (waiting.delete(e.tag)) s.completed++;
      continue;
    }
    s.attempts++;
    if (waiting.size) s.overlapping++;
    if (e.ok) {
      s.accepted++;
      waiting.add(e.tag);
    } else if (e.code === 'EBUSY') s.ebusy++;
  }
  return s;
}

/** The value at quantile `q` (0..1) of `xs`, nearest rank. */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
