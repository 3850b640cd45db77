import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callManager, simScreenshotOf } from '../../src/daemon/client';
import { connectBus } from '../../src/daemon/connect';
import { BUS_NAME, MANAGER_IFACE, OBJECT_PATH, SIMULATOR_IFACE } from '../../src/daemon/names';
import { withTimeout } from '../../src/util/timeout';
import { runHookAsLibvirt, startDaemon } from './bus';
import type { DaemonProc } from './bus';
import { reportFault } from './report';
import type { FaultRecord } from './report';

/**
 * The fault matrix's world, all real processes as on a host: a dbus-daemon that can be killed
 * and started again at the same address, `directflip daemon --host sim:PROFILE --root DIR`
 * (whose simulated kernel outlives it on that root), and the hook shim run as libvirt runs it.
 */
export const NS = 'https://directflip.github.io/xmlns/domain/1';
export const DEFAULT_HOST = 'sim:gvt-skylake-directflip';

/** A private dbus-daemon, killable and restartable at the same socket path. */
export class RestartableBus {
  readonly dir = mkdtempSync(join(tmpdir(), 'directflip-fbus-'));
  readonly socket = join(this.dir, 'bus');
  readonly address = `unix:path=${this.socket}`;
  private proc: ChildProcess | null = null;

  constructor() {
    chmodSync(this.dir, 0o755);
    writeFileSync(join(this.dir, 'bus.conf'), `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path=${this.socket}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/></policy></busconfig>`);
  }

