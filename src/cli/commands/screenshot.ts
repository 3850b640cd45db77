import { writeFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { simScreenshotOf } from '../../daemon/client';
import type { CallError } from '../../daemon/client';
import { busAddress } from '../../daemon/names';
import { decodePng, distinctColours } from '../../util/png';
import { daemonOptions } from '../daemon-options';
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
    daemonOptions(y)
      .positional('connector', { type: 'string', demandOption: true, describe: 'Connector name, e.g. Virtual-1 or HDMI-A-1' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'PNG file to write' })
      .example('$0 screenshot Virtual-1 -o monitor.png', 'What the simulated vkms monitor shows')
      .epilogue('Only a daemon started with --host sim:PROFILE has a simulated monitor to show; a daemon on real hardware refuses.\n\nExit status: 0 written, 1 failed.') as Argv<Args>,
  handler: async (args) => {
    let png: Buffer;
    try {
      png = await simScreenshotOf(busAddress(args.bus), args.connector, args['timeout-ms']);
    } catch (e) {
      const err = e as CallError;
      const notSim = err.dbusName?.endsWith('UnknownInterface') || err.dbusName?.endsWith('UnknownMethod');
      throw new CliError(`directflipd: ${err.message}${notSim ? ' (is the daemon running on a sim: host?)' : ''}`, 1, { code: err.dbusName ?? err.code ?? 'EDAEMON' });
    }
    writeFileSync(args.output, png);
    const pic = decodePng(png);
    const colours = distinctColours(pic, 0, 0, pic.width, pic.height);
    if (args.json) return printJson({ ok: true, connector: args.connector, file: args.output, width: pic.width, height: pic.height, colours });
    process.stdout.write(`${args.connector}: ${pic.width}x${pic.height}, ${colours} colours → ${args.output}\n`);
  },
};
