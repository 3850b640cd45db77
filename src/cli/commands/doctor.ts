import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { busAddress } from '../../daemon/names';
import { formatReport } from '../../doctor/format';
import { DoctorCannotRun, runDoctor } from '../../doctor/run';
import { HOST_HELP } from '../../kernel/host';
import { BUS_OPTION } from '../daemon-options';
import { last, positiveInteger } from '../options';
import { cleanupOnInterrupt } from '../interrupt';
import { CliError, printJson } from '../output';

interface Args {
  files: string[];
  host: string;
  root?: string;
  bus?: string;
  json: boolean;
  'timeout-ms': number;
}

export const doctorCommand: CommandModule<object, Args> = {
  command: 'doctor [files..]',
  describe: 'Check that this host is ready, and each domain given; every ✘ names the fix',
  builder: (y: Argv) =>
    y
      .positional('files', { type: 'string', array: true, default: [], describe: 'Domain XMLs as `virsh dumpxml` prints them' })
      .option('host', { type: 'string', default: 'native', describe: `Which host: ${HOST_HELP}` })
      .option('root', { type: 'string', coerce: (v: unknown) => resolve(String(last(v))), describe: 'Read /sys, /dev, /proc, /etc, /usr under this directory (a test root; a simulated host keeps its state there)' })
      .option('bus', BUS_OPTION)
      .option('timeout-ms', { type: 'string', default: '2000', coerce: positiveInteger('timeout-ms', 'milliseconds'), describe: 'How long to wait for directflipd, in milliseconds' })
      .example('$0 doctor', 'Check this machine (as root)')
      .example('$0 doctor /etc/libvirt/qemu/kiosk.xml', 'Check the host and one domain')
      .example('$0 doctor --host sim:gvt-skylake-compositor --json', 'A simulated host where a compositor holds DRM master, as JSON')
      .epilogue(
        'Host: node and its path under libvirt and AppArmor; the hook in qemu.d (libvirt ≥ 6.5), executable, and noticed ' +
          'by the running libvirt daemon; directflipd on its bus and the D-Bus policy; the DRM card, ATOMIC and ' +
          'UNIVERSAL_PLANES, DRM master (or which process holds it, from /proc); GVT-g (i915 enable_gvt), each mdev with ' +
          'its parent driver and sources; QEMU ≥ 7.0 and libvirt ≥ 8.4 for qemu-dbus and the newer listener interfaces; ' +
          "Intel's direct-flip ABI; /dev/udmabuf. Each domain: its connectors present and connected, its mdevs present " +
          "with display='on', <graphics type='dbus'/> where qemu-dbus is the source, and an <input type='evdev'> hint.\n\n" +
          'Each line is ✔ (ready), ✘ (broken; the fix follows it) or ! (worth knowing). Nothing is changed.\n\n' +
          'Exit status: 0 no ✘, 1 some ✘, 2 doctor could not run.',
      ) as Argv<Args>,
  handler: async (args) => {
    // A simulated host lives in a temporary directory without --root: an interrupt must not leave it behind.
    const registered = cleanupOnInterrupt(() => undefined);
    try {
      const r = await runDoctor({ host: args.host, root: args.root, files: args.files.map(String), bus: busAddress(args.bus), timeoutMs: args['timeout-ms'] });
      if (args.json) printJson(r);
      else process.stdout.write(formatReport(r));
      process.exitCode = r.ok ? 0 : 1;
    } catch (e) {
      if (e instanceof DoctorCannotRun) throw new CliError(`doctor could not run: ${e.message}`, 2, { code: e.code });
      throw e;
    } finally {
      registered();
    }
  },
};
