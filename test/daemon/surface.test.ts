import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dbus from 'dbus-next';
import { MethodTable } from '../../src/daemon/bus-methods';
import { escapeLogText, formatLogLine } from '../../src/daemon/log';
import type { Logger } from '../../src/daemon/log';
import { introspectionXml } from '../../src/daemon/names';
import { RefusalLog } from '../../src/daemon/refusal-log';
import { NobodyScript } from '../helpers/as-nobody';
import { startBus, startDaemon } from '../helpers/bus';
import type { DaemonProc } from '../helpers/bus';
import { STACK_RE } from '../helpers/cli';
import { REPO } from '../helpers/fixtures';
import { reportBadInputs } from '../helpers/report';

jest.setTimeout(60_000);

const DEST = { destination: 'io.github.directflip1', path: '/io/github/directflip1' };
const kioskXml = readFileSync(join(REPO, 'examples', 'gvt-kiosk-hdmi.xml'), 'utf8');

describe('log lines', () => {
  test('a field or message cannot end the line, forge another, or reach the terminal raw', () => {
    const line = formatLogLine('info', 'evil\n<3>domain=forged x', 'released (a\x1b[31m\r\n<3>forged\u2028\x00\x9b)');
    expect(line.split('\n')).toEqual([expect.any(String), '']);
    expect(line).toBe('<6>domain="evil\\n<3>domain=forged x" released (a\\x1b[31m\\r\\n<3>forged\\u2028\\x00\\x9b)\n');
    // Every byte but the final newline is printable ASCII here, so nothing can move a cursor.
    expect(line.slice(0, -1)).toMatch(/^[\x20-\x7e]*$/);
  });

  test('escapes are unambiguous: a backslash, a quote and an empty name read back as what they were', () => {
    expect(escapeLogText('a\\nb')).toBe('a\\\\nb');
    expect(formatLogLine('warning', '', 'x', { uid: 65534, who: 'say "hi"' })).toBe('<4>domain="" uid=65534 who="say \\"hi\\"" x\n');
  });
});

describe('refusals are rate-limited per caller uid', () => {
  function rig() {
    let t = 0;
    const lines: string[] = [];
    const timers: (() => void)[] = [];
    const log: Logger = (level, domain, message, fields) => lines.push(formatLogLine(level, domain, message, fields));
    const r = new RefusalLog(log, 10_000, () => t, (f) => (timers.push(f), null));
    const refuse = (uid: number, pid: number) => r.note({ uid, pid, sender: ':1.9', call: 'io.github.directflip1.Manager.Status', error: 'AccessDenied', message: 'no' });
    return { r, lines, timers, refuse, at: (ms: number) => (t = ms) };
  }

  test('one line per uid per 10 s, then the count of those not logged', () => {
    const { lines, timers, refuse, at } = rig();
    for (let i = 0; i < 50; i++) refuse(1000, 100 + i);
    refuse(1001, 7);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^<4>uid=1000 pid=100 sender=:1\.9 refused io\.github\.directflip1\.Manager\.Status: AccessDenied: no\n$/);
    expect(lines[1]).toMatch(/^<4>uid=1001 pid=7 /);
    at(10_000);
    timers.forEach((f) => f());
    expect(lines[2]).toBe('<4>49 more refusals of uid 1000 in 10 s not logged one by one\n');
    refuse(1000, 200);
    expect(lines[3]).toMatch(/^<4>uid=1000 pid=200 /);
  });

  test('a new window after the old one closed logs at once; flush says what is pending', () => {
    const { r, lines, refuse, at } = rig();
    refuse(5, 1);
    refuse(5, 2);
    at(25_000);
    refuse(5, 3);
    expect(lines.map((l) => l.slice(0, 33))).toEqual(['<4>uid=5 pid=1 sender=:1.9 refuse', '<4>1 more refusal of uid 5 in 10 ', '<4>uid=5 pid=3 sender=:1.9 refuse']);
    refuse(5, 4);
    r.flush();
    expect(lines[3]).toBe('<4>1 more refusal of uid 5 in 10 s not logged one by one\n');
  });
});

