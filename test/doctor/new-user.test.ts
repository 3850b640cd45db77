import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckResult } from '../../src/doctor/types';
import { runCli } from '../helpers/cli';
import { REPO } from '../helpers/fixtures';
import { commandsOf, doctor, SimShell } from './sim-shell';

jest.setTimeout(180_000);

/**
 * Issue 15, "Must show": tried as a new user would on a fresh clone. The README says how to see
 * the demo, then how to run doctor on the broken simulated hosts; on each, the user fixes the
 * first ✘ by running exactly the commands its fix names, runs doctor again, and goes on until
 * no ✘ is left. The simulated host follows those commands as the real one would (SimShell).
 */
const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## Is this host ready?'), readme.indexOf('\n## ', readme.indexOf('## Is this host ready?') + 5));

/** The ✘ each broken host exists to show. */
const BROKEN: Record<string, string> = {
  'gvt-skylake-no-gvt': 'gvt.enabled',
  'gvt-skylake-compositor': 'drm.master',
  'gvt-skylake-hook-not-noticed': 'hook.noticed',
  'gvt-skylake-no-udmabuf': 'udmabuf',
};

test('the README: the quick start runs the demo, and its doctor section names the four broken hosts', () => {
  expect(readme).toMatch(/```sh\nscripts\/setup\.sh && npx directflip demo\n```/);
  const hosts = [...section.matchAll(/npx directflip doctor --host sim:([a-z0-9-]+)/g)].map((m) => m[1]);
  expect(hosts.sort()).toEqual(Object.keys(BROKEN).sort());
});

test('the demo the README starts with runs and gives the monitor back', () => {
  const out = mkdtempSync(join(tmpdir(), 'directflip-newuser-demo-'));
  try {
    const r = runCli(['demo', '--out', out, '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, restoredExactly: true });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

describe.each(Object.entries(BROKEN))('doctor on %s, each ✘ fixed by following its own text', (profile, distinctive) => {
  let root: string;
  let shell: SimShell;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), `directflip-newuser-${profile}-`));
    shell = new SimShell(root);
  });
  afterAll(() => {
    shell?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test('every ✘ names a fix the host can follow, and after following them all doctor exits 0', () => {
    const kiosk = join(REPO, 'examples', 'gvt-kiosk-hdmi.xml');
    const failed: CheckResult[] = [];
    const followed: string[] = [];
    let last = doctor(profile, root, [kiosk]);
    expect(last.status).toBe(1);
    for (let round = 0; round < 10 && last.report.checks.some((c) => c.mark === 'fail'); round++) {
      const first = last.report.checks.find((c) => c.mark === 'fail')!;
      failed.push(first);
      const cmds = commandsOf(first.fix ?? '');
      expect([first.id, cmds.length > 0]).toEqual([first.id, true]);
      for (const cmd of cmds) {
        shell.run(cmd);
        followed.push(cmd);
      }
      last = doctor(profile, root, [kiosk]);
      // That line is ✔ now: the fix fixed what it said.
      expect(last.report.checks.filter((c) => c.id === first.id && c.domain === first.domain).map((c) => c.mark)).toContain('ok');
    }
    expect(failed.map((c) => c.id)).toContain(distinctive);
    expect(last.report.checks.filter((c) => c.mark === 'fail')).toEqual([]);
    expect(last.status).toBe(0);
    expect(last.report.ok).toBe(true);
    // The text form says the same, one line per check, ✘ none.
    const text = runCli(['doctor', '--host', `sim:${profile}`, '--root', root, kiosk]);
    expect(text.status).toBe(0);
    const lines = text.stdout.trim().split('\n').slice(1, -1);
    expect(lines.length).toBe(last.report.checks.length);
    for (const l of lines) expect(l).toMatch(/^[✔!] /);
    expect(followed.length).toBeGreaterThan(0);
  });
});
