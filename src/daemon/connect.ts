import * as dbus from 'dbus-next';
import { withTimeout } from '../util/timeout';

/** A bus connection that has finished its Hello, or a clear error: dbus-next alone just hangs. */
export async function connectBus(address: string | undefined, timeoutMs: number): Promise<dbus.MessageBus> {
  const bus = address ? dbus.sessionBus({ busAddress: address }) : dbus.systemBus();
  const where = address ?? 'the system bus';
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        const b = bus as unknown as { on(e: string, f: (x?: unknown) => void): void; name?: string | null };
        if (b.name) return resolve();
        b.on('connect', () => resolve());
        b.on('error', (e) => reject(e instanceof Error ? e : new Error(String(e))));
      }),
      timeoutMs,
      `connecting to ${where}`,
    );
  } catch (e) {
    bus.disconnect();
    const err = e as NodeJS.ErrnoException;
    throw Object.assign(new Error(`cannot connect to ${where}: ${err.code ?? ''} ${err.message}; check that a D-Bus daemon listens there (systemctl status dbus) and the address is right`.replace(/\s+/g, ' ')), { code: err.code ?? 'ECONNREFUSED' });
  }
  return bus;
}
