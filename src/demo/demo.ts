import * as dbus from 'dbus-next';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callManager } from '../daemon/client';
import { BUS_NAME, OBJECT_PATH } from '../daemon/names';
import { SIMULATOR_IFACE } from '../daemon/service';
import { withTimeout } from '../daemon/timeout';
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
  pictures: { file: string; connector: string; when: string }[];
  restoredExactly: boolean;
  seconds: number;
}

const HOST = 'sim:gvt-skylake-directflip';
const GUESTS = [
  { domain: 'kiosk-hdmi', file: 'gvt-kiosk-hdmi.xml', what: 'a GVT-g kiosk, primary and cursor planes onto HDMI-A-1', shoot: ['HDMI-A-1'] },
  { domain: 'dual-head', file: 'two-outputs.xml', what: 'one guest on HDMI-A-1 and on DP-1, which it switches on', shoot: ['DP-1'] },
];
const LIFECYCLE: [string, string][] = [['prepare', 'begin'], ['start', 'begin'], ['started', 'begin'], ['stopped', 'end'], ['release', 'end']];

async function screenshot(address: string, connector: string): Promise<Buffer> {
  const bus = dbus.sessionBus({ busAddress: address });
  try {
    const r = await withTimeout(bus.call(new dbus.Message({ destination: BUS_NAME, path: OBJECT_PATH, interface: SIMULATOR_IFACE, member: 'Screenshot', signature: 's', body: [connector] })), 10_000, 'Screenshot');
    return r!.body[0] as Buffer;
  } finally {
    bus.disconnect();
  }
}

/**
 * directflip's main job on a simulated host: a private dbus-daemon, directflipd, and libvirt's
 * hook run exactly as libvirt runs it through a guest's whole life, with pictures of the host
 * monitor before, during and after. Everything it starts is stopped again, even on failure.
 */
export async function runDemo(outDir: string, say: (line: string) => void): Promise<DemoResult> {
  const t0 = Date.now();
  mkdirSync(outDir, { recursive: true });
  const root = mkdtempSync(join(tmpdir(), 'directflip-demo-'));
  const bus = startBus();
  const steps: DemoStep[] = [];
  const pictures: DemoResult['pictures'] = [];
  let daemon;
  try {
    say(`▶ starting a private D-Bus and directflipd on the simulated host ${HOST}`);
    daemon = await startDaemon(bus.address, HOST, root);
    const env = { DIRECTFLIP_BUS_ADDRESS: bus.address, DIRECTFLIP_RUN_DIR: join(root, 'run/directflip') };
    const shots: Record<string, Buffer> = {};
    const shoot = async (connector: string, when: string) => {
      const png = await screenshot(bus.address, connector);
      const file = join(outDir, `${connector}-${when}.png`);
      writeFileSync(file, png);
      pictures.push({ file, connector, when });
      shots[`${connector}/${when}`] = png;
      say(`  📷 ${connector} ${when}: ${file}`);
    };
    let restoredExactly = true;
    for (const g of GUESTS) {
      const xml = readFileSync(join(REPO_ROOT, 'examples', g.file), 'utf8');
      say(`▶ guest ${g.domain} (examples/${g.file}): ${g.what}`);
      for (const c of g.shoot) await shoot(c, 'before');
      for (const [op, sub] of LIFECYCLE) {
        const r = runHookAsLibvirt([g.domain, op, sub, '-'], xml, env);
        steps.push({ domain: g.domain, op, status: r.status, stderr: r.stderr });
        say(`  hook ${g.domain} ${op} ${sub} -  → exit ${r.status}${r.stderr ? `: ${r.stderr.trim()}` : ''}`);
        if (r.status !== 0) throw new Error(`the ${op} hook failed: ${r.stderr.trim()}`);
        if (op === 'started') {
          for (const line of describeStatus(await callManager(bus.address, 'Status', '', [], 10_000))) say(`    ${line}`);
          for (const c of g.shoot) await shoot(c, 'during');
        }
      }
      for (const c of g.shoot) {
        await shoot(c, 'after');
        const same = shots[`${c}/before`].equals(shots[`${c}/after`]);
        restoredExactly &&= same;
        say(same ? `✔ ${c} after release is pixel for pixel what it showed before` : `✘ ${c} differs after release`);
      }
    }
    const log = daemon.log().trim().split('\n').filter((l) => /domain=/.test(l));
    say('▶ what directflipd logged');
    for (const l of log) say(`    ${l}`);
    return { host: HOST, out: outDir, steps, pictures, restoredExactly, seconds: (Date.now() - t0) / 1000 };
  } finally {
    await daemon?.stop();
    bus.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

function describeStatus(body: unknown[]): string[] {
  const domains = body[0] as [string, string, [string, string, number, number, string, string, string, number[], number][], string[]][];
  return domains.flatMap(([d, state, planes]) =>
    planes.map(([conn, mode, crtc, plane, type, from, , dst]) => `${d} ${state}: ${conn} ${mode} CRTC ${crtc}, plane ${plane} (${type}) ← guest ${from}, ${dst[2]}x${dst[3]}+${dst[0]}+${dst[1]}`),
  );
}
