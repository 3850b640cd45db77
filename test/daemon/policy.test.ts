import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dbus from 'dbus-next';
import { NOBODY, NobodyScript } from '../helpers/as-nobody';
import { startDaemon } from '../helpers/bus';
import type { DaemonProc } from '../helpers/bus';
import { REPO } from '../helpers/fixtures';
import { reportBadInputs } from '../helpers/report';
import { startSystemLikeBus } from '../helpers/system-bus';

jest.setTimeout(60_000);

const kioskXml = readFileSync(join(REPO, 'examples', 'gvt-kiosk-hdmi.xml'), 'utf8');

/**
 * uid nobody on the bus: subscribes to every signal (plainly and as an eavesdropper), tries to
 * become a monitor and to call the daemon, says `ready`, and on `check` (after a round trip to
 * the bus, so everything sent to it before has arrived) prints what it saw.
 */
const WATCHER = `
const dbus = require('dbus-next');
const bus = dbus.sessionBus({ busAddress: process.argv[2] });
const seen = [];
bus.on('message', (m) => { if (m.sender !== 'org.freedesktop.DBus') seen.push({ type: m.type, sender: m.sender, iface: m.interface, member: m.member, body: m.body }); });
const driver = (member, signature, body, b = bus) => b.call(new dbus.Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member, signature, body }));
const errName = (p) => p.then(() => 'allowed', (e) => e.type || e.message);
bus.on('connect', async () => {
  await driver('AddMatch', 's', ["type='signal'"]);
  await driver('AddMatch', 's', ["sender='io.github.directflip1'"]);
  const eavesdrop = await errName(driver('AddMatch', 's', ["type='signal',eavesdrop='true'"]));
  const other = dbus.sessionBus({ busAddress: process.argv[2] });
  const monitor = await errName(other.call(new dbus.Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus.Monitoring', member: 'BecomeMonitor', signature: 'asu', body: [[], 0] })));
  other.disconnect();
  const own = await errName(driver('RequestName', 'su', ['io.github.directflip1', 4]));
  const status = await errName(bus.call(new dbus.Message({ destination: 'io.github.directflip1', path: '/io/github/directflip1', interface: 'io.github.directflip1.Manager', member: 'Status' })));
  process.stdout.write('ready\\n');
  process.stdin.once('data', async () => {
    await driver('GetId', '', []);
    process.stdout.write(JSON.stringify({ seen, eavesdrop, monitor, status, own }) + '\\n');
    bus.disconnect();
  });
});`;