  /** Starts it; resolves once it prints its address (it listens from then on). */
  start(): Promise<void> {
    rmSync(this.socket, { force: true });
    const p = spawn('dbus-daemon', [`--config-file=${join(this.dir, 'bus.conf')}`, '--nofork', '--print-address'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = p;
    return new Promise((res, reject) => {
      let err = '';
      p.stderr!.on('data', (d) => (err += d));
      p.stdout!.once('data', () => res());
      p.once('error', (e) => reject(new Error(`dbus-daemon did not start (${e.message}): install the Debian package dbus-daemon`)));
      p.once('exit', (code) => reject(new Error(`dbus-daemon exited ${code}: ${err}`)));
    });
  }

  /** The bus dies as in a crash: every connection on it is cut at once. */
  kill(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null) return Promise.resolve();
    return new Promise((res) => {
      p.once('exit', () => res());
      p.kill('SIGKILL');
    });
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A plane struct of Prepare/Activate/Status: (ssuusss(iiuu)i). */
export type PlaneRow = [string, string, number, number, string, string, string, [number, number, number, number], number];
export type StatusRow = [string, string, PlaneRow[], string[]];

export const uuidOf = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
export const mdevOf = (i: number) => `00000000-0000-4000-9000-${String(i).padStart(12, '0')}`;

/**
 * Domain `vm<i>`: its own GVT-g mdev, whose primary plane goes onto an overlay of `connector`, in
 * one quarter of a 1080p mode (by i), so several domains share a monitor without sharing a plane.
 * on-error="abort": a refusal fails the start instead of hiding behind a warning.
 */
export function domainXml(i: number, connector: string, opts: { extra?: string; source?: 'qemu-dbus' | 'gvt-fb' } = {}): string {
  const source = opts.source ? ` source="${opts.source}"` : '';
  return `<domain type='kvm'><name>vm${i}</name><uuid>${uuidOf(i)}</uuid><metadata><directflip xmlns="${NS}" on-error="abort"><output connector="${connector}">
  <plane from="primary" mdev="${mdevOf(i)}"${source} to="overlay" x="${(i % 2) * 960}" y="${(Math.floor(i / 2) % 2) * 540}" width="960" height="540"/></output></directflip></metadata>
  <devices><hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='${mdevOf(i)}'/></source></hostdev>${opts.extra ?? ''}</devices></domain>`;
}

export interface ProcStats {
  fds: number;
  rssKiB: number;
}

/** What the kernel says of a live process: open fds and resident memory. */
export function procStats(pid: number): ProcStats {
  const fds = readdirSync(`/proc/${pid}/fd`).length;
  const rss = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { fds, rssKiB: rss ? Number(rss[1]) : NaN };
}

export class FaultRig {
  // /run is a tmpfs on a real host; on one here the journal's and the sim kernel's fsyncs cost nothing.
  readonly root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'directflip-froot-'));
  readonly bus = new RestartableBus();
  daemon: DaemonProc | null = null;
  /** Every daemon this rig started, so a test can check none of them crashed. */
  readonly daemons: DaemonProc[] = [];
  /** Each daemon's fds and RSS once it said it was ready, in start order. */
  readonly ready: ProcStats[] = [];
  /** The simulated card's fbs and GEM handles when the first daemon was ready and idle. */
  private baseline: [number, number] | null = null;

  constructor(readonly host = DEFAULT_HOST) {}

  static async start(host = DEFAULT_HOST): Promise<FaultRig> {
    const rig = new FaultRig(host);
    try {
      await rig.bus.start();
      await rig.startDaemon();
    } catch (e) {
      await rig.stop();
      throw e;
    }
    return rig;
  }

  get runDir(): string {
    return join(this.root, 'run', 'directflip');
  }

  get pid(): number {
    return this.daemon!.proc.pid!;
  }

  async startDaemon(): Promise<DaemonProc> {
    this.daemon = await startDaemon(this.bus.address, this.host, this.root);
    this.daemons.push(this.daemon);
    this.ready.push(procStats(this.daemon.proc.pid!));
    this.baseline ??= await this.counters();
    return this.daemon;
  }

  /** SIGKILL: nothing of the daemon runs afterwards, as in an OOM kill. */
  async killDaemon(): Promise<void> {
    await this.daemon?.stop('SIGKILL');
    this.daemon = null;
  }

  /** The daemon is still the process we started: it neither exited nor died of a signal. */
  alive(): boolean {
    const p = this.daemon?.proc;
    return !!p && p.exitCode === null && p.signalCode === null;
  }

  hook(name: string, op: string, sub: string, xml: string): { status: number | null; stdout: string; stderr: string } {
    return runHookAsLibvirt([name, op, sub, '-'], xml, { DIRECTFLIP_BUS_ADDRESS: this.bus.address, DIRECTFLIP_RUN_DIR: this.runDir, DIRECTFLIP_TIMEOUT_MS: '5000' });
  }

  /** prepare → start → started through the shim, each exiting 0 with nothing on stdout or stderr. */
  startGuest(name: string, xml: string): void {
    for (const [op, sub] of [['prepare', 'begin'], ['start', 'begin'], ['started', 'begin']]) {
      const r = this.hook(name, op, sub, xml);
      expect([name, op, r.status, r.stdout, r.stderr]).toEqual([name, op, 0, '', '']);
    }
  }

  /** stopped → release through the shim: both exit 0 whatever happened before. */
  stopGuest(name: string, xml: string): void {
    for (const [op, sub] of [['stopped', 'end'], ['release', 'end']]) {
      const r = this.hook(name, op, sub, xml);
      expect([name, op, r.status, r.stdout]).toEqual([name, op, 0, '']);
    }
  }

  /** `release end`, the hook libvirt runs last for a guest (and after a failed start): always exit 0. */
  release(name: string, xml: string): void {
    const r = this.hook(name, 'release', 'end', xml);
    expect([name, r.status, r.stdout]).toEqual([name, 0, '']);
  }

  /** Prepare and Activate over D-Bus, as the hook does but without a process each (for set-up). */
  async up(name: string, xml: string): Promise<void> {
    expect((await this.call('Prepare', 'ss', [name, xml]))[0]).toBe('prepared');
    expect((await this.call('Activate', 'ss', [name, xml]))[0]).toBe('active');
  }

  /** Release over D-Bus (for tear-down). */
  async down(name: string, xml: string): Promise<void> {
    expect((await this.call('Release', 'sss', [name, xml, 'destroyed']))[0]).toBe('released');
  }

  call(member: string, signature: string, body: unknown[], timeoutMs = 10_000): Promise<unknown[]> {
    return callManager(this.bus.address, member, signature, body, timeoutMs);
  }

  async status(): Promise<StatusRow[]> {
    return (await this.call('Status', '', []))[0] as StatusRow[];
  }

  /** Domain name → state, sorted: what status says, in one comparable value. */
  async states(): Promise<[string, string][]> {
    return (await this.status()).map((d): [string, string] => [d[0], d[1]]).sort((a, b) => a[0].localeCompare(b[0]));
  }

  screenshot(connector: string): Promise<Buffer> {
    return simScreenshotOf(this.bus.address, connector, 10_000);
  }

  /**
   * One connection for many Manager calls (the 100-cycle test makes 1200): what a busy caller
   * does, without a new bus connection per call.
   */
  async client(): Promise<{ call(member: string, signature: string, body: unknown[]): Promise<unknown[]>; close(): void }> {
    const dbus = await import('dbus-next');
    const bus = await connectBus(this.bus.address, 5000);
    return {
      call: async (member, signature, body) => {
        const msg = new dbus.Message({ destination: BUS_NAME, path: OBJECT_PATH, interface: MANAGER_IFACE, member, signature, body });
        return (await withTimeout(bus.call(msg), 10_000, `directflipd ${member}`))?.body ?? [];
      },
      close: () => bus.disconnect(),
    };
  }

  /** A call on the io.github.directflip1.Simulator interface (the simulated kernel's test controls). */
  async sim(member: string, signature: string, body: unknown[]): Promise<unknown[]> {
    const dbus = await import('dbus-next');
    const bus = await connectBus(this.bus.address, 5000);
    try {
      const reply = await withTimeout(bus.call(new dbus.Message({ destination: BUS_NAME, path: OBJECT_PATH, interface: SIMULATOR_IFACE, member, signature, body })), 10_000, `Simulator.${member}`);
      return reply?.body ?? [];
    } finally {
      bus.disconnect();
    }
  }

  /** Every property of every KMS object of the simulated card, blobs by their bytes (Simulator.DumpProperties). */
  async dump(): Promise<Record<string, Record<string, string>>> {
    return JSON.parse((await this.sim('DumpProperties', '', []))[0] as string);
  }

  /** Polls `probe` until it returns something (100 ms apart, up to `tries`); the last value either way. */
  async until<T>(probe: () => Promise<T | null | undefined | false>, tries = 100): Promise<T | null> {
    for (let i = 0; i < tries; i++) {
      const v = await probe().catch(() => null);
      if (v) return v;
      await new Promise((r) => setTimeout(r, 100));
    }
    return null;
  }

  /** No daemon of this rig crashed: none logged an internal error or a stack, none exited on its own. */
  expectNoCrash(): void {
    for (const d of this.daemons) {
      expect(d.log()).not.toMatch(/Error\.Internal|^\s+at .+:\d+:\d+\)?$|uncaught|unhandled/im);
      if (d !== this.daemon) continue;
      expect([d.proc.exitCode, d.proc.signalCode]).toEqual([null, null]);
    }
  }

