import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SysPaths } from '../../src/sys/paths';
import { writeProcess } from '../../src/sys/fake-userspace';
import { runCli } from '../helpers/cli';
import type { DoctorReport } from '../../src/doctor/run';

/** `doctor --json` on a simulated host kept on `root`, as an admin runs it. */
export function doctor(profile: string, root: string, files: string[] = []): { status: number | null; report: DoctorReport; stdout: string } {
  const r = runCli(['doctor', '--json', '--host', `sim:${profile}`, '--root', root, ...files]);
  return { status: r.status, report: JSON.parse(r.stdout) as DoctorReport, stdout: r.stdout };
}

/** The commands a fix names, in backticks, in order. */
export function commandsOf(fix: string): string[] {
  return [...fix.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
}

/**
 * What each command does to a simulated host on `root`, as it would on a real one: only the
 * commands doctor's fixes name. An unknown command throws, so a fix the simulator cannot follow
 * fails the test that tries.
 */
export class SimShell {
  private readonly sys: SysPaths;
  private readonly buses: number[] = [];
  private restarts = 0;

  constructor(readonly root: string) {
    this.sys = new SysPaths(root);
  }

  run(cmd: string): void {
    let m: RegExpExecArray | null;
    if ((m = /^directflip install --prefix (\S+)$/.exec(cmd))) {
      const r = runCli(['install', '--prefix', m[1]]);
      if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
    } else if (cmd === 'systemctl start dbus') {
      this.startSystemBus();
    } else if ((m = /^systemctl restart (libvirtd|virtqemud)$/.exec(cmd))) {
      this.restart(m[1]);
    } else if ((m = /^kill ((?:\d+ ?)+)$/.exec(cmd))) {
      for (const pid of m[1].trim().split(' ')) {
        if (!existsSync(this.sys.at('proc', pid))) throw new Error(`${cmd}: no process ${pid}`);
        rmSync(this.sys.at('proc', pid), { recursive: true, force: true });
      }
    } else if ((m = /^echo '?([^'>]+?)'? > (\/etc\/\S+)$/.exec(cmd))) {
      const p = this.sys.at(m[2].slice(1));
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, `${m[1]}\n`);
    } else if (cmd === 'update-initramfs -u') {
      // the next boot (the next open of the simulated host) reads /etc/modprobe.d itself
    } else if ((m = /^modprobe (\w+)$/.exec(cmd))) {
      this.modprobe(m[1]);
    } else {
      throw new Error(`the simulated host cannot follow \`${cmd}\``);
    }
  }

  /** modprobe finds a module by modules.dep, and /proc/modules lists it once loaded. */
  private modprobe(name: string): void {
    const release = readFileSync(this.sys.at('proc/sys/kernel/osrelease'), 'utf8').trim();
    const dep = readFileSync(this.sys.at('lib/modules', release, 'modules.dep'), 'utf8');
    if (!new RegExp(`/${name}\\.ko:`).test(dep)) throw new Error(`modprobe: FATAL: Module ${name} not found in directory /lib/modules/${release}`);
    appendFileSync(this.sys.at('proc/modules'), `${name} 16384 0 - Live 0x0000000000000000\n`);
  }

  /** A restarted daemon is a new process started now. */
  private restart(comm: string): void {
    const proc = this.sys.at('proc');
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync(join(proc, 'stat'), 'utf8'))![1]);
    for (const pid of spawnSync('ls', [proc], { encoding: 'utf8' }).stdout.split('\n').filter((d) => /^\d+$/.test(d))) {
      if (readFileSync(join(proc, pid, 'comm'), 'utf8').trim() === comm) rmSync(join(proc, pid), { recursive: true, force: true });
    }
    writeProcess(this.sys, 900 + this.restarts++, comm, Math.ceil(Date.now() / 1000 - btime) + 1, []);
  }

  /** The host's system bus, at /run/dbus/system_bus_socket under the root. */
  private startSystemBus(): void {
    const socket = this.sys.at('run/dbus/system_bus_socket');
    mkdirSync(dirname(socket), { recursive: true });
    const conf = this.sys.at('run/dbus/system.conf');
    writeFileSync(conf, `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=${socket}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/></policy></busconfig>`);
    const r = spawnSync('dbus-daemon', [`--config-file=${conf}`, '--fork', '--print-pid'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`dbus-daemon did not start: ${r.stderr}`);
    this.buses.push(Number(r.stdout.trim()));
  }

  stop(): void {
    for (const pid of this.buses) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // gone already
      }
    }
  }
}
