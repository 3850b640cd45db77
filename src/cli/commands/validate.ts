import type { Argv, CommandModule } from 'yargs';
import { ConfigError } from '../../config';
import { configFor, misnamedHostConfigs, misnamedNote } from '../../config/host-config';
import { originLine, ROOT_HELP, ROOT_OPTION } from '../config-origin';
import { describeConfig } from '../describe-config';
import { CliError, printJson } from '../output';
import { readInput, STDIN } from '../read-input';

interface Args {
  file: string;
  json: boolean;
  root: string;
}

export const validateCommand: CommandModule<object, Args> = {
  command: 'validate <file>',
  describe: "Check a libvirt domain XML's directflip metadata; print what it configures",
  builder: (y: Argv) =>
    y
      .positional('file', {
        type: 'string',
        demandOption: true,
        describe: 'A domain XML as `virsh dumpxml` prints it, or - to read standard input',
      })
      .option('root', ROOT_OPTION)
      .example('$0 validate examples/gvt-kiosk-hdmi.xml', 'Check an example and print its outputs and planes')
      .example('virsh dumpxml win11 | $0 validate -', 'Check a defined domain')
      .example('$0 validate --json kiosk.xml', 'Print the parsed DomainConfig as JSON')
      .example('virsh dumpxml nova-instance-1 | $0 validate -', 'Check the domains.d file of a domain whose XML a manager writes')
      .epilogue(
        'Checks XML 1.0 well-formedness as libvirt (libxml2) does, with the encoding the XML declaration names, ' +
          'the 4 MiB input limit (the same byte count the hook uses), refuses a DOCTYPE (so no entity is ever expanded), finds the ' +
          '<directflip> element by its namespace URI (https://directflip.github.io/xmlns/domain/1, any prefix) and ' +
          'validates every attribute. Nothing on the host is touched: which source and host plane each guest plane ' +
          `gets is decided by \`directflip plan\`. ${ROOT_HELP}\n\n` +
          'Exit status: 0 valid (or not configured for directflip), 1 invalid or unreadable, 2 usage error.',
      ) as Argv<Args>,
  handler: (args) => {
    const text = readInput(args.file);
    let from;
    try {
      from = configFor(text, args.root);
    } catch (e) {
      if (e instanceof ConfigError) {
        throw new CliError(`${args.file === STDIN ? 'stdin' : args.file}: ${e.message}`, 1, e.toJSON());
      }
      throw e;
    }
    const misnamed = from.origin === null ? misnamedHostConfigs(from.config, args.root) : [];
    if (args.json) printJson({ ok: true, config: from.config, configFrom: { origin: from.origin, file: from.file, ignored: from.ignored, ...(misnamed.length ? { misnamed } : {}) } });
    else {
      process.stdout.write(describeConfig(from.config) + originLine(from) + misnamed.map((f) => `  ${misnamedNote(f, from.config, args.root)}\n`).join(''));
    }
  },
};
