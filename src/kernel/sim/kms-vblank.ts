import { DRM_EVENT } from '../constants';
import type { DrmEvent } from '../types';
import type { SimKmsFile } from './kms-file';

export interface PendingFlip {
  file: SimKmsFile;
  crtcId: number;
  userData: bigint;
  event: boolean;
}

/**
 * The card's vblank: nonblocking commits wait for it, and each completes with a flip event for
 * the file that asked (drm_crtc_send_vblank_event). Driven by hand in tests, or a 60 Hz timer.
 */
export class VblankClock {
  count = 0;
  private pending: PendingFlip[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(mode: 'manual' | 'timer') {
    if (mode === 'timer') {
      this.timer = setInterval(() => this.advance(), 1000 / 60);
      this.timer.unref();
    }
  }

  hasPending(crtcId: number): boolean {
    return this.pending.some((p) => p.crtcId === crtcId);
  }

  add(p: PendingFlip): void {
    this.pending.push(p);
  }

  /** One vblank on every CRTC: completes what is pending and queues its events. */
  advance(n = 1): void {
    for (let i = 0; i < n; i++) {
      this.count++;
      const done = this.pending;
      this.pending = [];
      for (const p of done) if (p.event) p.file.queueEvent(this.event(p.crtcId, p.userData));
    }
  }

  /** A blocking commit waits for the CRTCs' pending flips (drm_atomic_helper_wait_for_dependencies). */
  complete(crtcIds: Set<number>): void {
    const done = this.pending.filter((p) => crtcIds.has(p.crtcId));
    this.pending = this.pending.filter((p) => !crtcIds.has(p.crtcId));
    if (done.length) this.count++;
    for (const p of done) if (p.event) p.file.queueEvent(this.event(p.crtcId, p.userData));
  }

  /** A closed file's flips complete without it. */
  forget(file: SimKmsFile): void {
    this.pending = this.pending.filter((p) => p.file !== file);
  }

  event(crtcId: number, userData: bigint): DrmEvent {
    const t = process.hrtime();
    return { type: DRM_EVENT.FLIP_COMPLETE, userData, tvSec: t[0], tvUsec: Math.floor(t[1] / 1000), sequence: this.count, crtcId };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
