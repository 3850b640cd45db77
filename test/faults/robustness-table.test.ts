import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/fixtures';

const SCRIPT = join(REPO, 'scripts', 'robustness-table.js');
let dir: string;
let readme: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'directflip-table-'));
  readme = join(dir, 'README.md');
  writeFileSync(readme, '# x\n\nbefore\n<!-- robustness:start -->\nold table\n<!-- robustness:end -->\nafter\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function record(name: string, r: unknown): void {
  writeFileSync(join(dir, name), JSON.stringify(r));
}

const run = (...args: string[]) => spawnSync(process.execPath, [SCRIPT, '--dir', dir, '--readme', readme, ...args], { encoding: 'utf8' });
const clean = { fds: 0, fbs: 0, gem: 0, rssKiB: 0 };

function sample(): void {
  record('fault-bus-dropped.json', { fault: 'bus dropped', survived: true, restoredByteForByte: false, leaks: { ...clean, fbs: null, gem: null } });
  record('fault-commit-refused.json', { fault: 'commit refused mid-activate', survived: true, restoredByteForByte: true, leaks: clean });
  record('fault-cycles.json', { fault: '100 start/stop cycles of 4 domains', survived: true, restoredByteForByte: true, leaks: { ...clean, rssKiB: 2048 } });
  record('fuzz-planner.json', { suite: 'planner', cases: 300, crashes: 0 });
  record('fuzz-peer-link.json', { suite: 'peer link', cases: 200, crashes: 0 });
  record('bad-inputs-hook.json', { suite: 'hook argv | stdin', inputs: 41 });
  writeFileSync(join(dir, 'unrelated.json'), '{not even json');
}

test('sums the records into the README section between the markers, and nowhere else', () => {
  sample();
  const r = run();
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const out = readFileSync(readme, 'utf8');
  expect(out.startsWith('# x\n\nbefore\n<!-- robustness:start -->\n')).toBe(true);
  expect(out.endsWith('<!-- robustness:end -->\nafter\n')).toBe(true);
  expect(out).not.toMatch(/old table/);
  expect(out).toMatch(/\| Faults injected and survived \| 3 of 3 \|/);
  expect(out).toMatch(/\| Bad inputs tried \| 41 \(1 suites\) \|/);
  expect(out).toMatch(/\| Fuzz cases run \| 500 \(2 suites\) \|/);
  expect(out).toMatch(/\| Crashes \| 0 \|/);
  expect(out).toMatch(/\| Restores verified byte for byte \| 2 \|/);
  expect(out).toMatch(/\| Leaks \(fds in 3 faults; fbs and GEM handles in the 2 where the kernel is countable\) \| 0 \|/);
  expect(out).toMatch(/\| RSS growth over 100 start\/stop cycles of 4 domains \(after a warm-up\) \| 2048 KiB \|/);
  // Not measured is shown as such, never as a 0.
  expect(out).toMatch(/\| bus dropped \| yes \| no \(assignment intact\) \| 0 \/ – \/ – \| 0 KiB \|/);
  // A pipe in a suite's name cannot break the table's columns.
  expect(out).toMatch(/\| hook argv \\\| stdin \| 41 bad inputs \|/);
  // Rendering twice gives the same file: the section is replaced, never appended to.
  expect(run().status).toBe(0);
  expect(readFileSync(readme, 'utf8')).toBe(out);
});

test.each([
  ['a crash', 'fuzz-x.json', { suite: 'x', cases: 10, crashes: 1 }, /fuzz suite "x" crashed 1 times/],
  ['a leak', 'fault-x.json', { fault: 'x', survived: true, restoredByteForByte: true, leaks: { ...clean, gem: 2 } }, /fault "x" leaked 0 fds, 0 fbs, 2 GEM handles/],
  ['a fault not survived', 'fault-x.json', { fault: 'x', survived: false, restoredByteForByte: false, leaks: clean }, /fault "x" was not survived/],
  ['a record of the wrong shape', 'fault-x.json', { fault: 'x', survived: 'yes' }, /fault-x\.json: "survived" must be true or false/],
  ['a record that is null', 'bad-inputs-x.json', null, /bad-inputs-x\.json: not a JSON object/],
  ['an unmeasured fd count', 'fault-x.json', { fault: 'x', survived: true, restoredByteForByte: true, leaks: { ...clean, fds: null } }, /fault-x\.json: "leaks\.fds" must be an integer/],
])('exits 1 on %s, and says which record', (_what, file, rec, message) => {
  sample();
  record(file, rec);
  const r = run();
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(message);
});

test('no records at all is a failure, not an empty table that looks clean', () => {
  const r = run('--print');
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/no records at all/);
});

test('a README without the markers is refused and left untouched', () => {
  sample();
  writeFileSync(readme, '# no markers\n');
  const r = run();
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/has no <!-- robustness:start --> … <!-- robustness:end --> section/);
  expect(readFileSync(readme, 'utf8')).toBe('# no markers\n');
});
