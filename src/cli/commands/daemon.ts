import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import type * as dbus from 'dbus-next';
import { BusKeeper } from '../../daemon/bus-keeper';
import { Engine } from '../../daemon/engine';
import { Journal } from '../../daemon/journal';
import { stderrLogger } from '../../daemon/log';
import type { Logger } from '../../daemon/log';
import { BUS_NAME, busAddress } from '../../daemon/names';
import { RunLock } from '../../daemon/run-lock';
import { simScreenshot } from '../../daemon/screenshot';
import { ManagerService } from '../../daemon/service';
import { trustedDir } from '../../daemon/state-dir';
import { HOST_HELP, openHost } from '../../kernel/host';
import type { Host } from '../../kernel/host';
import { SysPaths } from '../../sys/paths';
import { BUS_OPTION } from '../daemon-options';

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
      .option('bus', { ...BUS_OPTION, describe: 'D-Bus address to serve on (default: env DIRECTFLIP_BUS_ADDRESS, else the system bus)' })
      .option('host', { type: 'string', default: 'native', describe: `Which host: ${HOST_HELP}` })
      .option('root', { type: 'string', describe: 'Root for /etc, /run, /sys and /dev paths (tests): the state journal is <root>/run/directflip, host-side configuration <root>/etc/directflip/domains.d' })
      .example('$0 daemon', 'What the systemd unit runs: the real card, the system bus')
      .example('$0 daemon --host sim:gvt-skylake --bus unix:path=/tmp/bus', 'A simulated host on a private bus')
      .epilogue(
        'Logs one line per event on stderr with journald priority prefixes (<3> errors … <7> debug). Only root may call ' +
          'it. One daemon per state directory (<run>/directflip, locked by directflipd.pid); it must be owned by root and ' +
          'writable by nobody else. On start it reconciles its journal (<run>/directflip/domains/<uuid>.json) with the card: ' +
          'active domains are shown again, or the host display is restored; damaged records go to domains/damaged/. If the ' +
          'bus goes away the guests stay shown and the daemon reconnects. SIGTERM answers waiting calls with ShuttingDown, ' +
          'gives the host display back and keeps the journal, so a restart re-adopts running guests. At prepare, a domain ' +
          'whose XML has no <directflip> in <metadata> is configured by /etc/directflip/domains.d/<uuid>.xml or <name>.xml when one exists.\n\n' +
          'Exit status: 0 stopped by a signal, 1 could not start.',
      ) as Argv<Args>,
  handler: async (args) => {
    const log = stderrLogger();
    // The lock comes before anything is read, cleaned or rebuilt under the root: a second daemon
    // must leave the first one's state alone.
    const root = args.root ? resolve(args.root) : undefined;
    const own = root || args.host === 'native' ? lockRun(new SysPaths(root ?? '/').runDir()) : null;
    let host: Host | null = null;
    let lock = own;
    let bus: BusKeeper | null = null;
    // Listening from the start: a SIGTERM while starting up (or right after "ready") still
    // ends in a clean stop, never node's default death by signal.
    const signalled = untilSignal(log);
    try {
      host = openHost(args.host, { vblank: 'timer', root });
      lock ??= lockRun(host.sys.runDir());
      const engine = new Engine(host, openJournal(host.sys.runDir(), log), log);
      await engine.reconcile();
      bus = new BusKeeper(busAddress(args.bus), log);
      await bus.start(10_000);
      const sim = host.sim;
      const screenshot = sim ? (connector: string) => simScreenshot(sim, connector) : undefined;
      const service = new ManagerService(bus as unknown as dbus.MessageBus, engine, log, { version: '0.1.0', host: host.label }, screenshot);
      await service.start();
      log('info', null, `directflipd ready: ${BUS_NAME} on ${busAddress(args.bus) ?? 'the system bus'}, host ${host.label}, pid ${process.pid}`);
      await signalled;
      await engine.shutdown();
      // Every call already received gets its answer (ShuttingDown for those that waited) before
      // the connection closes; the service's own caller check times out at 5 s.
      await bus.drain(6000);
      service.stop();
    } finally {
      bus?.close();
      if (host) closeHost(host, log);
      lock?.release();
    }
  },
};

function lockRun(runDir: string): RunLock {
  return RunLock.acquire(trustedDir(runDir));
}

function openJournal(runDir: string, log: Logger): Journal {
  const j = new Journal(runDir);
  if (j.cleaned.length) log('notice', null, `removed ${j.cleaned.length} temporary journal file(s) a crashed write left behind: ${j.cleaned.join(', ')}`);
  return j;
}

function untilSignal(log: Logger): Promise<void> {
  return new Promise<void>((res) => {
    const stop = (sig: string) => {
      log('info', null, `${sig}: answering waiting calls, giving the host display back and stopping`);
      res();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

function closeHost(host: Host, log: Logger): void {
  try {
    host.close();
  } catch (e) {
    log('warning', null, `closing the host failed: ${(e as Error).message}`);
  }
}
