import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callManager } from '../../src/daemon/client';
import { startBus, startDaemon } from '../helpers/bus';
import { BIN, runCli, STACK_RE } from '../helpers/cli';
import { REPO } from '../helpers/fixtures';
import { reportBadInputs } from '../helpers/report';

jest.setTimeout(90_000);

const KIOSK = join(REPO, 'examples', 'gvt-kiosk-hdmi.xml');

describe('option values are checked before anything runs', () => {
  const cases: [string[], RegExp][] = [
    [['status', '--bus', 'nonsense'], /--bus: "nonsense" has no transport: a D-Bus address looks like unix:path=/],
    [['status', '--bus', ''], /--bus needs an address/],
    [['status', '--bus', 'unix:path='], /--bus: "path=" in "unix:path=" is not key=value/],
    [['status', '--bus', 'unix:path=/a,abstract=b'], /exactly one of path= or abstract=/],
    [['status', '--bus', 'unix:abstract=directflip'], /abstract sockets are not supported .*give the socket's path as unix:path=/],
    [['status', '--bus', 'unixexec:path=/bin/sh'], /transport unixexec is not one directflip can use/],
    [['status', '--bus', 'tcp:host=localhost'], /a tcp address needs port=1…65535/],
    [['status', '--bus', 'tcp:host=localhost,port=70000'], /a tcp address needs port=1…65535/],
    [['status', '--bus', 'unix:path=/run/x;bogus'], /"bogus" has no transport/],
    [['screenshot', 'HDMI-A-1', '-o', '/dev/null', '--bus', 'x'], /--bus: "x" has no transport/],
    [['hook', 'vm', 'release', '--bus', 'nonsense'], /--bus: "nonsense" has no transport/],
    [['daemon', '--host', 'sim:vkms', '--bus', 'tcp:port=0'], /a tcp address needs port=1…65535/],
    [['status', '--timeout-ms', 'abc'], /--timeout-ms takes a positive whole number of milliseconds, e\.g\. --timeout-ms 5000; "abc" is not one/],
    [['status', '--timeout-ms', '0'], /--timeout-ms takes a positive whole number .*"0" is not one/],
    [['status', '--timeout-ms', '-5'], /--timeout-ms takes a positive whole number .*"-5" is not one/],
    [['status', '--timeout-ms', '1.5'], /"1\.5" is not one/],
    [['status', '--timeout-ms', '1e3'], /"1e3" is not one/],
    [['status', '--timeout-ms', '99999999999999999999'], /is not one/],
    [['hook', 'vm', 'release', '--timeout-ms', 'soon'], /--timeout-ms takes a positive whole number/],
    [['plan', KIOSK, '--host', 'sim:gvt-skylake', '--budget-ms', 'x'], /--budget-ms takes a positive whole number of milliseconds.*"x" is not one/],
    [['plan', KIOSK, '--host', 'sim:gvt-skylake', '--budget-ms', '0'], /--budget-ms takes a positive whole number.*"0" is not one/],
  ];

  test.each(cases)('directflip %j is a usage error that says what is wrong', (args, message) => {
    const r = runCli(args, '');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/Run 'directflip --help' for usage\.\n$/);
    expect(r.stderr).not.toMatch(STACK_RE);
  });

  test.each([
    [['status', '--bus', 'nonsense', '--json'], /--bus: "nonsense" has no transport/],
    [['plan', KIOSK, '--budget-ms', 'x', '--json'], /--budget-ms takes a positive whole number/],
    [['config', '--json'], /Missing required argument: connector/],
    [['nosuch', '--json'], /Unknown argument: nosuch/],
  ])('with --json, usage error %j is JSON on stdout with code EUSAGE, exit 2', (args, message) => {
    const r = runCli(args as string[], '');
    expect([r.status, r.stderr]).toEqual([2, '']);
    const out = JSON.parse(r.stdout) as { ok: boolean; error: { code: string; message: string } };
    expect([out.ok, out.error.code]).toEqual([false, 'EUSAGE']);
    expect(out.error.message).toMatch(message as RegExp);
    expect(out.error.message).toMatch(/run 'directflip --help' for usage$/);
  });

  test('good values pass: addresses of every form, and whole numbers', () => {
    const r = runCli(['plan', KIOSK, '--host', 'sim:gvt-skylake', '--budget-ms', '50', '--json']);
    expect(r.status).toBe(0);
    for (const bus of ['unix:path=/nonexistent/directflip-test', 'unix:path=/a;tcp:host=127.0.0.1,port=1,family=ipv4']) {
      const s = runCli(['status', '--bus', bus, '--timeout-ms', '2000']);
      expect(s.status).toBe(1); // nothing listens there: refused by the connection, not by the parser
      expect(s.stderr).not.toMatch(/for usage/);
    }
    reportBadInputs('cli-options', { suite: 'cli-options', inputs: cases.length });
  });
});

/** The CLI with its stdout already closed by the reader, as `| head -1` does once it has its line. */
function runWithClosedStdout(args: string[]): Promise<{ status: number | null; stderr: string }> {
  const p = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  p.stdout!.destroy();
  let stderr = '';
  p.stderr!.on('data', (d) => (stderr += d));
  return new Promise((res) => p.once('close', (status) => res({ status, stderr })));
}

