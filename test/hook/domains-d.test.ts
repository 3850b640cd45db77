/**
 * The shim's fast path with host-side configuration (issue 15 item 3): a domain configured
 * neither in its metadata nor in <root>/etc/directflip/domains.d costs one cat and, on a host
 * without domains.d, one stat of it; a domains.d file for its UUID or its name starts node.
 * Counted with strace: processes started and the file-status calls under the root's etc/.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/fixtures';

const SHIM = join(REPO, 'hooks', 'qemu');
const plain = readFileSync(join(REPO, 'examples', 'no-metadata.xml'), 'utf8');
const UUID = /<uuid>([^<]+)<\/uuid>/.exec(plain)![1];
const NAME = /<name>([^<]+)<\/name>/.exec(plain)![1];

let root: string;
let marker: string;
let node: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'directflip-domainsd-'));
  marker = join(root, 'node-ran');
  node = join(root, 'fake-node');
  writeFileSync(node, `#!/bin/sh\ntouch '${marker}'\ncat >/dev/null\n`);
  chmodSync(node, 0o755);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const confDir = () => join(root, 'etc/directflip/domains.d');

/** The shim under strace as libvirt runs it; returns its exit, the programs it ran, and its path calls (stat, open…) under etc/. */
function traced(name: string, op = 'prepare') {
  const log = join(root, 'strace.log');
  const env = { LC_ALL: 'C', PATH: '/usr/bin:/bin', DIRECTFLIP_ROOT: root, DIRECTFLIP_NODE: node, DIRECTFLIP_HOME: REPO };
  const r = spawnSync('strace', ['-f', '-qq', '-o', log, '-e', 'trace=execve,%file', '/usr/bin/env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), '/bin/sh', SHIM, name, op, 'begin', '-'], { input: plain, encoding: 'utf8' });
  const lines = readFileSync(log, 'utf8').split('\n');
  const execs = lines.map((l) => /execve\("([^"]+)"/.exec(l)?.[1]).filter((p): p is string => !!p && !['/usr/bin/env', '/bin/sh'].includes(p));
  const etc = lines.filter((l) => !/execve/.test(l) && l.includes(`"${root}/etc/`));
  return { status: r.status, stderr: r.stderr, execs, etc, nodeRan: existsSync(marker) };
}

test('a host without domains.d: one cat, one stat of the directory, no node', () => {
  const r = traced(NAME);
  expect(r).toMatchObject({ status: 0, stderr: '', nodeRan: false });
  expect(r.execs).toEqual(['/bin/cat']);
  expect(r.etc).toHaveLength(1);
  expect(r.etc[0]).toContain(`"${confDir()}"`);
});

test("domains.d with other domains' files: still one cat and no node; the directory, then this domain's two names", () => {
  mkdirSync(confDir(), { recursive: true });
  writeFileSync(join(confDir(), 'someone-else.xml'), '<directflip/>');
  const r = traced(NAME);
  expect(r).toMatchObject({ status: 0, stderr: '', nodeRan: false });
  expect(r.execs).toEqual(['/bin/cat']);
  expect(r.etc.map((l) => /"([^"]+)"/.exec(l)![1])).toEqual([confDir(), join(confDir(), `${UUID}.xml`), join(confDir(), `${NAME}.xml`)]);
});

test.each([
  ['its UUID', () => `${UUID}.xml`],
  ['its name', () => `${NAME}.xml`],
])('a domains.d file named by %s starts node, for every operation that matters', (_w, file) => {
  mkdirSync(confDir(), { recursive: true });
  writeFileSync(join(confDir(), file()), '<directflip/>');
  for (const op of ['prepare', 'started', 'release']) {
    rmSync(marker, { force: true });
    const r = traced(NAME, op);
    expect([r.status, r.nodeRan]).toEqual([0, true]);
    expect(r.execs.slice(0, 2)).toEqual(['/bin/cat', node]);
  }
});

test('an argv name with a slash is never looked up as a path', () => {
  mkdirSync(join(confDir(), 'x'), { recursive: true });
  writeFileSync(join(confDir(), 'x', 'y.xml'), '<directflip/>');
  const r = traced('x/y');
  expect(r.nodeRan).toBe(false);
  expect(r.etc.some((l) => l.includes('x/y.xml'))).toBe(false);
});
