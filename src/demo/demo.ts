import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callManager, simScreenshotOf } from '../daemon/client';
import { decodePng, distinctColours } from '../util/png';
import { REPO_ROOT, runHookAsLibvirt, startBus, startDaemon } from './processes';

export interface DemoStep {
  domain: string;
  op: string;
  status: number | null;
  stderr: string;
}

export interface DemoResult {
  host: string;
  out: string;
  steps: DemoStep[];
  pictures: { file: string; domain: string; connector: string; when: string }[];
  restoredExactly: boolean;
  seconds: number;
}

const HOST = 'sim:gvt-skylake-directflip';
interface Guest {
  domain: string;
  file: string;
  what: string;
  shoot: string[];
  /** A real QEMU (TCG, firmware only) on its own bus, as libvirt runs it for <graphics type='dbus'/>. */
  qemu?: boolean;
}
const GUESTS: Guest[] = [
  { domain: 'kiosk-hdmi', file: 'gvt-kiosk-hdmi.xml', what: 'a GVT-g kiosk, primary and cursor planes onto HDMI-A-1', shoot: ['HDMI-A-1'] },
  { domain: 'dual-head', file: 'two-outputs.xml', what: 'one guest on HDMI-A-1 and on DP-1, which it switches on', shoot: ['DP-1'] },
  {
    domain: 'df-tcg-vga', file: 'tcg-vga-dbus.xml', qemu: true, shoot: ['HDMI-A-1'],
    what: "a real QEMU (TCG, firmware only): its VGA console, read from QEMU's D-Bus display, shown 1:1 on an HDMI-A-1 overlay",
  },
];
const QEMU = 'qemu-system-x86_64';
const LIFECYCLE: [string, string][] = [['prepare', 'begin'], ['start', 'begin'], ['started', 'begin'], ['stopped', 'end'], ['release', 'end']];

const screenshot = (address: string, connector: string) => simScreenshotOf(address, connector, 10_000);

/**
 * directflip's main job on a simulated host: a private dbus-daemon, directflipd, and libvirt's
 * hook run exactly as libvirt runs it through a guest's whole life, with pictures of the host
 * monitor before, during and after. Everything it starts is stopped again, even on failure.
 */
export async function runDemo(outDir: string, say: (line: string) => void, opts: { onInterrupt?: (cleanup: () => Promise<void>) => () => void } = {}): Promise<DemoResult> {
  const t0 = Date.now();
  mkdirSync(outDir, { recursive: true });
  const root = mkdtempSync(join(tmpdir(), 'directflip-demo-'));
  let bus: ReturnType<typeof startBus> | undefined;
  let daemon: Awaited<ReturnType<typeof startDaemon>> | undefined;
  let vm: QemuGuest | null = null;
  // Once, whoever asks first: the end of the run, or an interrupt in the middle of it.
  let stopped: Promise<void> | undefined;
  const stopAll = () =>
    (stopped ??= (async () => {
      vm?.stop();
      await daemon?.stop();
      bus?.stop();
      rmSync(root, { recursive: true, force: true });
    })());
  const unregister = opts.onInterrupt?.(stopAll) ?? (() => undefined);
  const steps: DemoStep[] = [];
  const pictures: DemoResult['pictures'] = [];
  try {
    bus = startBus();
    const address = bus.address;
    say(`▶ starting a private D-Bus and directflipd on the simulated host ${HOST}`);
    daemon = await startDaemon(address, HOST, root);
    const env = { DIRECTFLIP_BUS_ADDRESS: address, DIRECTFLIP_RUN_DIR: join(root, 'run/directflip') };
    const shots: Record<string, Buffer> = {};
    const shoot = async (domain: string, connector: string, when: string) => {
      const png = await screenshot(address, connector);
      const file = join(outDir, `${domain}-${connector}-${when}.png`);
      writeFileSync(file, png);
      pictures.push({ file, domain, connector, when });
      shots[`${domain}/${connector}/${when}`] = png;
      say(`  📷 ${connector} ${when}: ${file}`);
    };
    let restoredExactly = true;
    for (const g of GUESTS) {
      let xml = readFileSync(join(REPO_ROOT, 'examples', g.file), 'utf8');
      say(`▶ guest ${g.domain} (examples/${g.file}): ${g.what}`);
      // The libvirt lane shows this guest on vkms; here the simulated Skylake's HDMI-A-1 takes it.
      if (g.qemu) xml = xml.replace(/connector="Virtual-1" card="[^"]*" mode="[^"]*"/, 'connector="HDMI-A-1"');
      vm = g.qemu ? new QemuGuest() : null;
      try {
        for (const c of g.shoot) await shoot(g.domain, c, 'before');
        for (const [op, sub] of LIFECYCLE) {
          // libvirt starts QEMU between prepare and start; from start on the live XML names its bus.
          if (vm && op === 'start') xml = vm.start(xml);
          const r = runHookAsLibvirt([g.domain, op, sub, '-'], xml, env);
          steps.push({ domain: g.domain, op, status: r.status, stderr: r.stderr });
          say(`  hook ${g.domain} ${op} ${sub} -  → exit ${r.status}${r.stderr ? `: ${r.stderr.trim()}` : ''}`);
          if (r.status !== 0) throw new Error(`the ${op} hook failed: ${r.stderr.trim()}`);
          if (op === 'started') {
            if (vm) say(`    ${await vm.waitForFirmware(address, g.shoot[0])}`);
            for (const line of describeStatus(await callManager(address, 'Status', '', [], 10_000))) say(`    ${line}`);
            for (const c of g.shoot) await shoot(g.domain, c, 'during');
          }
        }
      } finally {
        vm?.stop();
        vm = null;
      }
      for (const c of g.shoot) {
        await shoot(g.domain, c, 'after');
        const same = shots[`${g.domain}/${c}/before`].equals(shots[`${g.domain}/${c}/after`]);
        restoredExactly &&= same;
        say(same ? `✔ ${c} after release is pixel for pixel what it showed before` : `✘ ${c} differs after release`);
      }
    }
    const log = daemon.log().trim().split('\n').filter((l) => /domain=/.test(l));
    say('▶ what directflipd logged');
    for (const l of log) say(`    ${l}`);
    return { host: HOST, out: outDir, steps, pictures, restoredExactly, seconds: (Date.now() - t0) / 1000 };
  } finally {
    unregister();
    await stopAll();
  }
}

