import type { Argv, CommandModule } from 'yargs';
import { connectBus } from '../../daemon/connect';
import { Engine } from '../../daemon/engine';
import { Journal } from '../../daemon/journal';
import { stderrLogger } from '../../daemon/log';
import { BUS_NAME, busAddress } from '../../daemon/names';
import { simScreenshot } from '../../daemon/screenshot';
import { ManagerService } from '../../daemon/service';
import { HOST_HELP, openHost } from '../../kernel/host';

interface Args {
  bus?: string;
  host: string;
  root?: string;
  json: boolean;
}

export const daemonCommand: CommandModule<object, Args> = {
  command: 'daemon',
  describe: 'Run directflipd: own the DRM device and serve io.github.directflip1 on D-Bus',
  builder: (y: Argv) =>
    y
      .option('bus', { type: 'string', describe: 'D-Bus address to serve on (default: env DIRECTFLIP_BUS_ADDRESS, else the system bus)' })
      .option('host', { type: 'string', default: 'native', describe: `Which host: ${HOST_HELP}` })
      .option('root', { type: 'string', describe: 'Root for /run, /sys and /dev paths (tests); the state journal is <root>/run/directflip' })
      .example('$0 daemon', 'What the systemd unit runs: the real card, the system bus')
      .example('$0 daemon --host sim:gvt-skylake --bus unix:path=/tmp/bus', 'A simulated host on a private bus')
      .epilogue(
        'Logs one line per event on stderr with journald priority prefixes (<3> errors … <7> debug). Only root may call ' +
          'it. On start it reconciles its journal (<run>/directflip/domains/*.json) with the card: active domains are shown ' +
          'again, or the host display is restored. SIGTERM gives the host display back and keeps the journal, so a ' +
          'restart re-adopts running guests.\n\nExit status: 0 stopped by a signal, 1 could not start.',
      ) as Argv<Args>,
  handler: async (args) => {
    const log = stderrLogger();
    const host = openHost(args.host, { vblank: 'timer', root: args.root });
    const engine = new Engine(host, new Journal(host.sys.runDir()), log);
    await engine.reconcile();
    const address = busAddress(args.bus);
    const bus = await connectBus(address, 10_000);
    const sim = host.sim;
    const screenshot = sim ? (connector: string) => simScreenshot(sim, connector) : undefined;
    await new ManagerService(bus, engine, log, { version: '0.1.0', host: host.label }, screenshot).start();
    log('info', null, `directflipd ready: ${BUS_NAME} on ${address ?? 'the system bus'}, host ${host.label}`);
    await new Promise<void>((resolve) => {
      const stop = (sig: string) => {
        log('info', null, `${sig}: giving the host display back and stopping`);
        void engine.shutdown().finally(() => {
          bus.disconnect();
          host.close();
          resolve();
        });
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
  },
};
