import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callManager } from '../../src/daemon/client';
import { introspectionXml } from '../../src/daemon/names';
import { NobodyScript } from '../helpers/as-nobody';
import { runHookAsLibvirt, startBus, startDaemon } from '../helpers/bus';
import type { DaemonProc } from '../helpers/bus';
import { runCli } from '../helpers/cli';
import { REPO } from '../helpers/fixtures';

jest.setTimeout(60_000);

const kioskXml = readFileSync(join(REPO, 'examples', 'gvt-kiosk-hdmi.xml'), 'utf8');
const plainXml = readFileSync(join(REPO, 'examples', 'no-metadata.xml'), 'utf8');
const abortXml = kioskXml.replace('on-error="warn"', 'on-error="abort"');
let bus: ReturnType<typeof startBus>;
let root: string;
let daemon: DaemonProc | undefined;

beforeEach(async () => {
  bus = startBus();
  root = mkdtempSync(join(tmpdir(), 'directflip-root-'));
  daemon = await startDaemon(bus.address, 'sim:gvt-skylake', root);
});
afterEach(async () => {
  await daemon?.stop('SIGKILL');
  bus.stop();
  rmSync(root, { recursive: true, force: true });
});

function hook(args: string[], xml: string, extraEnv: Record<string, string> = {}) {
  return runHookAsLibvirt(args, xml, { DIRECTFLIP_BUS_ADDRESS: bus.address, DIRECTFLIP_RUN_DIR: join(root, 'run/directflip'), DIRECTFLIP_TIMEOUT_MS: '5000', ...extraEnv });
}

const status = async () => (await callManager(bus.address, 'Status', '', [], 5000))[0] as [string, string, unknown[], string[]][];

test('the service answers Introspect with the XML kept in the repo, exactly', async () => {
  const { Message } = await import('dbus-next');
  const dbus = await import('dbus-next');
  const b = dbus.sessionBus({ busAddress: bus.address });
  const reply = await b.call(new Message({ destination: 'io.github.directflip1', path: '/io/github/directflip1', interface: 'org.freedesktop.DBus.Introspectable', member: 'Introspect' }));
  b.disconnect();
  expect(reply!.body[0]).toBe(introspectionXml());
});

test('the full lifecycle through the hook: prepare → start → started → stopped → release', async () => {
  for (const [op, sub] of [['prepare', 'begin'], ['start', 'begin'], ['started', 'begin']]) {
    const r = hook(['kiosk-hdmi', op, sub, '-'], kioskXml);
    expect([r.status, r.stdout, r.stderr]).toEqual([0, '', '']);
  }
  const s = await status();
  expect(s.map((d) => [d[0], d[1]])).toEqual([['kiosk-hdmi', 'active']]);
  expect(existsSync(join(root, 'run/directflip/domains/5b0b4c1e-8f4f-4f53-9d4e-2d7c0c0a7a11.json'))).toBe(true);
  for (const [op, sub] of [['stopped', 'end'], ['release', 'end']]) {
    const r = hook(['kiosk-hdmi', op, sub, 'destroyed'], kioskXml);
    expect([r.status, r.stdout]).toEqual([0, '']);
  }
  expect(await status()).toEqual([]);
  expect(daemon!.log()).toMatch(/<5>domain=kiosk-hdmi active: HDMI-A-1/);
  expect(daemon!.log()).toMatch(/<6>domain=kiosk-hdmi released \(stopped end destroyed\)/);
});

test('an invalid configuration aborts prepare with the precise error; stopped and release failed then succeed', () => {
  const bad = kioskXml.replace('connector="HDMI-A-1"', 'connector="HDMI1"');
  const r = hook(['kiosk-hdmi', 'prepare', 'begin', '-'], bad);
  expect(r.status).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/directflip: domain kiosk-hdmi: invalid directflip configuration: directflip\/output\[1\]\/@connector: "HDMI1" is not a KMS connector name/);
  expect(hook(['kiosk-hdmi', 'stopped', 'end', '-'], bad).status).toBe(0);
  expect(hook(['kiosk-hdmi', 'release', 'end', '-'], bad).status).toBe(0);
});

test('with the daemon down: warn starts without direct flip, abort fails the start, reconnect never fails', async () => {
  await daemon!.stop();
  daemon = undefined;
  const warn = hook(['kiosk-hdmi', 'prepare', 'begin', '-'], kioskXml);
  expect(warn.status).toBe(0);
  expect(warn.stderr).toMatch(/warning: starting without direct flip \(on-error="warn"\): directflipd is not running/);
  const abort = hook(['kiosk-hdmi', 'prepare', 'begin', '-'], abortXml);
  expect(abort.status).toBe(1);
  expect(abort.stderr).toMatch(/on-error="abort"/);
  expect(hook(['kiosk-hdmi', 'reconnect', 'begin', '-'], abortXml).status).toBe(0);
  expect(hook(['kiosk-hdmi', 'release', 'end', '-'], abortXml).status).toBe(0);
});

