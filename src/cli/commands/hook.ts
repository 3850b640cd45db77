import type { Argv, CommandModule } from 'yargs';
import { runHook } from '../../hook/hook';
import { BUS_OPTION } from '../daemon-options';
import { positiveInteger } from '../options';
import { readInput, STDIN } from '../read-input';

interface Args {
  domain: string;
  op: string;
  subop: string;
  extra: string;
  bus?: string;
  'timeout-ms': number;
  json: boolean;
}

export const hookCommand: CommandModule<object, Args> = {
  command: 'hook <domain> <op> [subop] [extra]',
  describe: "Run libvirt's qemu hook by hand: the domain XML on stdin",
  builder: (y: Argv) =>
    y
      .positional('domain', { type: 'string', demandOption: true, describe: 'The domain name (libvirt passes it first)' })
      .positional('op', { type: 'string', demandOption: true, describe: 'prepare, start, started, stopped, release, reconnect, migrate, restore …' })
      .positional('subop', { type: 'string', default: '-', describe: 'begin, end, … (libvirt passes "begin" or "end")' })
      .positional('extra', { type: 'string', default: '-', describe: 'libvirt ≥ 10.5 passes the shutoff reason for release' })
      .option('bus', BUS_OPTION)
      .option('timeout-ms', { type: 'string', default: '10000', coerce: positiveInteger('timeout-ms', 'milliseconds'), describe: 'Timeout of each D-Bus call, in milliseconds' })
      .example('virsh dumpxml kiosk | $0 hook kiosk prepare begin -', 'What libvirt does before starting the VM')
      .example('virsh dumpxml kiosk | $0 hook kiosk release end -', 'Give the host display back (never fails)')
      .epilogue(
        'libvirt itself runs /etc/libvirt/hooks/qemu.d/50-directflip, which starts node only for domains with directflip ' +
          'metadata or daemon state. prepare/started fail only for an invalid configuration, or when on-error="abort"; ' +
          'stopped, release and reconnect never fail. Nothing is written to stdout.\n\nExit status: 0 or 1, as libvirt reads it.',
      ) as Argv<Args>,
  handler: async (args) => {
    const xml = readInput(STDIN);
    process.exitCode = await runHook([args.domain, args.op, args.subop, args.extra], xml, {
      busAddress: args.bus || process.env.DIRECTFLIP_BUS_ADDRESS || undefined,
      timeoutMs: args['timeout-ms'],
      say: (line) => process.stderr.write(`${line}\n`),
    });
  },
};
