import type { Argv, CommandModule } from 'yargs';
import { ConfigError, parseDomainXml } from '../../config';
import { UUID_RE } from '../../config/rules';
import { InsertError, insertMetadata, metadataElement, shellWord, standInDomain, virshCommand } from '../../config/build-metadata';
import type { MetadataSpec } from '../../config/build-metadata';
import { describeConfig } from '../describe-config';
import { UsageError } from '../options';
import { CliError, printJson } from '../output';
import { readInput, STDIN } from '../read-input';

interface Args extends MetadataSpec {
  domain?: string;
  name: string;
  json: boolean;
}

const int = (describe: string) => ({ type: 'number' as const, describe });

export const configCommand: CommandModule<object, Args> = {
  command: 'config',
  describe: 'Write the directflip metadata for a domain from options, checked, with the virsh line that sets it',
  builder: (y: Argv) =>
    y
      .option('connector', { type: 'string', demandOption: true, describe: 'The host connector to show the guest on, as drm_info and /sys/class/drm name it: HDMI-A-1, DP-2, eDP-1' })
      .option('mdev', { type: 'string', describe: "The guest's vGPU: the UUID of a <hostdev type='mdev'> of the domain" })
      .option('console', { type: 'number', describe: "A QEMU console index instead of an mdev (virtio-gpu, bochs; needs <graphics type='dbus'/>)" })
      .option('cursor', { type: 'boolean', default: false, describe: "Also show the guest's cursor plane on the host's cursor plane" })
      .option('mode', { type: 'string', describe: 'WIDTHxHEIGHT[@HZ] or preferred (default: the current mode, else the preferred one)' })
      .option('to', { type: 'string', describe: 'The host plane for the guest primary: primary, overlay, auto or a plane id as `directflip probe` lists it (default: auto)' })
      .option('source', { type: 'string', choices: ['auto', 'gvt-fb', 'qemu-dbus'], describe: "Where the guest's planes come from (default: auto)" })
      .option('on-error', { type: 'string', choices: ['warn', 'abort'], describe: 'If the guest cannot be shown: start it anyway and log why (warn, the default), or fail its start (abort)' })
      .option('restore', { type: 'string', choices: ['previous', 'off'], describe: 'When the guest stops: give the monitor back as it was (previous, the default), or switch it off' })
      .option('card', { type: 'string', describe: 'The DRM card, /dev/dri/cardN or /dev/dri/by-path/… (default: the card that has the connector)' })
      .option('x', int('Where the guest picture starts on the monitor, in pixels from the left'))
      .option('y', int('… and from the top'))
      .option('width', int('The size to show it at (scaled where the plane can scale)'))
      .option('height', int('… its height'))
      .option('zpos', int("The plane's stacking position, where the card lets it be set"))
      .option('domain', { type: 'string', describe: 'A domain XML (virsh dumpxml, or - for standard input): print it whole with the metadata added' })
      .option('name', { type: 'string', default: 'DOMAIN', describe: 'The domain name for the virsh line (with --domain: its <name>)' })
      .conflicts('mdev', 'console')
      // Every option here is one value: given twice, the last counts, as everywhere else (yargs would make an array, then "A,B").
      .middleware((a) => {
        for (const k of Object.keys(a)) if (k !== '_' && Array.isArray(a[k])) a[k] = (a[k] as unknown[]).at(-1);
      }, true)
      .check((a) => {
        if (a.mdev === undefined && a.console === undefined) throw new UsageError('name the guest plane with --mdev UUID (a vGPU) or --console N (a QEMU console)');
        // Checked here so the message names the option, not the stand-in domain's hostdev.
        if (a.mdev !== undefined && !UUID_RE.test(a.mdev)) throw new UsageError(`--mdev ${JSON.stringify(a.mdev)} is not an mdev UUID: lower case with dashes, as mdevctl list shows it, e.g. c2177883-f1bb-47f0-914d-32a22e3a8804`);
        if (a.console !== undefined && (!Number.isInteger(a.console) || a.console < 0)) throw new UsageError(`--console ${String(a.console)} is not a console index (0, 1, …)`);
        return true;
      })
      .example('$0 config --connector HDMI-A-1 --mdev c2177883-f1bb-47f0-914d-32a22e3a8804 --cursor', 'A GVT-g guest on HDMI, its cursor too')
      .example('virsh dumpxml win11 | $0 config --domain - --connector DP-1 --mdev UUID > win11.xml', 'The domain XML with the metadata in, for virsh define')
      .example('$0 config --connector Virtual-1 --console 0 --mode 1280x720 --json', 'A virtio-gpu guest through its D-Bus display, as JSON')
      .epilogue(
        'Builds the <directflip> element (namespace https://directflip.github.io/xmlns/domain/1), checks it with the ' +
          'same parser `validate` and the hook use, and prints it with the `virsh metadata` line that sets it on a ' +
          'defined domain. Without --domain the check runs on a stand-in domain that has the mdev as a hostdev with ' +
          "display='on' and <graphics type='dbus'/>: the real domain needs them too (`directflip validate` checks it). " +
          'With --domain, that domain is checked with the metadata in and printed whole; one that already has ' +
          'directflip metadata is refused (remove the old element first).\n\n' +
          'Exit status: 0 printed, 1 the result would be invalid, 2 usage error.',
      ) as unknown as Argv<Args>,
  handler: (args) => {
    const spec: MetadataSpec = {
      connector: args.connector, card: args.card, mode: args.mode, restore: args.restore, onError: args.onError,
      mdev: args.mdev, console: args.console, source: args.source, to: args.to,
      x: args.x, y: args.y, width: args.width, height: args.height, zpos: args.zpos, cursor: args.cursor,
    };
    const element = metadataElement(spec, null);
    let xml: string;
    let name = args.name;
    try {
      if (args.domain !== undefined) {
        xml = insertMetadata(readInput(args.domain).toString('utf8'), metadataElement(spec, 'df'));
      } else {
        xml = standInDomain(name, metadataElement(spec, 'df'), spec);
      }
      const config = parseDomainXml(xml);
      // The one parser has the last word: an element that did not land in the domain's own <metadata> is not printed as done.
      if (!config.directflip) throw new InsertError("the <directflip> element did not end up in the domain's <metadata>, so the result would configure nothing; give the XML `virsh dumpxml DOMAIN` prints", 'EDF_NOT_DOMAIN');
      if (args.domain !== undefined) name = config.name;
      const virsh = virshCommand(name, element);
      if (args.json) return printJson({ ok: true, element, virsh, ...(args.domain !== undefined ? { domainXml: xml } : {}), config });
      if (args.domain !== undefined) return void process.stdout.write(xml.endsWith('\n') ? xml : `${xml}\n`);
      const needs = spec.mdev ? `<hostdev type='mdev'> ${spec.mdev} with display='on'` : "<graphics type='dbus'/>";
      process.stdout.write(
        `${element}\n\nSet it on the defined domain with:\n  ${virsh}\n\n` +
          `Checked on a stand-in domain with ${needs}; the real one needs that too (virsh dumpxml ${shellWord(name)} | directflip validate -).\n\n` +
          describeConfig(config).replace(/^domain [^\n]*\n(  (mdevs|graphics):[^\n]*\n)*/, ''),
      );
    } catch (e) {
      const where = args.domain === undefined ? 'the metadata' : args.domain === STDIN ? 'stdin' : args.domain;
      if (e instanceof ConfigError) throw new CliError(`${where}: ${e.message}`, 1, e.toJSON());
      if (e instanceof InsertError) throw new CliError(`${where}: ${e.message}`, 1, { code: e.code });
      throw e;
    }
  },
};