  /**
   * What the case left behind, measured once every guest is released: the daemon's open fds
   * against the first daemon's when it was ready and idle (a restarted daemon starts the same
   * way, so any difference is kept by the work done), and the RSS the current daemon gained since
   * it was ready (memory is not comparable across processes); the card's fbs and GEM handles
   * against the counts when the first daemon was ready.
   */
  async leaks(): Promise<FaultRecord['leaks']> {
    const now = procStats(this.pid);
    // The simulated kernel outlives daemon processes on the root, so its counts compare across them.
    const [fbs, gem] = await this.counters();
    return {
      fds: now.fds - this.ready[0].fds, fbs: fbs - this.baseline![0], gem: gem - this.baseline![1],
      rssKiB: now.rssKiB - this.ready[this.ready.length - 1].rssKiB,
    };
  }

  /** Simulator.Counters: the card's fbs and the GEM handles open files hold. */
  async counters(): Promise<[number, number]> {
    const [fbs, gem] = await this.sim('Counters', '', []);
    return [fbs as number, gem as number];
  }

  async stop(): Promise<void> {
    for (const d of this.daemons) await d.stop('SIGKILL');
    await this.bus.stop();
    rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * Runs one fault case and records it for the robustness table: survived only when every
 * assertion held; the leak numbers are the case's own measurements.
 */
export async function faultCase(fault: string, run: () => Promise<Omit<FaultRecord, 'fault' | 'survived'>>): Promise<void> {
  let rec: FaultRecord = { fault, survived: false, restoredByteForByte: false, leaks: { fds: 0, fbs: null, gem: null, rssKiB: 0 } };
  try {
    rec = { fault, survived: true, ...(await run()) };
  } finally {
    reportFault(fault, rec);
  }
}