test('the fast path: a domain without our metadata never starts node', () => {
  const marker = join(root, 'node-started');
  const fakeNode = join(root, 'fake-node');
  writeFileSync(fakeNode, `#!/bin/sh\ntouch ${marker}\nexit 3\n`);
  chmodSync(fakeNode, 0o755);
  for (const op of ['prepare', 'start', 'started', 'stopped', 'release', 'migrate', 'restore', 'reconnect']) {
    const r = hook(['plain-server', op, 'begin', '-'], plainXml, { DIRECTFLIP_NODE: fakeNode });
    expect([r.status, r.stdout, r.stderr]).toEqual([0, '', '']);
  }
  expect(existsSync(marker)).toBe(false);
  // With our metadata the shim does run node (here the fake one, which fails loudly).
  expect(hook(['kiosk-hdmi', 'prepare', 'begin', '-'], kioskXml, { DIRECTFLIP_NODE: fakeNode }).status).toBe(3);
  expect(existsSync(marker)).toBe(true);
});

test('migrate: refused with on-error="abort", allowed with a warning otherwise, and never a byte on stdout', () => {
  const a = hook(['kiosk-hdmi', 'migrate', 'begin', '-'], abortXml);
  expect([a.status, a.stdout]).toEqual([1, '']);
  expect(a.stderr).toMatch(/migration is refused/);
  const w = hook(['kiosk-hdmi', 'migrate', 'begin', '-'], kioskXml);
  expect([w.status, w.stdout]).toEqual([0, '']);
  expect(hook(['kiosk-hdmi', 'restore', 'begin', '-'], kioskXml).stdout).toBe('');
});

test('a caller that is not root gets AccessDenied', async () => {
  // Bundled into a world-readable directory: the checkout itself may be 0700 (a clone in /root).
  const script = new NobodyScript(`require(${JSON.stringify(join(REPO, 'src/daemon/client.ts'))}).callManager(${JSON.stringify(bus.address)}, 'Status', '', [], 5000)
    .then(() => console.log('answered'), (e) => console.log(e.dbusName ?? e.message))`);
  try {
    const r = await script.run();
    expect(r.stdout.trim()).toBe('io.github.directflip1.Error.AccessDenied');
  } finally {
    script.remove();
  }
});

test('SIGKILL while a domain is active: the restarted daemon still reports it', async () => {
  expect(hook(['kiosk-hdmi', 'prepare', 'begin', '-'], kioskXml).status).toBe(0);
  expect(hook(['kiosk-hdmi', 'started', 'begin', '-'], kioskXml).status).toBe(0);
  await daemon!.stop('SIGKILL');
  daemon = await startDaemon(bus.address, 'sim:gvt-skylake', root);
  expect((await status()).map((d) => [d[0], d[1]])).toEqual([['kiosk-hdmi', 'active']]);
  expect(daemon.log()).toMatch(/re-adopted after a daemon restart/);
  expect(hook(['kiosk-hdmi', 'release', 'end', '-'], kioskXml).status).toBe(0);
  expect(await status()).toEqual([]);
});

test('status from the CLI: a table, and a clear error when the daemon is down', async () => {
  hook(['kiosk-hdmi', 'prepare', 'begin', '-'], kioskXml);
  const r = runCli(['status', '--bus', bus.address]);
  expect(r.stdout).toMatch(/kiosk-hdmi\s+prepared\s+HDMI-A-1/);
  await daemon!.stop();
  daemon = undefined;
  const down = runCli(['status', '--bus', bus.address, '--timeout-ms', '3000']);
  expect(down.status).toBe(1);
  expect(down.stderr).toMatch(/directflipd is not running .*systemctl start directflipd/);
});

test('16 domains prepared at once over D-Bus: a plane each or a clear refusal, never one plane twice', async () => {
  const NS = 'https://directflip.github.io/xmlns/domain/1';
  const uuid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  const xml = (i: number) => `<domain><name>vm${i}</name><metadata><directflip xmlns="${NS}"><output connector="HDMI-A-1">
    <plane from="primary" mdev="${uuid(i)}" to="overlay" x="${i * 8}" y="${i * 8}" width="960" height="540"/></output></directflip></metadata>
    <devices><graphics type='dbus'/><hostdev mode='subsystem' type='mdev'><source><address uuid='${uuid(i)}'/></source></hostdev></devices></domain>`;
  const results = await Promise.allSettled(Array.from({ length: 16 }, (_, i) => callManager(bus.address, 'Prepare', 'ss', [`vm${i}`, xml(i)], 20_000)));
  const ok = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<unknown[]>).value);
  const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
  expect(ok.length + refused.length).toBe(16);
  expect(ok.length).toBeGreaterThan(0);
  for (const e of refused) {
    expect(e.dbusName).toBe('io.github.directflip1.Error.Refused');
    expect(e.message).toMatch(/no host plane fits/);
  }
  const planes = ok.map((b) => ((b[1] as unknown[][])[0][3]) as number);
  expect(new Set(planes).size).toBe(planes.length);
});