describe('a reader that goes away', () => {
  test('probe and plan on a simulated host end quietly with exit 0', async () => {
    for (const args of [['probe', '--host', 'sim:vkms'], ['probe', '--host', 'sim:gvt-skylake', '--json'], ['plan', KIOSK, '--host', 'sim:gvt-skylake']]) {
      expect(await runWithClosedStdout(args)).toEqual({ status: 0, stderr: '' });
    }
  });

  test('status ends quietly with exit 0, in a real pipe to head too; a domain name cannot add a row', async () => {
    const bus = startBus();
    const root = mkdtempSync(join(tmpdir(), 'directflip-root-'));
    const daemon = await startDaemon(bus.address, 'sim:gvt-skylake', root);
    try {
      expect(runCli(['hook', 'kiosk-hdmi', 'prepare', 'begin', '--bus', bus.address], readFileSync(KIOSK, 'utf8')).status).toBe(0);
      expect(await runWithClosedStdout(['status', '--bus', bus.address])).toEqual({ status: 0, stderr: '' });
      expect(await runWithClosedStdout(['status', '--json', '--bus', bus.address])).toEqual({ status: 0, stderr: '' });
      const sh = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${BIN}" status --bus "${bus.address}" | head -1`], { encoding: 'utf8' });
      expect([sh.status, sh.stderr]).toEqual([0, '']);
      expect(sh.stdout).toMatch(/^DOMAIN\s+STATE/);
      // A domain name is text from outside: in the table it cannot start a row of its own.
      const evil = 'kiosk\nforged  active  HDMI-A-1\u009b2J';
      const xml = readFileSync(KIOSK, 'utf8').replace('<name>kiosk-hdmi</name>', '<name>kiosk&#10;forged  active  HDMI-A-1&#x9b;2J</name>');
      await callManager(bus.address, 'Prepare', 'ss', [evil, xml], 10_000);
      const table = runCli(['status', '--bus', bus.address]);
      expect(table.status).toBe(0);
      expect(table.stdout.split('\n').filter((l) => /^forged/.test(l))).toEqual([]);
      expect(table.stdout).toContain('kiosk\\nforged  active  HDMI-A-1\\x9b2J  prepared');
      expect(table.stdout).toMatch(/^[\x20-\x7e\n←→]*$/);
    } finally {
      await daemon.stop('SIGKILL');
      bus.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

/** Processes whose command line names `dir`: what a command started there and left running. */
function processesUsing(dir: string): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
      } catch {
        return '';
      }
    })
    .filter((c) => c.includes(dir));
}

function exited(p: ChildProcess): Promise<{ status: number | null; stderr: string }> {
  let stderr = '';
  p.stderr!.on('data', (d) => (stderr += d));
  return new Promise((res) => p.once('close', (status) => res({ status, stderr })));
}

describe('SIGINT removes the temporary directories a command made', () => {
  let scratch: string;
  let tmp: string;
  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), 'directflip-sigint-'));
    tmp = join(scratch, 'tmp');
    mkdirSync(tmp);
  });
  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  /**
   * plan and probe on a simulated host work synchronously; a preload holds the command right
   * after it made its directory, the test interrupts it there, then lets it go on.
   */
  test.each([
    ['plan', [KIOSK, '--host', 'sim:gvt-skylake']],
    ['probe', ['--host', 'sim:gvt-skylake']],
  ])('%s on a simulated host', async (command, args) => {
    const hold = join(scratch, 'go');
    const preload = join(scratch, 'hold.js');
    writeFileSync(
      preload,
      `const fs = require('fs');
const real = fs.mkdtempSync;
fs.mkdtempSync = function (...a) {
  const dir = real.apply(fs, a);
  fs.writeFileSync(${JSON.stringify(hold)} + '.made', dir);
  const cell = new Int32Array(new SharedArrayBuffer(4));
  while (!fs.existsSync(${JSON.stringify(hold)})) Atomics.wait(cell, 0, 0, 10);
  return dir;
};`,
    );
    const p = spawn(process.execPath, ['-r', preload, BIN, command, ...args], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
    const done = exited(p);
    while (!existsSync(`${hold}.made`) && p.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(`${hold}.made`)).toBe(true); // else it ended before making its directory
    expect(readdirSync(tmp)).toEqual([expect.stringMatching(/^directflip-sim-/)]);
    p.kill('SIGINT');
    writeFileSync(hold, '');
    const r = await done;
    expect(r.stderr).not.toMatch(STACK_RE);
    expect([0, 130]).toContain(r.status);
    expect(readdirSync(tmp)).toEqual([]);
  });

  test('demo: its directories, its dbus-daemon and its directflipd are all gone', async () => {
    const p = spawn(process.execPath, [BIN, 'demo', '--out', join(scratch, 'out')], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
    const done = exited(p);
    await new Promise<void>((res) => {
      let out = '';
      p.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('📷')) res();
      });
    });
    expect(readdirSync(tmp).length).toBeGreaterThan(0);
    expect(processesUsing(tmp).length).toBeGreaterThan(0);
    p.kill('SIGINT');
    const r = await done;
    expect(r.status).toBe(130);
    expect(r.stderr).not.toMatch(STACK_RE);
    expect(readdirSync(tmp)).toEqual([]);
    expect(processesUsing(tmp)).toEqual([]);
  });
});
