import * as dbus from 'dbus-next';
import { connectBus } from '../daemon/connect';
import { BUS_NAME, OBJECT_PATH, SIMULATOR_IFACE } from '../daemon/names';
import { openHost } from '../kernel/host';
import { readTopology } from '../kernel/topology';
import { withTimeout } from '../util/timeout';
import type { CardPlane } from './from-status';
import { cardPlanesFromDump } from './from-status';

/**
 * The card's planes as the daemon's host has them, for the host planes `status --svg` draws: a
 * simulated daemon's kernel lives in the daemon, so it is asked (Simulator.DumpProperties); a
 * real card is read here (no DRM master needed to read). Never throws: the picture says why not.
 */
export async function cardPlanesOf(address: string | undefined, timeoutMs: number): Promise<{ card: CardPlane[] | null; why: string }> {
  let simWhy = '';
  try {
    return { card: cardPlanesFromDump(await simDump(address, timeoutMs)), why: '' };
  } catch (e) {
    simWhy = (e as Error).message;
  }
  try {
    const host = openHost('native');
    try {
      const dev = host.backend.openKms(host.cards()[0]);
      try {
        return { card: readTopology(dev).planes.map((p) => ({ planeId: p.id, planeType: p.type, crtcId: p.crtcId, fbId: p.fbId, dst: p.dst, zpos: p.stack })), why: '' };
      } finally {
        dev.close();
      }
    } finally {
      host.close();
    }
  } catch (e) {
    return { card: null, why: `the card cannot be read here (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}) and the daemon is not simulated (${simWhy})` };
  }
}

async function simDump(address: string | undefined, timeoutMs: number): Promise<Record<string, Record<string, string>>> {
  const bus = await connectBus(address, timeoutMs);
  try {
    const reply = await withTimeout(bus.call(new dbus.Message({ destination: BUS_NAME, path: OBJECT_PATH, interface: SIMULATOR_IFACE, member: 'DumpProperties', signature: '', body: [] })), timeoutMs, 'directflipd DumpProperties');
    return JSON.parse(String(reply?.body?.[0])) as Record<string, Record<string, string>>;
  } finally {
    bus.disconnect();
  }
}
