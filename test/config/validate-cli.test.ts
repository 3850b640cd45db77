import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, STACK_RE } from '../helpers/cli';
import { configFixtures, outcome, REPO } from '../helpers/fixtures';

const examples = readdirSync(join(REPO, 'examples')).filter((f) => f.endsWith('.xml'));

test.each(examples)('validate examples/%s exits 0 with a readable summary', (f) => {
  const r = runCli(['validate', join(REPO, 'examples', f)]);
  expect(r.status).toBe(0);
  expect(r.stderr).toBe('');
  expect(r.stdout).toMatch(/^domain \S+/);
  const cfg = outcome(readFileSync(join(REPO, 'examples', f), 'utf8'));
  if (cfg.ok && (cfg.config as { configured: boolean }).configured) {
    const outs = (cfg.config as { directflip: { outputs: { connector: string; planes: unknown[] }[] } }).directflip.outputs;
    for (const o of outs) expect(r.stdout).toContain(`output ${o.connector}`);
    expect((r.stdout.match(/guest (primary|cursor) →/g) ?? []).length).toBe(outs.reduce((n, o) => n + o.planes.length, 0));
    expect(r.stdout).toMatch(/^valid$/m);
  } else {
    expect(r.stdout).toContain('not configured for directflip');
  }
});

test('--json prints the DomainConfig the library returns', () => {
  const file = join(REPO, 'examples', 'gvt-kiosk-hdmi.xml');
  const r = runCli(['validate', '--json', file]);
  expect(r.status).toBe(0);
  const got = JSON.parse(r.stdout);
  expect(got).toEqual({ ok: true, config: (outcome(readFileSync(file, 'utf8')) as { config: unknown }).config, configFrom: { origin: 'metadata', file: null, ignored: null } });
});

test('- reads the domain XML from standard input', () => {
  const r = runCli(['validate', '-'], readFileSync(join(REPO, 'examples', 'two-outputs.xml')));
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('output DP-1');
});

describe('every bad fixture', () => {
  const bad = configFixtures().filter((f) => f.name.startsWith('bad-'));
  test.each(bad.map((f) => [f.name, f] as const))('%s exits 1 with its golden error and no stack trace', (_n, f) => {
    const expected = outcome(f.xml);
    if (expected.ok) throw new Error('fixture is not bad');
    const r = runCli(['validate', f.file]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`directflip: ${f.file}: ${expected.error.message}\n`);
    expect(r.stderr).not.toMatch(STACK_RE);
    const j = runCli(['validate', '--json', f.file]);
    expect(j.status).toBe(1);
    expect(JSON.parse(j.stdout)).toEqual({ ok: false, error: { ...expected.error, message: `${f.file}: ${expected.error.message}` } });
  });
});

test('a 5 MiB document on stdin is refused without a stack trace', () => {
  const big = `<domain><name>x</name><description>${'x'.repeat(5 * 1024 * 1024)}</description></domain>`;
  const r = runCli(['validate', '--json', '-'], big);
  expect(r.status).toBe(1);
  expect(JSON.parse(r.stdout).error.code).toBe('EDF_TOO_LARGE');
});

test('unreadable input names the file and the fix', () => {
  const r = runCli(['validate', '/nonexistent/domain.xml']);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/cannot read \/nonexistent\/domain.xml \(ENOENT\): check the path/);
  const d = runCli(['validate', REPO]);
  expect(d.stderr).toMatch(/EISDIR/);
  expect(d.stderr).not.toMatch(STACK_RE);
});

describe('a FIFO named as the domain XML', () => {
  let dir = '';
  let fifo = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'directflip-fifo-'));
    fifo = join(dir, 'domain.xml');
    execFileSync('mkfifo', [fifo]);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('with no writer is refused at once (ENODATA), naming the FIFO and the fix, instead of waiting in open()', () => {
    const r = runCli(['validate', '--json', fifo]);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout).error).toEqual({ code: 'ENODATA', message: expect.stringMatching(/^cannot read .*domain\.xml \(ENODATA\): it is a FIFO and nothing was writing to it; name a regular file, or pipe/) });
    const d = runCli(['doctor', '--host', 'sim:vkms', '--json', fifo]);
    expect(d.status).not.toBe(0);
    expect(d.stdout + d.stderr).toContain('(ENODATA)');
    expect(d.stderr).not.toMatch(STACK_RE);
  });

  test('with a writer that is slow to write is read to its end', async () => {
    // The writer holds the FIFO open first and writes later: the reader waits for the bytes.
    const writer = spawn('sh', ['-c', 'exec 3>"$1"; sleep 0.3; cat "$2" >&3', 'sh', fifo, join(REPO, 'examples', 'two-outputs.xml')]);
    const exited = new Promise((r) => writer.on('exit', r));
    await new Promise((r) => setTimeout(r, 100));
    const r = runCli(['validate', fifo]);
    await exited;
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('output DP-1');
  });
});

test('usage errors exit 2 and say how to get help', () => {
  const r = runCli(['validate']);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/Not enough non-option arguments|Missing required argument/);
  expect(r.stderr).toMatch(/--help/);
});

test('validate --help explains the argument and every option with examples', () => {
  const r = runCli(['validate', '--help']);
  expect(r.status).toBe(0);
  for (const want of ['<file>', '--json', '--help', 'Examples:', 'virsh dumpxml', 'Exit status']) expect(r.stdout).toContain(want);
});
