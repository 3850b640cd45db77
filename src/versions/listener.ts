import type { Host } from '../kernel/host';
import { EXTRA_INTERFACES } from '../sources/listener-calls';
import { listenerInterfaceFor } from './allow';
import { readHostVersions } from './read';

export interface PlannedListener {
  /** The interfaces QEMU will call: the base listener, then the extras this QEMU and our listener share. */
  interfaces: string[];
  why: string;
}

/** For `plan`: which listener interfaces a guest's qemu-dbus planes will be served through on this host; null without qemu-dbus. */
export function planListener(host: Host, sources: Record<string, { source: string }>): PlannedListener | null {
  if (!Object.values(sources).some((s) => s.source === 'qemu-dbus')) return null;
  return listenerInterfaceFor(readHostVersions(host.sys), EXTRA_INTERFACES);
}

export function listenerLine(l: PlannedListener): string {
  return `qemu-dbus listener: ${l.interfaces.map((i) => i.replace(/^org\.qemu\.Display1\.Listener\./, '')).join(' + ')} (${l.why})\n`;
}
