import type { SimHost } from '../kernel/sim/host';
import type { MethodSpec } from './bus-methods';
import { DaemonError } from './errors';
import { SIMULATOR_IFACE } from './names';
import { SIM_INSPECT_SPECS, simInspectHandlers } from './sim-inspect';

/**
 * io.github.directflip1.Simulator's fault controls (documented in
 * io.github.directflip1.Simulator.xml, which a test holds to these specs): faults of the hardware
 * injected into the simulated kernel of a daemon on a simulated host. The daemon learns of them
 * only as it would on a real host. Screenshot is the service's own.
 */

interface Control {
  inNames: string[];
  run(sim: SimHost, a: Record<string, unknown>): void;
}

function linkStatus(s: unknown): boolean {
  if (s !== 'good' && s !== 'bad') throw new DaemonError('InvalidArgs', `link status ${JSON.stringify(s)} is neither "good" nor "bad": give one of those`);
  return s === 'good';
}

const CONTROLS: Record<string, Control> = {
  Unplug: { inNames: ['connector'], run: (sim, a) => sim.card.hotplug(a.connector as string, false) },
  Replug: { inNames: ['connector'], run: (sim, a) => sim.card.hotplug(a.connector as string, true) },
  SetLinkStatus: { inNames: ['connector', 'status'], run: (sim, a) => sim.card.setLinkStatus(a.connector as string, linkStatus(a.status)) },
  TakeMaster: { inNames: [], run: (sim) => sim.card.takeMaster() },
  ReturnMaster: { inNames: [], run: (sim) => sim.card.returnMaster() },
};

/** The controls' signatures, for the service's method table (every argument of the fault controls is a string), then the inspection controls'. */
export const SIM_CONTROL_SPECS: MethodSpec[] = [...Object.entries(CONTROLS).map(([member, c]) => ({
  iface: SIMULATOR_IFACE, member, in: 's'.repeat(c.inNames.length), inNames: c.inNames, out: '',
})), ...SIM_INSPECT_SPECS];

/**
 * The handlers, by `interface.member`, over this daemon's simulated host. The card names an
 * unknown connector ENOENT and misuse of master EBUSY/EINVAL; callers get the D-Bus names.
 */
export function simControlHandlers(sim: SimHost): Record<string, (a: Record<string, unknown>) => unknown[]> {
  return { ...simInspectHandlers(sim), ...Object.fromEntries(Object.entries(CONTROLS).map(([member, c]) => [`${SIMULATOR_IFACE}.${member}`, (a: Record<string, unknown>) => {
    try {
      c.run(sim, a);
    } catch (e) {
      if (e instanceof DaemonError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      const message = (e as Error).message.replace(/^sim: /, '');
      if (code === 'ENOENT') throw new DaemonError('InvalidArgs', message);
      if (code === 'EBUSY' || code === 'EINVAL') throw new DaemonError('Refused', message);
      throw e;
    }
    return [];
  }])) };
}