/** A firmware-only QEMU on a private bus, as libvirt runs one for a domain with a D-Bus display. */
class QemuGuest {
  private bus: ReturnType<typeof startBus> | null = null;
  private proc: ChildProcess | null = null;

  /** Starts QEMU; returns the live XML, which now names its bus. */
  start(xml: string): string {
    if (spawnSync(QEMU, ['--version']).status !== 0) throw new Error(`${QEMU} is not installed: scripts/setup.sh installs Debian's qemu-system-x86`);
    this.bus = startBus();
    // TCG explicitly: /dev/kvm on these machines hangs guests.
    this.proc = spawn(QEMU, ['-accel', 'tcg', '-m', '64', '-nodefaults', '-vga', 'std', '-display', `dbus,addr=${this.bus.address}`, '-monitor', 'none', '-serial', 'none'], { stdio: 'ignore' });
    return xml.replace("<graphics type='dbus'/>", `<graphics type='dbus' address='${this.bus.address}'/>`);
  }

  /** Waits until frames flip and the firmware's text is on the monitor (SeaBIOS under TCG: 1–2 s). */
  async waitForFirmware(address: string, connector: string): Promise<string> {
    let last = 'no stream yet';
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const rows = (await callManager(address, 'Streams', '', [], 10_000))[0] as [string, string, string, string, string, number, number, number, bigint][];
      const s = rows[0];
      if (!s) continue;
      last = `stream ${s[1]}: ${s[3]}, ${s[4]}; ${s[5]} frames received, ${s[6]} flipped, ${s[8]} bytes copied`;
      if (s[3] === 'failed') throw new Error(last);
      if (s[6] > 0 && distinctColours(decodePng(await screenshot(address, connector)), 0, 0, 200, 16) >= 2) return last;
    }
    throw new Error(`no firmware screen from QEMU within 10 s: ${last}`);
  }

  stop(): void {
    this.proc?.kill('SIGKILL');
    this.bus?.stop();
    this.proc = null;
    this.bus = null;
  }
}

function describeStatus(body: unknown[]): string[] {
  const domains = body[0] as [string, string, [string, string, number, number, string, string, string, number[], number][], string[]][];
  return domains.flatMap(([d, state, planes]) =>
    planes.map(([conn, mode, crtc, plane, type, from, , dst]) => `${d} ${state}: ${conn} ${mode} CRTC ${crtc}, plane ${plane} (${type}) ← guest ${from}, ${dst[2]}x${dst[3]}+${dst[0]}+${dst[1]}`),
  );
}
