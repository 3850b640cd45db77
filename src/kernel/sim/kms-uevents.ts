import type { Uevent } from '../types';

/**
 * The card's kobject uevents as a netlink socket delivers them: KOBJ_CHANGE with HOTPLUG=1 and
 * whatever the driver adds (CONNECTOR, PROPERTY), numbered by SEQNUM, always after the caller's
 * stack has unwound.
 */
export class UeventSource {
  private readonly listeners = new Set<(ev: Uevent) => void>();
  private seqnum = 0;

  constructor(
    private readonly devPath: string,
    private readonly pciAddress: string,
  ) {}

  emit(extra: Record<string, string>): void {
    const minor = /(\d+)$/.exec(this.devPath)?.[1] ?? '0';
    const devpath = `/devices/pci0000:00/${this.pciAddress}/drm/${this.devPath.split('/').pop()}`;
    const env = { ACTION: 'change', DEVPATH: devpath, SUBSYSTEM: 'drm', HOTPLUG: '1', DEVNAME: this.devPath.slice('/dev/'.length), MAJOR: '226', MINOR: minor, SEQNUM: String(++this.seqnum), ...extra };
    const ev: Uevent = { action: 'change', devpath, subsystem: 'drm', env };
    for (const l of this.listeners) setImmediate(() => l(ev));
  }

  /** A listener's failure is its own (to `onError`): the other listeners still hear the event. */
  watch(cb: (ev: Uevent) => void, onError?: (e: Error) => void): () => void {
    const l = (ev: Uevent) => {
      try {
        cb(ev);
      } catch (e) {
        try {
          onError?.(e instanceof Error ? e : new Error(String(e)));
        } catch {
          // nothing may leave a uevent delivery
        }
      }
    };
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
