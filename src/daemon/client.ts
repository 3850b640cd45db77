import * as dbus from 'dbus-next';
import { connectBus } from './connect';
import { BUS_NAME, MANAGER_IFACE, OBJECT_PATH, SIMULATOR_IFACE } from './names';
import { withTimeout } from '../util/timeout';

export interface CallError extends Error {
  /** The D-Bus error name (`io.github.directflip1.Error.Refused`), or a transport code. */
  dbusName?: string;
  code?: string;
}

/**
 * One call to directflipd, with a timeout on the connection and on the call; the connection is
 * closed afterwards so a hook process exits at once. Small on purpose: the hook loads it.
 */
export function callManager(address: string | undefined, member: string, signature: string, body: unknown[], timeoutMs: number): Promise<unknown[]> {
  return callDaemon(address, MANAGER_IFACE, member, signature, body, timeoutMs);
}

/** What a simulated monitor shows, as a PNG (daemons on sim: hosts only). */
export async function simScreenshotOf(address: string | undefined, connector: string, timeoutMs: number): Promise<Buffer> {
  return (await callDaemon(address, SIMULATOR_IFACE, 'Screenshot', 's', [connector], timeoutMs))[0] as Buffer;
}

async function callDaemon(address: string | undefined, iface: string, member: string, signature: string, body: unknown[], timeoutMs: number): Promise<unknown[]> {
  const bus = await connectBus(address, timeoutMs);
  try {
    const reply = await withTimeout(
      bus.call(new dbus.Message({ destination: BUS_NAME, path: OBJECT_PATH, interface: iface, member, signature, body })),
      timeoutMs,
      `directflipd ${member}`,
    );
    return (reply?.body ?? []) as unknown[];
  } catch (e) {
    const err = e as CallError & { type?: string; text?: string };
    if (err.type) {
      // dbus-next's DBusError: `type` is the error name.
      const out = new Error(err.text ?? err.message) as CallError;
      out.dbusName = err.type;
      out.code = err.type === 'org.freedesktop.DBus.Error.ServiceUnknown' || err.type === 'org.freedesktop.DBus.Error.NameHasNoOwner' ? 'ENOTRUNNING' : 'EDBUS';
      throw out;
    }
    throw e;
  } finally {
    bus.disconnect();
  }
}
