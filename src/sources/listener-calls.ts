import type { PeerMessage } from './dbus-peer';
import { quoted } from './dbus-wire';

/* eslint-disable-next-line @typescript-eslint/no-require-imports */
const { Variant } = require('dbus-next/lib/variant') as { Variant: new (signature: string, value: unknown) => unknown };

export const LISTENER = 'org.qemu.Display1.Listener';
/** QEMU >= 9.2: the console's pixels in a memfd shared once, then only the damage named. */
export const MAP = 'org.qemu.Display1.Listener.Unix.Map';
/** QEMU >= 10.1: multi-plane dma-bufs with per-plane offsets and strides, modifier and backing size. */
export const DMABUF2 = 'org.qemu.Display1.Listener.Unix.ScanoutDMABUF2';
const PROPERTIES = 'org.freedesktop.DBus.Properties';

/**
 * The extra interfaces this listener implements, as its `Interfaces` property says. QEMU reads the
 * property once, from the GetAll its GDBusProxy makes when the link comes up
 * (dbus_display_listener_implements in ui/dbus-listener.c), and uses Map and ScanoutDMABUF2 only
 * when they are listed: both are served in full (Map with a copying fallback where udmabuf
 * cannot take the memfd).
 */
export const EXTRA_INTERFACES = [MAP, DMABUF2];

interface Method {
  iface: string;
  signature: string;
  /** File descriptors the call carries; null: as many as its `ah` names (checked with the body). */
  fds: number | null;
}

/** Every call QEMU makes on /org/qemu/Display1/Listener (ui/dbus-display1.xml, QEMU 7.2 to 10.1). */
const METHODS: Record<string, Method> = {
  Scanout: { iface: LISTENER, signature: 'uuuuay', fds: 0 },
  Update: { iface: LISTENER, signature: 'iiiiuuay', fds: 0 },
  ScanoutDMABUF: { iface: LISTENER, signature: 'huuuutb', fds: 1 },
  UpdateDMABUF: { iface: LISTENER, signature: 'iiii', fds: 0 },
  Disable: { iface: LISTENER, signature: '', fds: 0 },
  CursorDefine: { iface: LISTENER, signature: 'iiiiay', fds: 0 },
  MouseSet: { iface: LISTENER, signature: 'iii', fds: 0 },
  ScanoutMap: { iface: MAP, signature: 'huuuuu', fds: 1 },
  UpdateMap: { iface: MAP, signature: 'iiii', fds: 0 },
  ScanoutDMABUF2: { iface: DMABUF2, signature: 'ahuuuuauauuuuutb', fds: null },
};

/** The listener interface a call belongs to, or null for one this listener does not serve. */
export function methodOf(m: PeerMessage): string | null {
  const method = METHODS[m.member ?? ''];
  if (!method) return null;
  return m.interface === undefined || m.interface === method.iface ? method.iface : null;
}

/**
 * A Listener call of the wrong shape is not a bad frame but a broken or hostile peer: the reason,
 * or null for a call of the right shape (or one that is not a Listener call at all).
 */
export function malformed(m: PeerMessage): string | null {
  if (!methodOf(m)) return null;
  const want = METHODS[m.member!];
  if (want.fds !== null && m.fds.length !== want.fds) return `${m.member} came with ${m.fds.length} file descriptors, not ${want.fds}`;
  if ((m.signature ?? '') !== want.signature) return `${m.member} came with the signature ${quoted(m.signature ?? '')}, not "${want.signature}"`;
  if (want.fds === null && m.fds.length > 4) return `${m.member} came with ${m.fds.length} file descriptors; a buffer has at most 4 planes`;
  return null;
}

/**
 * The reply to a Properties call, or null when it is not one. Only Listener has a property
 * (`Interfaces`, `as`); the extra interfaces have none.
 */
export function propertiesReply(m: PeerMessage): { signature: string; body: unknown[] } | { error: string } | null {
  if (m.interface !== PROPERTIES) return null;
  const [iface, name] = m.body;
  const props: Record<string, unknown> = iface === LISTENER ? { Interfaces: new Variant('as', EXTRA_INTERFACES) } : {};
  if (m.member === 'GetAll' && m.signature === 's') return { signature: 'a{sv}', body: [props] };
  if (m.member === 'Get' && m.signature === 'ss') {
    if (typeof name === 'string' && name in props) return { signature: 'v', body: [props[name]] };
    return { error: `${quoted(`${String(iface)}.${String(name)}`)} is no property of this listener` };
  }
  return { error: `${quoted(`${PROPERTIES}.${m.member ?? ''}`)} with the signature ${quoted(m.signature ?? '')} is not served here` };
}
