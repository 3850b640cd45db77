/**
 * The real hooks/qemu, run the way libvirt runs it: `env -i`, LC_ALL=C, the XML on stdin. Whatever
 * happens to node, reconnect/stopped/release exit 0 and nothing ever reaches stdout.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/fixtures';
import { reportBadInputs } from '../helpers/report';

const SHIM = join(REPO, 'hooks', 'qemu');
const kiosk = readFileSync(join(REPO, 'examples', 'gvt-kiosk-hdmi.xml'), 'utf8');
const plain = readFileSync(join(REPO, 'examples', 'no-metadata.xml'), 'utf8');
const PLAIN_UUID = /<uuid>([^<]+)<\/uuid>/.exec(plain)![1];
const MUST_SUCCEED = ['reconnect', 'stopped', 'release'];
const MUST_FAIL = ['prepare', 'start', 'started'];

let dir: string;
let runDir: string;
let marker: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'directflip-shim-'));
  runDir = join(dir, 'run');
  mkdirSync(join(runDir, 'domains'), { recursive: true });
  marker = join(dir, 'node-ran');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

let tried = 0;
afterAll(() => reportBadInputs('hook-shim', { suite: 'hook shim as libvirt runs it: node missing, killed, failing; dist/ missing; oversized input', inputs: tried }));

function shim(args: string[], xml: string | Buffer, env: Record<string, string>) {
  tried++;
  const all = { LC_ALL: 'C', PATH: '/usr/bin:/bin', DIRECTFLIP_RUN_DIR: runDir, DIRECTFLIP_HOME: REPO, DIRECTFLIP_BUS_ADDRESS: `unix:path=${join(dir, 'no-bus')}`, DIRECTFLIP_TIMEOUT_MS: '2000', ...env };
  const r = spawnSync('/usr/bin/env', ['-i', ...Object.entries(all).map(([k, v]) => `${k}=${v}`), '/bin/sh', SHIM, ...args], { input: xml, encoding: 'utf8', maxBuffer: 1 << 26 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** A stand-in for node that records it ran, then does `body`. */
function fakeNode(body: string): string {
  const p = join(dir, 'fake-node');
  writeFileSync(p, `#!/bin/sh\ntouch '${marker}'\ncat >/dev/null\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

describe.each([
  ['node missing', () => join(dir, 'moved', 'node'), /node at \S+\/moved\/node not found: run `directflip install` again/],
  ['node not executable', () => { const p = join(dir, 'node'); writeFileSync(p, ''); chmodSync(p, 0o644); return p; }, /node at \S+\/node is not an executable file: run `directflip install` again/],
  ['node killed by SIGKILL', () => fakeNode('kill -9 $$'), /dist\/hook\.js was killed by signal 9/],
  ['node is false', () => '/bin/false', /dist\/hook\.js exited with status 1/],
  ['node crashing', () => fakeNode('echo "node: Segmentation fault" >&2; exit 139'), /dist\/hook\.js was killed by signal 11/],
])('%s', (_what, node, message) => {
  test.each(MUST_SUCCEED)('%s exits 0 with the reason on stderr and nothing on stdout', (op) => {
    const r = shim(['kiosk-hdmi', op, 'begin', '-'], kiosk, { DIRECTFLIP_NODE: node() });
    expect([r.status, r.stdout]).toEqual([0, '']);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(new RegExp(`exiting 0 for ${op}`));
  });
  test.each(MUST_FAIL)('%s fails, naming the missing piece, and nothing on stdout', (op) => {
    const r = shim(['kiosk-hdmi', op, 'begin', '-'], kiosk, { DIRECTFLIP_NODE: node() });
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });
});

describe('dist/ missing (DIRECTFLIP_HOME is a copy without it)', () => {
  let home: string;
  beforeEach(() => {
    home = join(dir, 'home');
    mkdirSync(join(home, 'hooks'), { recursive: true });
    copyFileSync(SHIM, join(home, 'hooks', 'qemu'));
  });
  test.each([...MUST_SUCCEED, ...MUST_FAIL])('%s: exit per the contract, the fix on stderr', (op) => {
    const r = shim(['kiosk-hdmi', op, 'begin', '-'], kiosk, { DIRECTFLIP_NODE: process.execPath, DIRECTFLIP_HOME: home });
    expect(r.status).toBe(MUST_SUCCEED.includes(op) ? 0 : 1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${home}/dist/hook.js is missing: run \`npm run build\` in ${home}`);
  });
});

describe('the real node and dist/hook.js with no daemon to talk to', () => {
  test.each(MUST_SUCCEED)('%s exits 0 and says why on stderr only', (op) => {
    const r = shim(['kiosk-hdmi', op, 'begin', '-'], kiosk, { DIRECTFLIP_NODE: process.execPath });
    expect([r.status, r.stdout]).toEqual([0, '']);
    expect(r.stderr).toMatch(/directflip: domain kiosk-hdmi: warning: /);
  });
  test('prepare with on-error="abort" fails and names the daemon', () => {
    const r = shim(['kiosk-hdmi', 'prepare', 'begin', '-'], kiosk.replace('on-error="warn"', 'on-error="abort"'), { DIRECTFLIP_NODE: process.execPath });
    expect([r.status, r.stdout]).toEqual([1, '']);
    expect(r.stderr).toMatch(/directflipd is not running/);
  });
});

