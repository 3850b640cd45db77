import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { runDemo } from '../../demo/demo';
import { cleanupOnInterrupt } from '../interrupt';
import { printJson } from '../output';

interface Args {
  out: string;
  json: boolean;
}

export const demoCommand: CommandModule<object, Args> = {
  command: 'demo',
  describe: 'Run the main job on a simulated host: the hook, the daemon, a guest shown on HDMI-A-1 and given back',
  builder: (y: Argv) =>
    y
      .option('out', { type: 'string', default: join(process.cwd(), 'out', 'demo'), defaultDescription: './out/demo', describe: 'Where to write the PNGs of the simulated monitor' })
      .example('$0 demo', 'Run it; pictures land in ./out/demo')
      .example('$0 demo --out /tmp/df --json', 'Elsewhere, with a JSON report')
      .epilogue(
        'Starts a private dbus-daemon (Debian package dbus-daemon) and directflipd on the simulated host ' +
          'gvt-skylake-directflip, then runs /etc/libvirt/hooks/qemu.d/50-directflip exactly as libvirt does (same argv, ' +
          'the domain XML on stdin, an empty environment) through prepare → start → started → stopped → release for ' +
          'examples/gvt-kiosk-hdmi.xml and examples/two-outputs.xml. It writes CONNECTOR-before/during/after.png and checks ' +
          'each monitor is given back pixel for pixel. The guest planes come through gvt-fb, so the guest desktop is on screen. ' +
          'Everything it starts is stopped.\n\nExit status: 0 the display came back exactly, 1 otherwise.',
      ) as Argv<Args>,
  handler: async (args) => {
    const r = await runDemo(
      args.out,
      (line) => {
        if (!args.json) process.stdout.write(`${line}\n`);
      },
      { onInterrupt: cleanupOnInterrupt },
    );
    if (args.json) printJson({ ok: r.restoredExactly, ...r });
    else process.stdout.write(`done in ${r.seconds.toFixed(1)} s\n`);
    if (!r.restoredExactly) process.exitCode = 1;
  },
};
