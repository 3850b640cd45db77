import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** src/demo under ts-jest, dist/src/demo when compiled: the package root holds hooks/qemu. */
export const REPO_ROOT = ['../..', '../../..'].map((up) => resolve(__dirname, up)).find((d) => existsSync(join(d, 'hooks', 'qemu'))) ?? resolve(__dirname, '../../..');
export const BIN = join(REPO_ROOT, 'bin', 'directflip');

export interface PrivateBus {
  address: string;
  dir: string;
  stop(): void;
}

/** A private dbus-daemon any uid may use (the daemon's own uid check still applies). */
export function startBus(): PrivateBus {
  return forkBus('directflip-bus-', (socket) => `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path=${socket}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/></policy></busconfig>`);
}

/**
 * A dbus-daemon on its own directory (mode 0755, so a client of another uid reaches the socket),
 * with the configuration `config` writes for the socket path; stop() ends it and removes the directory.
 */
export function forkBus(prefix: string, config: (socket: string) => string): PrivateBus {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  const socket = join(dir, 'bus');
  writeFileSync(join(dir, 'bus.conf'), config(socket));
  const r = spawnSync('dbus-daemon', [`--config-file=${join(dir, 'bus.conf')}`, '--fork', '--print-pid'], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`dbus-daemon did not start (${r.error?.message ?? r.stderr.trim()}): install the Debian package dbus-daemon`);
  }
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
  const proc = spawn(process.execPath, [BIN, 'daemon', '--bus', address, '--host', host, '--root', root], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d) => (err += d));
  const d: DaemonProc = {
    proc,
    log: () => err,
    stop: (signal = 'SIGTERM') =>
      new Promise((res) => {
        if (proc.exitCode !== null || proc.signalCode) return res();
        proc.once('exit', () => res());
        proc.kill(signal);
      }),
  };
  return new Promise((res, reject) => {
    const timer = setTimeout(() => reject(new Error(`directflipd was not ready after 10 s: ${err}`)), 10_000);
    proc.stderr.on('data', () => {
      if (/directflipd ready/.test(err)) {
        clearTimeout(timer);
        res(d);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`directflipd exited ${code}: ${err}`));
    });
  });
}

/** The hook exactly as libvirt runs it: the installed shim, libvirt's argv, XML on stdin, an empty environment. */
export function runHookAsLibvirt(args: string[], xml: string, env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const all = { LC_ALL: 'C', PATH: '/usr/bin:/bin', DIRECTFLIP_NODE: process.execPath, DIRECTFLIP_HOME: REPO_ROOT, ...env };
  const r = spawnSync('/usr/bin/env', ['-i', ...Object.entries(all).map(([k, v]) => `${k}=${v}`), '/bin/sh', join(REPO_ROOT, 'hooks/qemu'), ...args], { input: xml, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