/** Everything a process prints, kept from its start, so nothing said between two waits is lost. */
function output(p: ChildProcess): { text: () => string; until: (re: RegExp) => Promise<string> } {
  let out = '';
  const waiters: (() => void)[] = [];
  p.stdout!.on('data', (d) => {
    out += d;
    waiters.forEach((w) => w());
  });
  return {
    text: () => out,
    until: (re) =>
      new Promise((res, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${re} within 20 s; got: ${out}`)), 20_000);
        const check = () => {
          const m = out.match(re);
          if (!m) return;
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(check), 1);
          res(m[0]);
        };
        waiters.push(check);
        check();
      }),
  };
}

describe('on a bus configured like the system bus, with the shipped policy', () => {
  let bus: ReturnType<typeof startSystemLikeBus>;
  let root: string;
  let daemon: DaemonProc | undefined;
  let watcher: NobodyScript;

  beforeAll(() => {
    watcher = new NobodyScript(WATCHER);
  });
  afterAll(() => watcher.remove());
  beforeEach(async () => {
    bus = startSystemLikeBus();
    root = mkdtempSync(join(tmpdir(), 'directflip-root-'));
    daemon = await startDaemon(bus.address, 'sim:gvt-skylake', root);
  });
  afterEach(async () => {
    await daemon?.stop('SIGKILL');
    bus.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test('uid nobody hears none of the signals that name domains; root does', async () => {
    const nobodyProc = watcher.spawn([bus.address]);
    const nobody = output(nobodyProc);
    await nobody.until(/ready\n/);
    // `gdbus monitor` as nobody and, as the control, as root: each prints every signal it gets.
    const gdbus = (uid: number) => spawn('gdbus', ['monitor', '--address', bus.address, '--dest', 'io.github.directflip1'], { uid, gid: uid, stdio: ['ignore', 'pipe', 'pipe'] });
    const procs = [gdbus(NOBODY), gdbus(0)];
    const monitors = procs.map(output);
    await Promise.all(monitors.map((m) => m.until(/is owned by/)));

    const rootClient = dbus.sessionBus({ busAddress: bus.address });
    const heard = new Promise<unknown[]>((res) => rootClient.on('message', (m: dbus.Message) => m.member === 'AssignmentChanged' && res(m.body)));
    await rootClient.call(new dbus.Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: ["type='signal',sender='io.github.directflip1'"] }));
    const prepared = await rootClient.call(new dbus.Message({ destination: 'io.github.directflip1', path: '/io/github/directflip1', interface: 'io.github.directflip1.Manager', member: 'Prepare', signature: 'ss', body: ['kiosk-hdmi', kioskXml] }));
    expect(prepared!.body[0]).toBe('prepared');
    expect(await heard).toEqual(['kiosk-hdmi', 'prepared']);
    rootClient.disconnect();

    nobodyProc.stdin!.end('check\n');
    const report = JSON.parse(await nobody.until(/\{.*\}\n/));
    expect(report.seen).toEqual([]);
    expect(report.monitor).toBe('org.freedesktop.DBus.Error.AccessDenied');
    expect(report.status).toBe('org.freedesktop.DBus.Error.AccessDenied');
    expect(report.own).toBe('org.freedesktop.DBus.Error.AccessDenied');
    expect(['allowed', 'org.freedesktop.DBus.Error.AccessDenied']).toContain(report.eavesdrop);

    // The daemon's name going away reaches both monitors after anything it sent before.
    await daemon!.stop('SIGTERM');
    daemon = undefined;
    const [asNobody, asRoot] = await Promise.all(monitors.map((m) => m.until(/[\s\S]*does not have an owner/)));
    procs.forEach((m) => m.kill());
    expect(asRoot).toMatch(/io\.github\.directflip1\.Manager\.AssignmentChanged \('kiosk-hdmi', 'prepared'\)/);
    expect(asNobody).not.toMatch(/AssignmentChanged|kiosk-hdmi/);
    // Tried as nobody: a signal match, a sender match, an eavesdropping match, BecomeMonitor, a call, owning the name, gdbus monitor.
    reportBadInputs('dbus-policy-signals', { suite: 'dbus-policy-signals', inputs: 7 });
  });

  test('a signal in our interface from anyone else reaches no one, not even root', async () => {
    const rootClient = dbus.sessionBus({ busAddress: bus.address });
    const heard: string[] = [];
    rootClient.on('message', (m: dbus.Message) => m.member === 'AssignmentChanged' && heard.push(String(m.body[0])));
    await rootClient.call(new dbus.Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: ["type='signal'"] }));
    const forger = new NobodyScript(`
      const dbus = require('dbus-next');
      const bus = dbus.sessionBus({ busAddress: process.argv[2] });
      bus.on('connect', async () => {
        bus.send(dbus.Message.newSignal('/io/github/directflip1', 'io.github.directflip1.Manager', 'AssignmentChanged', 'ss', ['forged', 'active']));
        await bus.call(new dbus.Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'GetId' }));
        bus.disconnect();
      });`);
    try {
      expect((await forger.run([bus.address])).status).toBe(0);
      // A real one afterwards arrives; the forged one, sent before it, never did.
      await rootClient.call(new dbus.Message({ destination: 'io.github.directflip1', path: '/io/github/directflip1', interface: 'io.github.directflip1.Manager', member: 'Prepare', signature: 'ss', body: ['kiosk-hdmi', kioskXml] }));
      await rootClient.call(new dbus.Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'GetId' }));
      expect(heard).toEqual(['kiosk-hdmi']);
      reportBadInputs('dbus-policy-forged-signal', { suite: 'dbus-policy-forged-signal', inputs: 1 });
    } finally {
      forger.remove();
      rootClient.disconnect();
    }
  });
});
