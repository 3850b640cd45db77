import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callManager, simScreenshotOf } from '../../src/daemon/client';
import type { CallError } from '../../src/daemon/client';
import { runHookAsLibvirt, startDaemon } from '../helpers/bus';
import { BIN } from '../helpers/cli';
import type { DaemonProc } from '../helpers/bus';
import { REPO } from '../helpers/fixtures';
import { restartableBus } from './restartable-bus';

// The daemon, the hook and the dbus-daemon as real processes, tried as a careful admin and a
// hostile caller would.
jest.setTimeout(90_000);

const kioskXml = readFileSync(join(REPO, 'examples', 'gvt-kiosk-hdmi.xml'), 'utf8');
const UUID = '5b0b4c1e-8f4f-4f53-9d4e-2d7c0c0a7a11';
let bus: ReturnType<typeof restartableBus>;
let root: string;
let daemon: DaemonProc | undefined;

beforeEach(() => {
  bus = restartableBus();
  root = mkdtempSync(join(tmpdir(), 'directflip-root-'));
});
afterEach(async () => {
  await daemon?.stop('SIGKILL');
  daemon = undefined;
  bus.stop();
  rmSync(root, { recursive: true, force: true });
});

const runDir = () => join(root, 'run/directflip');
const hook = (args: string[], xml: string) => runHookAsLibvirt(args, xml, { DIRECTFLIP_BUS_ADDRESS: bus.address, DIRECTFLIP_RUN_DIR: runDir(), DIRECTFLIP_TIMEOUT_MS: '5000' });
const status = async () => ((await callManager(bus.address, 'Status', '', [], 5000))[0] as [string, string][]).map((d) => [d[0], d[1]]);
const xmlNamed = (name: string) => kioskXml.replace('<name>kiosk-hdmi</name>', `<name>${name.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</name>`);

