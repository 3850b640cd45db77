import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultRig } from '../helpers/fault-rig';
import { REPO } from '../helpers/fixtures';
import { commandsOf, programsOf } from './extract';
import type { DocCommand } from './extract';

/**
 * Doc tests (issue 15 item 5): every command in the README and docs/ runs, in order, each doc
 * in its own workspace: `directflip` is this checkout on the simulated GVT-g host the docs
 * describe (with a real daemon on a private bus), `virsh` is real virsh on libvirt's test
 * driver holding the docs' `win11`, and `virsh start` runs the installed hook as libvirt does.
 * What cannot run on a machine without the hardware (mdevctl, the boot loader, systemd as
 * init) is named in its own test with the reason, and only its shell syntax is checked.
 */
const HOST = 'sim:gvt-skylake-directflip';
const DOCS = ['README.md', ...readdirSync(join(REPO, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];

/** Commands only a real host can run, and why not here. */
const HOST_ONLY: [RegExp, string][] = [
  [/^update-grub$/, 'rewrites the boot loader of a real host'],
  [/^reboot$/, 'reboots the host'],
  [/^mdevctl /, 'creates a vGPU, which needs an mdev-capable GPU (GVT-g) and VFIO; this kernel has neither'],
  [/^systemctl /, 'needs systemd running as init'],
  [/^journalctl /, 'reads the journal of systemd running as init'],
  [/^ls \/sys\/bus\/pci\//, "lists a real GPU's sysfs"],
  [/^echo [^>]*> \/etc\//, "writes the host's /etc"],
];
const hostOnlyWhy = (text: string) => HOST_ONLY.find(([re]) => re.test(text))?.[1];
/** Commands CI itself runs first on a fresh machine, so a test inside that run does not. */
const CI_RUNS: Record<string, string> = {
  'scripts/setup.sh': 'scripts/setup.sh',
  'npm test': 'npm test',
};

/** The README's commands start with the set-up CI has done already. */
const afterSetup = (text: string) => text.replace(/^scripts\/setup\.sh && /, '');

function kindOf(c: DocCommand): 'ci' | 'host-only' | 'run' {
  if (c.text in CI_RUNS || afterSetup(c.text) in CI_RUNS) return 'ci';
  if (hostOnlyWhy(c.text)) return 'host-only';
  return 'run';
}

/** The options each subcommand takes, from its own --help: the stand-in fills in only those. */
function optionsTaken(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const top = spawnSync(process.execPath, [join(REPO, 'bin/directflip'), '--help'], { encoding: 'utf8' }).stdout;
  for (const sub of new Set([...top.matchAll(/^\s+directflip (\w+)/gm)].map((m) => m[1]))) {
    const help = spawnSync(process.execPath, [join(REPO, 'bin/directflip'), sub, '--help'], { encoding: 'utf8' }).stdout;
    out[sub] = ['--host', '--root', '--prefix', '--out'].filter((o) => new RegExp(`^\\s+${o}\\b`, 'm').test(help));
  }
  return out;
}

const OPTIONS = optionsTaken();

test('the README and docs/ have commands, and every program they run is known here', () => {
  const all = DOCS.flatMap((d) => commandsOf(join(REPO, d)));
  expect(all.length).toBeGreaterThan(15);
  const known = new Set(['npx', 'directflip', 'virsh']);
  const unknown = all.filter((c) => kindOf(c) === 'run').flatMap((c) => programsOf(afterSetup(c.text)).filter((p) => !known.has(p)).map((p) => `${c.file}:${c.line}: ${p}`));
  expect(unknown).toEqual([]);
});

test('the README\'s two commands are what CI runs: setup, then the tests', () => {
  const ci = readFileSync(join(REPO, '.ci/run'), 'utf8');
  const readme = commandsOf(join(REPO, 'README.md')).map((c) => c.text);
  expect(readme).toContain('scripts/setup.sh && npx directflip demo');
  expect(readme).toContain('scripts/setup.sh && npm test');
  expect(ci).toMatch(/^scripts\/setup\.sh$/m);
  expect(ci).toMatch(/^npm test$/m);
});

describe.each(DOCS)('%s', (doc) => {
  const commands = commandsOf(join(REPO, doc));
  const hostOnly = commands.filter((c) => kindOf(c) === 'host-only');
  let rig: FaultRig;
  let work: string;

  beforeAll(async () => {
    rig = await FaultRig.start(HOST);
    work = mkdtempSync(join(tmpdir(), 'directflip-doc-'));
    for (const d of ['examples', 'scripts']) symlinkSync(join(REPO, d), join(work, d));
    mkdirSync(join(work, 'virsh'));
    copyFileSync(join(__dirname, 'win11.xml'), join(work, 'virsh', 'win11.xml'));
  }, 30_000);
  afterAll(async () => {
    await rig?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  if (hostOnly.length) {
    test.each(hostOnly.map((c) => [`${c.line}: ${c.text} (${hostOnlyWhy(c.text)})`, c] as const))('not run here, real host only: %s', (_name, c) => {
      expect(hostOnlyWhy(c.text)).toBeTruthy();
      const syntax = spawnSync('bash', ['-n', '-c', c.text], { encoding: 'utf8' });
      expect([syntax.status, syntax.stderr]).toEqual([0, '']);
    });
  }

  test('every other command runs, in order, as the doc says', async () => {
    const failed: string[] = [];
    for (const c of commands.filter((x) => kindOf(x) === 'run')) {
      const text = afterSetup(c.text);
      const r = spawnSync('bash', ['-o', 'pipefail', '-c', text], {
        cwd: work,
        encoding: 'utf8',
        timeout: 60_000,
        env: {
          ...process.env,
          PATH: `${join(__dirname, 'bin')}:${process.env.PATH}`,
          DOCTEST_REPO: REPO,
          DOCTEST_WORK: work,
          DOCTEST_ROOT: rig.root,
          DOCTEST_HOST: HOST,
          DOCTEST_OPTIONS: JSON.stringify(OPTIONS),
          DIRECTFLIP_BUS_ADDRESS: rig.bus.address,
          DIRECTFLIP_RUN_DIR: rig.runDir,
        },
      });
      // doctor's exit status 1 means "ran, and found something to fix": what the doc shows it for.
      const ok = r.status === 0 || (r.status === 1 && /\bdoctor\b/.test(text) && /✔/.test(r.stdout));
      if (!ok) failed.push(`${c.file}:${c.line}: ${text}\n  exit ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').slice(-4).join('\n  ')}`);
    }
    expect(failed).toEqual([]);
    // The quick start ends with the guest shown: its `virsh start` ran the hook it installed.
    if (doc === 'docs/quick-start-gvt.md') expect(await rig.states()).toContainEqual(['win11', 'active']);
  }, 240_000);
});
