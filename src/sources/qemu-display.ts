import { closeSync } from 'node:fs';
import { connectUnix, socketPair } from '../kernel/native-socket';
import { PeerLink } from './dbus-peer';

/**
 * Attaches a listener to one console of QEMU's D-Bus display: connect to the VM's bus, say
 * Hello, hand QEMU one end of a socketpair with Console.RegisterListener(h), and authenticate
 * on the other end while QEMU does (it is the server there, and waits for us). RegisterListener
 * succeeds even when that link fails, so the link is only trusted once it is open.
 */
export async function attachConsole(busAddress: string, console: number, timeoutMs = 10_000): Promise<{ bus: PeerLink; link: PeerLink }> {
  const m = /^unix:path=([^,]+)/.exec(busAddress);
  if (!m) throw new Error(`unsupported D-Bus address ${busAddress}: only unix:path=… is`);
  const bus = new PeerLink(connectUnix(m[1]), 'client');
  try {
    await withTimeout(bus.open(), timeoutMs, 'bus authentication');
    await bus.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'Hello' }, timeoutMs);
    const [mine, theirs] = socketPair();
    const link = new PeerLink(mine, 'client');
    try {
      const opened = link.open();
      const registered = bus.call(
        { destination: 'org.qemu', path: `/org/qemu/Display1/Console_${console}`, interface: 'org.qemu.Display1.Console', member: 'RegisterListener', signature: 'h', body: [theirs] },
        timeoutMs,
      );
      await Promise.all([withTimeout(opened, timeoutMs, 'listener link authentication'), registered]);
      return { bus, link };
    } catch (e) {
      link.close();
      throw e;
    } finally {
      closeSync(theirs); // QEMU holds its own copy now
    }
  } catch (e) {
    bus.close();
    throw e;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error(`${what} timed out after ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}
