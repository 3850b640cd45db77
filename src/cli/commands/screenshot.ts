import { writeFileSync } from 'node:fs';
import dbus from 'dbus-next';
import type { Argv, CommandModule } from 'yargs';
import { busAddress, BUS_NAME, OBJECT_PATH } from '../../daemon/names';
import { SIMULATOR_IFACE } from '../../daemon/service';
import { withTimeout } from '../../daemon/timeout';
import { decodePng, distinctColours } from '../../util/png';
import { CliError, printJson } from '../output';

interface Args {
  connector: string;
  output: string;
  bus?: string;
  json: boolean;
  'timeout-ms': number;
}

export const screenshotCommand: CommandModule<object, Args> = {
  command: 'screenshot <connector>',
  describe: 'Save what the simulated monitor on a connector shows, as a PNG (daemons on sim: hosts)',
  builder: (y: Argv) =>
    y
      .positional('connector', { type: 'string', demandOption: true, describe: 'Connector name, e.g. Virtual-1 or HDMI-A-1' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'PNG file to write' })
      .option('bus', { type: 'string', describe: 'D-Bus address of the daemon (default: env DIRECTFLIP_BUS_ADDRESS, else the system bus)' })
      .option('timeout-ms', { type: 'number', default: 10_000, describe: 'How long to wait for the daemon' })
      .example('$0 screenshot Virtual-1 -o monitor.png', 'What the simulated vkms monitor shows')
      .epilogue('Only a daemon started with --host sim:PROFILE has a simulated monitor to show; a daemon on real hardware refuses.\n\nExit status: 0 written, 1 failed.') as Argv<Args>,
  handler: async (args) => {
    const address = busAddress(args.bus);
    const bus = address ? dbus.sessionBus({ busAddress: address }) : dbus.systemBus();
    let png: Buffer;
    try {
      const reply = await withTimeout(
        bus.call(new dbus.Message({ destination: BUS_NAME, path: OBJECT_PATH, interface: SIMULATOR_IFACE, member: 'Screenshot', signature: 's', body: [args.connector] })),
        args['timeout-ms'],
        'Screenshot',
      );
      png = reply!.body[0] as Buffer;
    } catch (e) {
      const err = e as Error & { type?: string };
      throw new CliError(`directflipd: ${err.message}${err.type?.endsWith('UnknownInterface') || err.type?.endsWith('UnknownMethod') ? ' (is the daemon running on a sim: host?)' : ''}`, 1, { code: err.type ?? 'EDAEMON' });
    } finally {
      bus.disconnect();
    }
    writeFileSync(args.output, png);
    const pic = decodePng(png);
    const colours = distinctColours(pic, 0, 0, pic.width, pic.height);
    if (args.json) return printJson({ ok: true, connector: args.connector, file: args.output, width: pic.width, height: pic.height, colours });
    process.stdout.write(`${args.connector}: ${pic.width}x${pic.height}, ${colours} colours → ${args.output}\n`);
  },
};
