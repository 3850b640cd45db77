import type { Argv, CommandModule } from 'yargs';
import { applyInstall, applyUninstall } from '../../install/apply';
import { installPlan, installWarnings } from '../../install/plan';
import { cleanupOnInterrupt } from '../interrupt';
import { printJson } from '../output';

/** Runs `f` with SIGINT/SIGTERM/SIGHUP caught, so they wait until it is done instead of cutting it short. */
function uninterrupted<T>(f: () => T): T {
  const done = cleanupOnInterrupt(() => undefined);
  try {
    return f();
  } finally {
    done();
  }
}

interface Args {
  prefix: string;
  'dry-run': boolean;
  json: boolean;
}

const options = (y: Argv) =>
  y
    .option('prefix', { type: 'string', default: '/', describe: 'Install under this root instead of / (packaging, tests)' })
    .option('dry-run', { type: 'boolean', default: false, describe: 'Print what would be done and change nothing' });

export const installCommand: CommandModule<object, Args> = {
  command: 'install',
  describe: 'Install the libvirt hook, the systemd unit, the D-Bus policy and the manual page; print each path',
  builder: (y: Argv) =>
    options(y)
      .example('$0 install', 'Install into / (as root)')
      .example('$0 install --dry-run', 'Show the files it would write')
      .example('$0 install --prefix /tmp/root --json', 'Install into a scratch root, report as JSON')
      .epilogue(
        'Writes /etc/libvirt/hooks/qemu.d/50-directflip (the sh shim, with this node and this package filled in), ' +
          '/etc/systemd/system/directflipd.service, /etc/dbus-1/system.d/io.github.directflip1.conf and ' +
          '/usr/share/dbus-1/system-services/io.github.directflip1.service and the manual page ' +
          '/usr/share/man/man1/directflip.1 (what the unit\'s Documentation=man:directflip(1) names), and a manifest so `uninstall` removes exactly ' +
          'those. Installing again is safe.\n\nExit status: 0 installed, 1 failed.',
      ) as Argv<Args>,
  handler: (args) => {
    const files = installPlan(args.prefix);
    const warnings = installWarnings(args.prefix, process.execPath);
    // Ctrl-C waits for the files and the manifest to be written whole (no *.directflip-tmp left).
    if (!args['dry-run']) uninterrupted(() => applyInstall(args.prefix, files));
    if (args.json) return printJson({ ok: true, dryRun: args['dry-run'], files: files.map((f) => ({ path: f.path, what: f.what, mode: f.mode.toString(8) })), warnings });
    for (const f of files) process.stdout.write(`${args['dry-run'] ? 'would write' : 'wrote'} ${f.path}  (${f.what})\n`);
    for (const w of warnings) process.stderr.write(`directflip: note: ${w}\n`);
  },
};

export const uninstallCommand: CommandModule<object, Args> = {
  command: 'uninstall',
  describe: 'Remove exactly the files install wrote',
  builder: (y: Argv) =>
    options(y)
      .example('$0 uninstall', 'Remove the hook, unit, policy and manual page from /')
      .example('$0 uninstall --prefix /tmp/root --dry-run', 'Show what would be removed')
      .epilogue('A file changed since install is left in place and named. Exit status: 0 done, 1 nothing installed there.') as Argv<Args>,
  handler: (args) => {
    const r = uninterrupted(() => applyUninstall(args.prefix, args['dry-run']));
    if (args.json) return printJson({ ok: true, dryRun: args['dry-run'], ...r });
    for (const p of r.removed) process.stdout.write(`${args['dry-run'] ? 'would remove' : 'removed'} ${p}\n`);
    for (const p of r.kept) process.stderr.write(`directflip: kept ${p}: changed since install; remove it yourself if you want it gone\n`);
    for (const p of r.missing) process.stderr.write(`directflip: ${p} was already gone\n`);
  },
};
