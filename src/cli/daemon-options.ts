import type { Argv } from 'yargs';

/** How a command reaches a running directflipd: which bus, and how long to wait. */
export function daemonOptions<T>(y: Argv<T>) {
  return y
    .option('bus', { type: 'string', describe: 'D-Bus address of the daemon (default: env DIRECTFLIP_BUS_ADDRESS, else the system bus)' })
    .option('timeout-ms', { type: 'number', default: 10_000, describe: 'How long to wait for the daemon' });
}