describe('a running daemon', () => {
  let bus: ReturnType<typeof startBus>;
  let root: string;
  let daemon: DaemonProc;
  let client: dbus.MessageBus;

  beforeAll(async () => {
    bus = startBus();
    root = mkdtempSync(join(tmpdir(), 'directflip-root-'));
    daemon = await startDaemon(bus.address, 'sim:gvt-skylake', root);
    client = dbus.sessionBus({ busAddress: bus.address });
  });
  afterAll(async () => {
    client?.disconnect();
    await daemon?.stop('SIGKILL');
    bus?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  /** The daemon writes its log line before it replies, but the pipe may deliver it a little later. */
  function logged(re: RegExp): Promise<void> {
    if (re.test(daemon.log())) return Promise.resolve();
    return new Promise((res, reject) => {
      const timer = setTimeout(() => reject(new Error(`the daemon never logged ${re}:\n${daemon.log()}`)), 10_000);
      const on = () => {
        if (!re.test(daemon.log())) return;
        clearTimeout(timer);
        daemon.proc.stderr!.off('data', on);
        res();
      };
      daemon.proc.stderr!.on('data', on);
    });
  }

  async function call(iface: string, member: string, signature: string, body: unknown[]): Promise<{ name: string; text: string } | unknown[]> {
    try {
      return (await client.call(new dbus.Message({ ...DEST, interface: iface, member, signature, body })))!.body;
    } catch (e) {
      const err = e as { type?: string; text?: string };
      if (!err.type) throw e;
      return { name: err.type, text: err.text ?? '' };
    }
  }

  test('every method refuses a wrong signature with InvalidArgs naming the method, what it takes and what it got', async () => {
    const specs = new MethodTable(introspectionXml(), { simulator: true }).all();
    expect(specs.map((s) => s.member)).toEqual(expect.arrayContaining(['Prepare', 'Activate', 'Release', 'Reconnect', 'Status', 'Streams', 'Screenshot', 'Get']));
    let inputs = 0;
    for (const s of specs) {
      const wrong: [string, unknown[]][] = [['u', [7]], ['as', [['a', 'b']]]];
      // The declared signatures are of single-character types: a value of each.
      const sample = (t: string) => (t === 'v' ? new dbus.Variant('s', 'x') : 'ybnqiuxtd'.includes(t) ? (t === 'x' || t === 't' ? 1n : 1) : 'x');
      if (s.in) wrong.push(['', []], [`${s.in}s`, [...s.in.split('').map(sample), 'extra']]);
      for (const [sig, body] of wrong) {
        if (sig === s.in) continue;
        inputs++;
        const r = await call(s.iface, s.member, sig, body);
        expect(r).toEqual({ name: 'org.freedesktop.DBus.Error.InvalidArgs', text: `${s.iface}.${s.member} takes signature "${s.in}", but the call has "${sig}": pass exactly those arguments` });
      }
    }
    reportBadInputs('dbus-signatures', { suite: 'dbus-signatures', inputs });
    // Still serving, and each refusal went to the log with who asked (this process, as root).
    expect(await call('io.github.directflip1.Manager', 'Status', '', [])).toEqual([[]]);
    expect(daemon.log()).toMatch(new RegExp(`<4>uid=0 pid=${process.pid} sender=:\\S+ refused io\\.github\\.directflip1\\.Manager\\.\\w+: org\\.freedesktop\\.DBus\\.Error\\.InvalidArgs: `));
  });

  test('Screenshot of a connector the card lacks is UnknownConnector, listing the real ones, with no stack', async () => {
    const r = await call('io.github.directflip1.Simulator', 'Screenshot', 's', ['HDMI-Z-9\n  at evil (x.js:1:1)']);
    expect(r).toEqual({ name: 'io.github.directflip1.Error.UnknownConnector', text: expect.stringMatching(/^no connector "HDMI-Z-9\\n  at evil \(x\.js:1:1\)" on the simulated card; it has .*HDMI-A-1/) });
    expect((r as { text: string }).text).not.toMatch(STACK_RE);
    expect(daemon.log()).not.toMatch(STACK_RE);
  });

  test('unknown objects, interfaces, methods and properties are the standard errors', async () => {
    expect(await call('io.github.directflip1.Manager', 'Explode', '', [])).toMatchObject({ name: 'org.freedesktop.DBus.Error.UnknownMethod' });
    expect(await call('com.example.Nope', 'Status', '', [])).toMatchObject({ name: 'org.freedesktop.DBus.Error.UnknownInterface' });
    expect(await call('org.freedesktop.DBus.Properties', 'Get', 'ss', ['io.github.directflip1.Manager', 'Nope'])).toMatchObject({ name: 'org.freedesktop.DBus.Error.UnknownProperty' });
    expect(await call('org.freedesktop.DBus.Properties', 'Set', 'ssv', ['io.github.directflip1.Manager', 'Version', new dbus.Variant('s', '9')])).toMatchObject({ name: 'org.freedesktop.DBus.Error.PropertyReadOnly' });
    const other = await client.call(new dbus.Message({ destination: DEST.destination, path: '/elsewhere', interface: 'io.github.directflip1.Manager', member: 'Status' })).catch((e) => e.type);
    expect(other).toBe('org.freedesktop.DBus.Error.UnknownObject');
    const top = await client.call(new dbus.Message({ destination: DEST.destination, path: '/', interface: 'org.freedesktop.DBus.Introspectable', member: 'Introspect' }));
    expect(top!.body[0]).toBe('<node><node name="io"/></node>');
    expect(((await call('org.freedesktop.DBus.Properties', 'GetAll', 's', ['io.github.directflip1.Manager'])) as [Record<string, { value: string }>])[0].Host.value).toBe('sim:gvt-skylake');
  });

  test('a domain name or reason with newlines and escape codes cannot forge a log line', async () => {
    const evil = 'kiosk\n<3>domain=forged'; // as XML: a character reference for the newline
    const xml = kioskXml.replace('<name>kiosk-hdmi</name>', '<name>kiosk&#10;&lt;3&gt;domain=forged</name>');
    const prepared = await call('io.github.directflip1.Manager', 'Prepare', 'ss', [evil, xml]);
    expect((prepared as unknown[])[0]).toBe('prepared');
    await call('io.github.directflip1.Manager', 'Release', 'sss', [evil, xml, 'end\x1b[2J\n<3>also forged']);
    await logged(/released \(end/);
    const lines = daemon.log().split('\n');
    expect(lines.filter((l) => /forged/.test(l) && !/^<\d>domain="kiosk\\n<3>domain=forged" /.test(l))).toEqual([]);
    expect(lines.some((l) => l.includes('released (end\\x1b[2J\\n<3>also forged)'))).toBe(true);
    expect(lines.filter((l) => l.startsWith('<3>'))).toEqual([]);
    reportBadInputs('log-forgery', { suite: 'log-forgery', inputs: 2 });
  });

  test('a caller that is not root is refused, and logged with its uid and pid once per window', async () => {
    const script = new NobodyScript(`
      const dbus = require('dbus-next');
      (async () => {
        const bus = dbus.sessionBus({ busAddress: process.argv[2] });
        const names = [];
        for (let i = 0; i < 20; i++) {
          await bus.call(new dbus.Message({ destination: 'io.github.directflip1', path: '/io/github/directflip1', interface: 'io.github.directflip1.Manager', member: 'Status' }))
            .then(() => names.push('answered'), (e) => names.push(e.type));
        }
        console.log(JSON.stringify({ pid: process.pid, names: [...new Set(names)] }));
        bus.disconnect();
      })();`);
    try {
      const r = await script.run([bus.address]);
      const out = JSON.parse(r.stdout);
      expect(out.names).toEqual(['io.github.directflip1.Error.AccessDenied']);
      await logged(/<4>uid=65534 /);
      const refusals = daemon.log().split('\n').filter((l) => l.startsWith('<4>uid=65534 '));
      expect(refusals.length).toBeGreaterThanOrEqual(1);
      expect(refusals.length).toBeLessThan(20);
      reportBadInputs('dbus-non-root-calls', { suite: 'dbus-non-root-calls', inputs: 20 });
      expect(refusals[0]).toMatch(new RegExp(`^<4>uid=65534 pid=${out.pid} sender=:\\S+ refused io\\.github\\.directflip1\\.Manager\\.Status: io\\.github\\.directflip1\\.Error\\.AccessDenied: directflipd answers only root`));
    } finally {
      script.remove();
    }
  });
});
