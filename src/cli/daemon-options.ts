import type { Argv } from 'yargs';
import { busAddressValue, positiveInteger } from './options';

/** `--bus`, checked as a D-Bus address before anything runs (any command that takes one). */
export const BUS_OPTION = {
  type: 'string',
  coerce: busAddressValue,
  describe: 'D-Bus address of the daemon, e.g. unix:path=/run/dbus/system_bus_socket (default: env DIRECTFLIP_BUS_ADDRESS, else the system bus)',
} as const;

/** How a command reaches a running directflipd: which bus, and how long to wait. */
export function daemonOptions<T>(y: Argv<T>) {
  return y
    .option('bus', BUS_OPTION)
    .option('timeout-ms', { type: 'string', default: '10000', coerce: positiveInteger('timeout-ms', 'milliseconds'), describe: 'How long to wait for the daemon, in milliseconds' });
}
