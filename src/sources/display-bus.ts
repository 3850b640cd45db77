import { connectUnix } from '../kernel/native-socket';
import { withTimeout } from '../util/timeout';
import { PeerLink } from './dbus-peer';

/** One graphic console of QEMU's D-Bus display, as its object reports it. */
export interface ConsoleInfo {
  index: number;
  label: string;
  head: number;
  type: string;
  /** QEMU's device path of the display device, e.g. `0000:00:02.0` for PCI. */
  deviceAddress: string;
  width: number;
  height: number;
}

/** How a plane names its console: `@console`, else the mdev hostdev's guest PCI address. */
export interface ConsoleWanted {
  console: number | null;
  pci: string | null;
}

export function unixPath(address: string): string {
  const m = /^unix:path=([^,]+)/.exec(address);
  if (!m) throw new Error(`unsupported D-Bus address ${address}: only unix:path=… is`);
  return m[1];
}

/** Connects to the VM's bus and says Hello (a bus drops clients that do not). */
export async function connectBus(address: string, timeoutMs: number): Promise<PeerLink> {
  const bus = new PeerLink(connectUnix(unixPath(address)), 'client');
  try {
    await withTimeout(bus.open(), timeoutMs, 'bus authentication');
    await bus.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'Hello' }, timeoutMs);
    return bus;
  } catch (e) {
    bus.close();
    throw e;
  }
}

/** QEMU exports its consoles through an ObjectManager at /org/qemu/Display1. */
export async function listConsoles(bus: PeerLink, timeoutMs: number): Promise<ConsoleInfo[]> {
  const r = await bus.call({ destination: 'org.qemu', path: '/org/qemu/Display1', interface: 'org.freedesktop.DBus.ObjectManager', member: 'GetManagedObjects' }, timeoutMs);
  const objects = r.body[0] as Record<string, Record<string, Record<string, { value: unknown }>>>;
  const out: ConsoleInfo[] = [];
  for (const [path, ifaces] of Object.entries(objects)) {
    const m = /\/Console_(\d+)$/.exec(path);
    const c = ifaces['org.qemu.Display1.Console'];
    if (!m || !c) continue;
    // QEMU's properties, taken only when of the type QEMU gives them (a bus carries anything).
    const str = (k: string) => (typeof c[k]?.value === 'string' ? (c[k].value) : '');
    const num = (k: string) => (typeof c[k]?.value === 'number' ? (c[k].value) : 0);
    out.push({ index: Number(m[1]), label: str('Label'), head: num('Head'), type: str('Type'), deviceAddress: str('DeviceAddress'), width: num('Width'), height: num('Height') });
  }
  return out.sort((a, b) => a.index - b.index);
}

/**
 * QEMU 7.2 names a console's PCI device `pci/0000/02.0` (domain, then slot.function per bridge
 * level, no bus numbers); libvirt gives `0000:00:02.0`. They match on domain, slot and function;
 * a root-bus device must also be on bus 0. Behind bridges the bus number cannot be checked, so
 * the match must then be unique.
 */
function sameDevice(qemuPath: string, libvirt: string): boolean {
  const q = /^pci\/([0-9a-f]{4})((?:\/[0-9a-f]{2}\.[0-7])+)$/i.exec(qemuPath);
  const l = /^([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/i.exec(libvirt);
  if (!q || !l) return false;
  const levels = q[2].slice(1).split('/');
  const last = levels[levels.length - 1];
  if (parseInt(q[1], 16) !== parseInt(l[1], 16) || last.toLowerCase() !== `${l[3]}.${l[4]}`.toLowerCase()) return false;
  return levels.length > 1 || parseInt(l[2], 16) === 0;
}

/** The console a plane reads, and why that one. */
export function pickConsole(consoles: ConsoleInfo[], want: ConsoleWanted): { console: ConsoleInfo; why: string } {
  const known = consoles.map((c) => `${c.index} (${c.label || c.type}${c.deviceAddress ? ` at ${c.deviceAddress}` : ''})`).join(', ') || 'none';
  if (want.console !== null) {
    const c = consoles.find((x) => x.index === want.console);
    if (!c) throw new Error(`the display has no console ${want.console}; it has ${known}`);
    return { console: c, why: `console ${c.index} as configured` };
  }
  if (want.pci) {
    const matches = consoles.filter((x) => sameDevice(x.deviceAddress, want.pci!));
    if (matches.length > 1) throw new Error(`several consoles may belong to the mdev at guest PCI address ${want.pci}: ${known}. Name one with console="N"`);
    const c = matches[0];
    if (!c) throw new Error(`no console belongs to the mdev at guest PCI address ${want.pci}; consoles: ${known}. Name one with console="N"`);
    return { console: c, why: `console ${c.index}, the mdev's display at ${c.deviceAddress}` };
  }
  const c = consoles.find((x) => x.type.toLowerCase() === 'graphic') ?? consoles[0];
  if (!c) throw new Error('the display has no console');
  return { console: c, why: `console ${c.index}, the first graphic console` };
}
