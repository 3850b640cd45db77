/**
 * directflip(1) (issue 15 item 7): the committed man/directflip.1 is exactly what
 * scripts/gen-man.js makes from the yargs definitions the CLI runs, `man -l` renders it without
 * a warning, and every command's --help has what a man page needs.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli';
import { REPO } from '../helpers/fixtures';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const gen = require(join(REPO, 'scripts', 'gen-man.js')) as {
  page(): string;
  PAGE: string;
  describeCommands(): { commands: { command: string; describe: string; epilogue: string; examples: { cmd: string }[]; options: { name: string; describe?: string }[]; positionals: { name: string; describe?: string }[] }[] };
};

/** yargs's own spelling of an option: -x for one letter, --name otherwise. */
const flag = (name: string) => (name.length === 1 ? `-${name}` : `--${name}`);

test('the committed page is current: regenerate with `node scripts/gen-man.js --write` when this fails', () => {
  expect(readFileSync(join(REPO, 'man', 'directflip.1'), 'utf8')).toBe(gen.page());
  expect(spawnSync(process.execPath, [join(REPO, 'scripts', 'gen-man.js'), '--check']).status).toBe(0);
});

test('the page is the same from every checkout and working directory: no path of this one is in it', () => {
  const page = gen.page();
  expect(page).not.toContain(REPO);
  expect(page).not.toContain(process.cwd());
});

test('man -l renders it with no groff or man warning, every command and option in it', () => {
  const r = spawnSync('man', ['--warnings', '-l', join(REPO, 'man', 'directflip.1')], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '100', MANPAGER: 'cat', PAGER: 'cat' } });
  if (r.error) throw new Error(`man cannot run (${r.error.message}): install the Debian package man-db (scripts/setup.sh does)`);
  expect([r.status, r.stderr]).toEqual([0, '']);
  const rendered = r.stdout.replace(/\u2010|\u2212/g, '-');
  for (const c of gen.describeCommands().commands) {
    expect(rendered).toContain(`directflip ${c.command.split(' ')[0]}`);
    for (const o of c.options) expect(rendered).toContain(flag(o.name));
  }
  for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'COMMANDS', 'GLOBAL OPTIONS', 'EXIT STATUS', 'ENVIRONMENT', 'FILES', 'SEE ALSO']) expect(rendered).toMatch(new RegExp(`^${section}$`, 'm'));
});

test('a stale page fails the check', () => {
  const copy = mkdtempSync(join(tmpdir(), 'directflip-man-'));
  try {
    for (const d of ['scripts', 'package.json']) cpSync(join(REPO, d), join(copy, d), { recursive: true });
    for (const d of ['dist', 'node_modules']) symlinkSync(join(REPO, d), join(copy, d));
    mkdirSync(join(copy, 'man'));
    writeFileSync(join(copy, 'man', 'directflip.1'), gen.page().replace('"directflip 0.1.0"', '"directflip 0.0.9"'));
    const r = spawnSync(process.execPath, [join(copy, 'scripts', 'gen-man.js'), '--check'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/man\/directflip\.1 is stale: run `npm run build && node scripts\/gen-man\.js --write`/);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});

test.each(gen.describeCommands().commands.map((c) => [c.command, c] as const))('%s: --help has a description, every option described, examples and the exit status', (command, c) => {
  expect(c.describe.length).toBeGreaterThan(20);
  for (const o of [...c.options, ...c.positionals]) expect([o.name, (o.describe ?? '').length > 10]).toEqual([o.name, true]);
  expect(c.examples.length).toBeGreaterThan(0);
  expect(c.epilogue).toMatch(/Exit status: 0 /);
  const help = runCli([command.split(' ')[0], '--help']);
  expect(help.status).toBe(0);
  for (const want of ['Examples:', 'Exit status', ...c.options.map((o) => flag(o.name))]) expect(help.stdout).toContain(want);
});
