import yargs from 'yargs/yargs';
import type { CommandModule } from 'yargs';
import { quietOnClosedStdout } from './interrupt';
import { UsageError } from './options';
import { printJson, reportFailure } from './output';
import { configCommand } from './commands/config';
import { daemonCommand } from './commands/daemon';
import { demoCommand } from './commands/demo';
import { doctorCommand } from './commands/doctor';
import { hookCommand } from './commands/hook';
import { installCommand, uninstallCommand } from './commands/install';
import { planCommand } from './commands/plan';
import { screenshotCommand } from './commands/screenshot';
import { statusCommand } from './commands/status';
import { probeCommand } from './commands/probe';
import { validateCommand } from './commands/validate';
import { STDIN } from './read-input';

/** Every command the CLI knows; each module owns its options, help text and handler (scripts/gen-man.js walks them). */
export const commands: CommandModule<object, never>[] = [
  validateCommand as CommandModule<object, never>,
  configCommand as CommandModule<object, never>,
  probeCommand as CommandModule<object, never>,
  doctorCommand as CommandModule<object, never>,
  planCommand as CommandModule<object, never>,
  daemonCommand as CommandModule<object, never>,
  statusCommand as CommandModule<object, never>,
  screenshotCommand as CommandModule<object, never>,
  hookCommand as CommandModule<object, never>,
  installCommand as CommandModule<object, never>,
  uninstallCommand as CommandModule<object, never>,
  demoCommand as CommandModule<object, never>,
];

/** The option every command takes. */
export const JSON_OPTION = { type: 'boolean', default: false, describe: 'Print machine-readable JSON on stdout' } as const;

export async function main(argv: string[]): Promise<void> {
  // yargs-parser reads a lone `-` as an unnamed flag; `-` means standard input to every command.
  const args = argv.map((a) => (a === '-' ? STDIN : a));
  quietOnClosedStdout();
  let parser = yargs(args)
    .scriptName('directflip')
    .usage(
      'directflip — show a libvirt guest directly on a host monitor through KMS planes\n\n' +
        'Usage: $0 <command> [options]',
    )
    .option('json', JSON_OPTION)
    .strict()
    .demandCommand(1, 'Name a command; see the list above.')
    .recommendCommands()
    .wrap(Math.min(100, process.stdout.columns || 100))
    .epilogue('Each command has its own --help. Configuration lives in the domain XML <metadata>; see README.md.')
    .fail((msg, err, y) => {
      // yargs re-throws an option's coerce error as its own YError: both are usage errors.
      if (err && !(err instanceof UsageError) && err.name !== 'YError') throw err;
      const text = msg ?? err?.message ?? 'invalid usage';
      // A program that asked for JSON gets its refusal as JSON too, on stdout like every result.
      if (argv.includes('--json')) printJson({ ok: false, error: { code: 'EUSAGE', message: `${text}; run 'directflip --help' for usage` } });
      else process.stderr.write(`${y.help() && ''}directflip: ${text}\nRun 'directflip --help' for usage.\n`);
      process.exit(2);
    })
    .help()
    .alias('help', 'h')
    .version();
  for (const c of commands) parser = parser.command(c);
  try {
    await parser.parseAsync();
  } catch (e) {
    process.exitCode = reportFailure(e, argv.includes('--json'));
  }
}
