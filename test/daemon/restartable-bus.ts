import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startBus } from '../helpers/bus';

/**
 * A private dbus-daemon that can be killed and started again at the same address, as systemd
 * does when dbus.service restarts: the same bus.conf, the same socket path.
 */
export function restartableBus() {
  const bus = startBus();
  const conf = join(bus.dir, 'bus.conf');
  const pidOf = () => {
    const r = spawnSync('pgrep', ['-f', '--', `--config-file=${conf}`], { encoding: 'utf8' });
    return r.stdout.split('\n').filter(Boolean).map(Number);
  };
  return {
    address: bus.address,
    kill(): void {
      for (const pid of pidOf()) process.kill(pid, 'SIGKILL');
      rmSync(join(bus.dir, 'bus'), { force: true });
    },
    start(): void {
      const r = spawnSync('dbus-daemon', [`--config-file=${conf}`, '--fork', '--print-pid'], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`dbus-daemon did not start again: ${r.stderr}`);
    },
    alive: () => pidOf().length > 0,
    stop(): void {
      this.kill();
      bus.stop();
    },
  };
}
