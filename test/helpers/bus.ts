import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from './cli';

/** A private dbus-daemon any uid may use: the daemon's own uid check is what is under test. */
export function startBus(): { address: string; dir: string; stop(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'directflip-bus-'));
  chmodSync(dir, 0o755); // so a test client with another uid can reach the socket
  const socket = join(dir, 'bus');
  writeFileSync(join(dir, 'bus.conf'), `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path=${socket}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/></policy></busconfig>`);
  const r = spawnSync('dbus-daemon', [`--config-file=${join(dir, 'bus.conf')}`, '--fork', '--print-pid'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`dbus-daemon did not start (${r.error?.message ?? r.stderr}): install the Debian package dbus-daemon`);
  const pid = Number(r.stdout.trim());
  return {
    address: `unix:path=${socket}`,
    dir,
    stop: () => {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface DaemonProc {
  proc: ChildProcess;
  log: () => string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** `directflip daemon` as a real process; resolves once it says it is ready. */
export function startDaemon(address: string, host: string, root: string): Promise<DaemonProc> {
  const proc = spawn(process.execPath, [BIN, 'daemon', '--bus', address, '--host', host, '--root', root], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const d: DaemonProc = {
    proc,
    log: () => err,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode) return resolve();
        proc.once('exit', () => resolve());
        proc.kill(signal);
      }),
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon not ready after 10 s: ${err}`)), 10_000);
    proc.stderr!.on('data', () => {
      if (/directflipd ready/.test(err)) {
        clearTimeout(timer);
        resolve(d);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited ${code}: ${err}`));
    });
  });
}

export function readText(p: string): string {
  return readFileSync(p, 'utf8');
}