describe('the fast path, keyed by the domain UUID', () => {
  const node = () => fakeNode('exit 0');
  const record = (uuid: string) => writeFileSync(join(runDir, 'domains', `${uuid}.json`), '{}');

  test('no metadata and no record: node never starts, for any operation', () => {
    for (const op of ['prepare', 'start', 'started', 'stopped', 'release', 'migrate', 'restore', 'reconnect', 'attach']) {
      expect(shim(['plain-server', op, 'begin', '-'], plain, { DIRECTFLIP_NODE: node() })).toMatchObject({ status: 0, stdout: '', stderr: '' });
    }
    expect(existsSync(marker)).toBe(false);
  });
  test("a record for another domain's UUID does not start node", () => {
    record('11111111-2222-4333-8444-555555555555');
    expect(shim(['plain-server', 'release', 'end', '-'], plain, { DIRECTFLIP_NODE: node() }).status).toBe(0);
    expect(existsSync(marker)).toBe(false);
  });
  test("a record for this domain's UUID starts node, whatever the name", () => {
    record(PLAIN_UUID);
    expect(shim(['a name with spaces', 'release', 'end', '-'], plain, { DIRECTFLIP_NODE: node() }).status).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });
  test('our namespace in the XML starts node even with no record', () => {
    expect(shim(['kiosk-hdmi', 'prepare', 'begin', '-'], kiosk, { DIRECTFLIP_NODE: fakeNode('exit 3') }).status).toBe(3);
    expect(existsSync(marker)).toBe(true);
  });
  test.each([
    ['no <uuid>', plain.replace(/<uuid>[^<]*<\/uuid>/, '')],
    ['an upper-case <uuid>', plain.replace(PLAIN_UUID, PLAIN_UUID.toUpperCase())],
    ['a <uuid> that is a path', plain.replace(PLAIN_UUID, '../../etc/passwd')],
  ])('%s: node starts only when some record exists', (_w, xml) => {
    expect(shim(['plain-server', 'release', 'end', '-'], xml, { DIRECTFLIP_NODE: node() }).status).toBe(0);
    expect(existsSync(marker)).toBe(false);
    record('11111111-2222-4333-8444-555555555555');
    expect(shim(['plain-server', 'release', 'end', '-'], xml, { DIRECTFLIP_NODE: node() }).status).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });
  test('a 4 MiB single-line XML with a million elements and the <uuid> last is read without node', () => {
    const xml = `<domain><name>x</name>${'<a/>'.repeat(1 << 20)}<uuid>${PLAIN_UUID}</uuid></domain>`;
    const r = shim(['x', 'prepare', 'begin', '-'], xml, { DIRECTFLIP_NODE: node() });
    expect([r.status, r.stdout, r.stderr]).toEqual([0, '', '']);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('one input limit for the hook and for validate', () => {
  const NS = 'https://directflip.github.io/xmlns/domain/1';
  /** The kiosk example grown to exactly `bytes` by a <description>, ending in one newline as libvirt writes it. */
  const sized = (bytes: number) => {
    const at = kiosk.indexOf('</name>') + '</name>'.length;
    const head = `${kiosk.slice(0, at)}<description>`;
    const tail = `</description>${kiosk.slice(at).trimEnd()}\n`;
    const xml = `${head}${'x'.repeat(bytes - Buffer.byteLength(head + tail))}${tail}`;
    expect(xml).toContain(NS);
    return xml;
  };
  const validate = (input: string | Buffer, file = '-') => spawnSync(process.execPath, [join(REPO, 'bin', 'directflip'), 'validate', file], { input, encoding: 'utf8', maxBuffer: 1 << 26 });

  test('50 MiB: both say "too large" with the same, real byte count', () => {
    const xml = sized(50 * 1024 * 1024);
    const bytes = Buffer.byteLength(xml);
    const h = shim(['kiosk-hdmi', 'prepare', 'begin', '-'], xml, { DIRECTFLIP_NODE: process.execPath });
    expect([h.status, h.stdout]).toEqual([1, '']);
    expect(h.stderr).toContain(`input is too large: ${bytes} bytes, over the 4194304-byte (4 MiB) limit`);
    const v = validate(xml);
    expect(v.status).toBe(1);
    expect(v.stderr).toContain(`input is too large: ${bytes} bytes, over the 4194304-byte (4 MiB) limit`);
    const f = join(dir, 'big.xml');
    writeFileSync(f, xml);
    expect(validate('', f).stderr).toContain(`${bytes} bytes`);
  });
  test('the limit is the same byte: 4 MiB passes both, one byte more fails both', () => {
    const max = 4 * 1024 * 1024;
    const ok = sized(max);
    expect(Buffer.byteLength(ok)).toBe(max);
    expect(shim(['kiosk-hdmi', 'prepare', 'begin', '-'], ok, { DIRECTFLIP_NODE: process.execPath }).status).toBe(0);
    expect(validate(ok).status).toBe(0);
    const over = sized(max + 1);
    expect(shim(['kiosk-hdmi', 'prepare', 'begin', '-'], over, { DIRECTFLIP_NODE: process.execPath }).stderr).toContain(`too large: ${max + 1} bytes`);
    expect(validate(over).stderr).toContain(`too large: ${max + 1} bytes`);
  });
  test('validate /dev/zero and validate - </dev/zero stop at a bounded count and say so', () => {
    for (const r of [validate('', '/dev/zero'), spawnSync('/bin/sh', ['-c', `exec '${process.execPath}' '${join(REPO, 'bin', 'directflip')}' validate - </dev/zero`], { encoding: 'utf8' })]) {
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/input is too large: at least 67108864 bytes \(reading stopped there\)/);
    }
  });
});