/** `directflip daemon` run to its end: exit status and what it said. */
function runDaemonToEnd(): Promise<{ code: number | null; stderr: string }> {
  const p = spawn(process.execPath, [BIN, 'daemon', '--bus', bus.address, '--host', 'sim:gvt-skylake', '--root', root], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  p.stderr!.on('data', (d) => (stderr += d));
  return new Promise((res) => p.once('exit', (code) => res({ code, stderr })));
}

test.each([
  ['spaces', 'my kiosk vm'],
  ['a newline', 'kiosk\nforged'],
  ['300 bytes of non-ASCII', 'ж'.repeat(150)],
])('through the real hook, a name with %s is prepared, shown and released, leaving nothing behind', async (_what, name) => {
  daemon = await startDaemon(bus.address, 'sim:gvt-skylake', root);
  const xml = xmlNamed(name);
  for (const [op, sub] of [['prepare', 'begin'], ['start', 'begin'], ['started', 'begin']]) {
    const r = hook([name, op, sub, '-'], xml);
    expect([r.status, r.stdout, r.stderr]).toEqual([0, '', '']);
  }
  expect(await status()).toEqual([[name, 'active']]);
  expect(readdirSync(join(runDir(), 'domains'))).toEqual([`${UUID}.json`]);
  for (const [op, sub] of [['stopped', 'end'], ['release', 'end']]) expect(hook([name, op, sub, 'destroyed'], xml).status).toBe(0);
  expect(await status()).toEqual([]);
  expect(readdirSync(join(runDir(), 'domains'))).toEqual([]);
});

test("argv's name and the XML's <name> disagreeing fails prepare with a clear message; release still succeeds", async () => {
  daemon = await startDaemon(bus.address, 'sim:gvt-skylake', root);
  const r = hook(['someone-else', 'prepare', 'begin', '-'], kioskXml);
  expect([r.status, r.stdout]).toEqual([1, '']);
  expect(r.stderr).toMatch(/libvirt names the domain "someone-else" but its XML's <name> is "kiosk-hdmi"/);
  // Straight over D-Bus, the daemon refuses it the same way.
  const e = (await callManager(bus.address, 'Prepare', 'ss', ['someone-else', kioskXml], 5000).catch((x: CallError) => x)) as CallError;
  expect(e.dbusName).toBe('org.freedesktop.DBus.Error.InvalidArgs');
  expect(await status()).toEqual([]);
  expect(hook(['someone-else', 'release', 'end', '-'], kioskXml).status).toBe(0);
});

test('Release finds the domain by the UUID in its XML whatever argv says, and by name when the XML is unusable', async () => {
  daemon = await startDaemon(bus.address, 'sim:gvt-skylake', root);
  const show = () => {
    expect(hook(['kiosk-hdmi', 'prepare', 'begin', '-'], kioskXml).status).toBe(0);
    expect(hook(['kiosk-hdmi', 'started', 'begin', '-'], kioskXml).status).toBe(0);
  };
  show();
  expect((await callManager(bus.address, 'Release', 'sss', ['not-its-name', kioskXml, 'destroyed'], 5000))[0]).toBe('released');
  expect(await status()).toEqual([]);
  expect(daemon.log()).toMatch(/release: the caller names the domain "not-its-name" .*going by the uuid/);
  for (const junk of ['', '<domain><name>kiosk-hdmi', 'not xml at all']) {
    show();
    expect((await callManager(bus.address, 'Release', 'sss', ['kiosk-hdmi', junk, 'destroyed'], 5000))[0]).toBe('released');
    expect(await status()).toEqual([]);
  }
  expect(readdirSync(join(runDir(), 'domains'))).toEqual([]);
});

test('a second daemon on the same state exits non-zero naming the first, and touches none of its state', async () => {
  daemon = await startDaemon(bus.address, 'sim:gvt-skylake', root);
  expect(hook(['kiosk-hdmi', 'prepare', 'begin', '-'], kioskXml).status).toBe(0);
  expect(hook(['kiosk-hdmi', 'started', 'begin', '-'], kioskXml).status).toBe(0);
  const record = readFileSync(join(runDir(), 'domains', `${UUID}.json`));
  const orphan = join(runDir(), 'domains', `${UUID}.json.tmp-1-1`); // what a start would clean
  writeFileSync(orphan, '{');
  const second = await runDaemonToEnd();
  expect(second.code).toBe(1);
  expect(second.stderr).toMatch(new RegExp(`another directflipd \\(pid ${daemon.proc.pid}\\) is running on the state in ${runDir()}`));
  expect(readFileSync(join(runDir(), 'domains', `${UUID}.json`))).toEqual(record);
  expect(readFileSync(orphan, 'utf8')).toBe('{');
  expect(readFileSync(join(runDir(), 'directflipd.pid'), 'utf8').trim()).toBe(String(daemon.proc.pid));
  expect(await status()).toEqual([['kiosk-hdmi', 'active']]);
});

test('a lock left by a daemon that died is taken over', async () => {
  const dead = spawnSync('true').pid!; // exited: its pid names no process
  mkdirSync(runDir(), { recursive: true, mode: 0o700 });
  writeFileSync(join(runDir(), 'directflipd.pid'), `${dead}\n`);
  daemon = await startDaemon(bus.address, 'sim:gvt-skylake', root);
  expect(readFileSync(join(runDir(), 'directflipd.pid'), 'utf8').trim()).toBe(String(daemon.proc.pid));
  await daemon.stop('SIGTERM');
  expect([daemon.proc.exitCode, daemon.proc.signalCode]).toEqual([0, null]);
  expect(readdirSync(runDir())).not.toContain('directflipd.pid'); // a clean stop gives it back
  daemon = undefined;
});

test('a state directory others may write is refused at start, saying which, its owner and mode, and the fix', async () => {
  mkdirSync(runDir(), { recursive: true });
  chmodSync(runDir(), 0o777);
  const r = await runDaemonToEnd();
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(new RegExp(`refusing to trust the state directory ${runDir()}: owned by uid 0, mode 0777; .*chmod go-w`));
});

test('a damaged journal at start: the bad records go to domains/damaged, the good one is re-adopted', async () => {
  daemon = await startDaemon(bus.address, 'sim:gvt-skylake', root);
  expect(hook(['kiosk-hdmi', 'prepare', 'begin', '-'], kioskXml).status).toBe(0);
  expect(hook(['kiosk-hdmi', 'started', 'begin', '-'], kioskXml).status).toBe(0);
  await daemon.stop('SIGKILL');
  const d = join(runDir(), 'domains');
  writeFileSync(join(d, '00000000-0000-4000-8000-000000000001.json'), '{}');
  writeFileSync(join(d, '00000000-0000-4000-8000-000000000002.json'), 'null');
  writeFileSync(join(d, '00000000-0000-4000-8000-000000000003.json'), '{"uuid":');
  writeFileSync(join(d, `${UUID}.json.tmp-99-1`), '{"half a write');
  daemon = await startDaemon(bus.address, 'sim:gvt-skylake', root);
  expect(await status()).toEqual([['kiosk-hdmi', 'active']]);
  expect(daemon.log().match(/journal record .* is damaged/g)).toHaveLength(3);
  expect(daemon.log()).toMatch(/removed 1 temporary journal file/);
  expect(readdirSync(d).sort()).toEqual([`${UUID}.json`, 'damaged']);
  expect(hook(['kiosk-hdmi', 'release', 'end', '-'], kioskXml).status).toBe(0);
});

test('SIGTERM during a burst of calls: each is answered (done, refused, or ShuttingDown), the display goes back, exit 0', async () => {
  daemon = await startDaemon(bus.address, 'sim:gvt-skylake', root);
  expect(hook(['kiosk-hdmi', 'prepare', 'begin', '-'], kioskXml).status).toBe(0);
  expect(hook(['kiosk-hdmi', 'started', 'begin', '-'], kioskXml).status).toBe(0);
  const NS = 'https://directflip.github.io/xmlns/domain/1';
  const xml = (i: number) => `<domain><name>vm${i}</name><metadata><directflip xmlns="${NS}"><output connector="DP-1">
    <plane from="primary" console="0" to="overlay" x="${i}" y="${i}"/></output></directflip></metadata>
    <devices><graphics type='dbus'/></devices></domain>`;
  // One connection, 40 calls written at once, and the SIGTERM right behind them.
  const dbus = await import('dbus-next');
  const client = dbus.sessionBus({ busAddress: bus.address });
  const call = (member: string, signature: string, body: unknown[]) =>
    client.call(new dbus.Message({ destination: 'io.github.directflip1', path: '/io/github/directflip1', interface: 'io.github.directflip1.Manager', member, signature, body }));
  const calls = Array.from({ length: 40 }, (_, i) => (i % 2 ? call('Release', 'sss', [`vm${i - 1}`, xml(i - 1), 'burst']) : call('Prepare', 'ss', [`vm${i}`, xml(i)])));
  const exited = new Promise<number | null>((res) => daemon!.proc.once('exit', (code) => res(code)));
  await calls[0].catch(() => undefined); // answered (shown or refused): the daemon is in the burst
  daemon.proc.kill('SIGTERM');
  const results = await Promise.allSettled(calls);
  expect(await exited).toBe(0);
  client.disconnect();
  const errors = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as { type?: string; message: string });
  // Every call gets a real answer: done, refused for a reason of its own, or ShuttingDown; none
  // is left without a reply by the daemon leaving the bus.
  const names = errors.map((e) => e.type ?? e.message);
  expect(names.filter((n) => n !== 'io.github.directflip1.Error.ShuttingDown' && n !== 'io.github.directflip1.Error.Refused')).toEqual([]);
  expect(names).toContain('io.github.directflip1.Error.ShuttingDown');
  const log = daemon.log();
  expect(log).not.toMatch(/stream is closed|Internal|^\s+at /m);
  expect(log).toMatch(/domain=kiosk-hdmi host display restored for the daemon stop/);
  daemon = undefined;
});

test('the dbus-daemon killed and restarted at the same address: the guest stays shown and the daemon answers again', async () => {
  daemon = await startDaemon(bus.address, 'sim:gvt-skylake', root);
  expect(hook(['kiosk-hdmi', 'prepare', 'begin', '-'], kioskXml).status).toBe(0);
  expect(hook(['kiosk-hdmi', 'started', 'begin', '-'], kioskXml).status).toBe(0);
  const shown = await simScreenshotOf(bus.address, 'HDMI-A-1', 5000);
  bus.kill();
  // The daemon notices, says so, and stays up with the guest on screen.
  await new Promise<void>((res) => {
    const check = () => (/lost the connection to/.test(daemon!.log()) ? res() : setTimeout(check, 20));
    check();
  });
  expect(daemon.proc.exitCode).toBeNull();
  bus.start();
  await new Promise<void>((res) => {
    const check = () => (/owned again/.test(daemon!.log()) ? res() : setTimeout(check, 20));
    check();
  });
  expect(await status()).toEqual([['kiosk-hdmi', 'active']]);
  expect((await simScreenshotOf(bus.address, 'HDMI-A-1', 5000)).equals(shown)).toBe(true);
  expect(daemon.log()).not.toMatch(/released|restored/);
  expect(hook(['kiosk-hdmi', 'release', 'end', '-'], kioskXml).status).toBe(0);
  expect(await status()).toEqual([]);
});
