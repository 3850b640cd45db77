import type { Argv, CommandModule } from 'yargs';
import { ConfigError } from '../../config';
import { configFor } from '../../config/host-config';
import { isKernelError } from '../../kernel/errors';
import { HOST_HELP, openHost } from '../../kernel/host';
import { dryRun } from '../../kms/dry-run';
import type { DryRun } from '../../kms/dry-run';
import { modeLabel } from '../../kms/mode';
import { PlanRefused } from '../../kms/types';
import { resolvePlane, SourceError } from '../../sources/resolve';
import { cleanupOnInterrupt } from '../interrupt';
import { positiveInteger, svgFileArg } from '../options';
import { CliError, printJson } from '../output';
import { readInput, STDIN } from '../read-input';
import { table } from '../table';
import { originLine, ROOT_OPTION, ROOT_HELP } from '../config-origin';
import { hostConfigCandidates, misnamedHostConfigs, misnamedNote } from '../../config/host-config';
import { planPicture } from '../../svg/from-plan';
import { writePicture } from '../../svg/write';
import { listenerLine, planListener } from '../../versions/listener';

interface Args {
  file: string;
  host: string;
  json: boolean;
  'budget-ms': number;
  root: string;
  svg?: string;
}

export const planCommand: CommandModule<object, Args> = {
  command: 'plan <file>',
  describe: 'Dry run: which host planes, CRTC and mode a domain would get; changes nothing',
  builder: (y: Argv) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'A domain XML as `virsh dumpxml` prints it, or - for standard input' })
      .option('host', { type: 'string', default: 'native', describe: `Which host: ${HOST_HELP}` })
      .option('budget-ms', { type: 'string', default: '1', coerce: positiveInteger('budget-ms', 'milliseconds'), describe: 'Time budget for the plane search, in milliseconds' })
      .option('root', ROOT_OPTION)
      .option('svg', { type: 'string', describe: 'Also draw each connector and the planes on it (host planes kept, the guest\'s, zpos order) as an SVG picture in FILE', coerce: svgFileArg })
      .example('$0 plan examples/gvt-kiosk-hdmi.xml --host sim:gvt-skylake', 'Plan the kiosk example on the simulated Skylake host')
      .example('virsh dumpxml win11 | $0 plan -', 'Plan a defined domain on this machine')
      .example('$0 plan --json --budget-ms 5 two.xml', 'The same data as JSON, with a larger search budget')
      .example('$0 plan kiosk.xml --host sim:gvt-skylake --svg kiosk.svg', 'Draw where the guest\'s planes would go')
      .epilogue(
        'Resolves each <output> to a connector, a CRTC and a mode, then searches the host planes for each guest plane ' +
          '(primary first, zpos order kept) and asks the kernel with an atomic TEST_ONLY commit, as the daemon does at ' +
          '`prepare`. Nothing is shown, reserved or left behind. Without DRM master (another process drives the card) it ' +
          'plans without TEST_ONLY and says so. Where the guest plane cannot be read yet (a GVT-g vGPU only its QEMU may ' +
          `open), its size and format are assumed and marked. ${ROOT_HELP}\n\nExit status: 0 a plan fits, 1 refused or invalid, 2 usage error.`,
      ) as Argv<Args>,
  handler: (args) => {
    const name = args.file === STDIN ? 'stdin' : args.file;
    let from;
    try {
      from = configFor(readInput(args.file), args.root);
    } catch (e) {
      if (e instanceof ConfigError) throw new CliError(`${name}: ${e.message}`, 1, e.toJSON());
      throw e;
    }
    const config = from.config;
    if (!config.directflip) {
      const misnamed = misnamedHostConfigs(config, args.root);
      if (misnamed.length) throw new CliError(`${name}: domain ${config.name} is not configured for directflip: no <directflip> in <metadata>, and ${misnamedNote(misnamed[0], config, args.root)}`, 1, { code: 'EDF_NOT_CONFIGURED', file: misnamed[0] });
      throw new CliError(`${name}: domain ${config.name} is not configured for directflip (no <directflip> in <metadata>, and none of ${hostConfigCandidates(config, args.root).join(', ')}): add the metadata (\`directflip config --domain FILE …\` prints it) or write one of those files`, 1, { code: 'EDF_NOT_CONFIGURED' });
    }
    // A simulated host lives in a temporary directory: an interrupt must not leave it behind.
    let host: ReturnType<typeof openHost> | undefined;
    const registered = cleanupOnInterrupt(() => host?.close());
    try {
      host = openHost(args.host, args.host === 'native' ? { root: args.root } : {});
      const r = dryRun(host, config, { budgetMs: args['budget-ms'], describe: resolvePlane });
      if (args.svg) writePicture(args.svg, planPicture(host, config.name, r));
      const listener = planListener(host, r.sources);
      if (args.json) printJson({ ok: true, host: host.label, configFrom: { origin: from.origin, file: from.file, ignored: from.ignored }, ...r, listener });
      else process.stdout.write(describe(host.label, config.name, r) + (listener ? listenerLine(listener) : '') + originLine(from));
    } catch (e) {
      if (e instanceof PlanRefused) throw new CliError(`domain ${config.name}: ${e.message}`, 1, { code: e.code, request: e.request, reasons: e.reasons });
      if (e instanceof SourceError) throw new CliError(`domain ${config.name}: ${e.message}`, 1, { code: e.code, path: e.path });
      if (isKernelError(e)) throw new CliError(`domain ${config.name}: ${e.message}`, 1, { code: e.code, syscall: e.syscall });
      throw e;
    } finally {
      host?.close();
      registered();
    }
  },
};

function describe(host: string, domain: string, r: DryRun): string {
  const p = r.plan;
  const rows = p.outputs.flatMap((o) =>
    o.planes.map((a) => [
      o.connector, `${o.crtcId} (pipe ${String.fromCharCode(65 + o.crtcIndex)})`, `${modeLabel(o.mode)}${o.modeset ? ' *' : ''}`,
      `${a.planeId} ${a.planeType}`, `guest ${a.from}${r.assumptions[a.key] ? ' (assumed)' : ''}`, r.sources[a.key]?.source ?? '-',
      `${a.src.w}x${a.src.h} → ${a.dst.w}x${a.dst.h}+${a.dst.x}+${a.dst.y}`, a.zpos === null ? '-' : String(a.zpos),
    ]),
  );
  const lines = [
    `domain ${domain} on ${host} (${r.card}, ${r.driver})`,
    '',
    table(['CONNECTOR', 'CRTC', 'MODE', 'HOST PLANE', '← GUEST PLANE', 'SOURCE', 'GEOMETRY', 'ZPOS'], rows).trimEnd(),
    '',
    `${p.testOnlyCommits} TEST_ONLY commit${p.testOnlyCommits === 1 ? '' : 's'}, planned in ${p.elapsedMs.toFixed(2)} ms (search ${p.searchMs.toFixed(2)} ms)${p.verified ? '' : ' (unverified: no TEST_ONLY)'}`,
  ];
  if (p.outputs.some((o) => o.modeset)) lines.push('* the mode or routing changes: committing needs a modeset');
  const planes = new Map(p.outputs.flatMap((o) => o.planes.map((a) => [a.key, a])));
  for (const [key, s] of Object.entries(r.sources)) lines.push(`${key}: source ${s.source}: ${s.why}`);
  for (const [key, why] of Object.entries(r.assumptions)) {
    const a = planes.get(key);
    lines.push(`${key}: guest plane assumed ${a ? `${a.src.w}x${a.src.h}` : ''}: ${why}`);
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join('\n') + '\n';
}
