import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, STACK_RE } from '../helpers/cli';
import { REPO } from '../helpers/fixtures';

const kiosk = join(REPO, 'examples', 'gvt-kiosk-hdmi.xml');

test('plan prints the assignment table, the TEST_ONLY count and the time', () => {
  const r = runCli(['plan', kiosk, '--host', 'sim:gvt-skylake']);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/CONNECTOR\s+CRTC\s+MODE\s+HOST PLANE\s+← GUEST PLANE\s+SOURCE\s+GEOMETRY\s+ZPOS/);
  expect(r.stdout).toMatch(/HDMI-A-1\s+\d+ \(pipe B\)\s+1920x1080@60\s+\d+ primary\s+guest primary \(assumed\)\s+qemu-dbus\s+1920x1080 → 1920x1080\+0\+0/);
  expect(r.stdout).toMatch(/\d+ cursor\s+guest cursor \(assumed\)\s+qemu-dbus\s+64x64 → 64x64\+0\+0/);
  // Mainline GVT-g: gvt-fb is unavailable, and plan says why before falling through.
  expect(r.stdout).toMatch(/plane\[1\]: source qemu-dbus: gvt-fb unavailable \(.*ESRCH.*\); QEMU's D-Bus display/);
  expect(r.stdout).toMatch(/^2 TEST_ONLY commits, planned in [\d.]+ ms \(search [\d.]+ ms\)$/m);
  expect(r.stdout).toMatch(/assumed .*only the VM's QEMU/);
});

test('plan --json gives the same data as the table', () => {
  const r = runCli(['plan', kiosk, '--host', 'sim:gvt-skylake', '--json']);
  expect(r.status).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j.ok).toBe(true);
  const o = j.plan.outputs[0];
  expect([o.connector, o.crtcIndex, o.mode.hdisplay, o.mode.vdisplay, o.mode.vrefresh]).toEqual(['HDMI-A-1', 1, 1920, 1080, 60]);
  expect(o.planes.map((p: { planeType: string; from: string }) => `${p.from}→${p.planeType}`)).toEqual(['primary→primary', 'cursor→cursor']);
  expect(j.plan.testOnlyCommits).toBe(2);
  expect(Object.keys(j.assumptions)).toEqual(['directflip/output[1]/plane[1]', 'directflip/output[1]/plane[2]']);
});

test("on Intel's direct-flip kernel, auto picks gvt-fb and the guest's own kernel fb", () => {
  const r = runCli(['plan', kiosk, '--host', 'sim:gvt-skylake-directflip', '--json']);
  expect(r.status).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j.sources['directflip/output[1]/plane[1]']).toEqual({ source: 'gvt-fb', why: expect.stringMatching(/^kernel fb \d+ via intel_vgpu\/plane_id_index$/) });
  expect(j.assumptions).toEqual({});
});

test('without a D-Bus display and without the direct-flip ABI, auto is an error naming both remedies', () => {
  const xml = readFileSync(kiosk, 'utf8').replace("<graphics type='dbus'/>", '');
  const r = runCli(['plan', '--host', 'sim:gvt-skylake', '-'], xml);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/no plane source: gvt-fb: .*; qemu-dbus: the domain has no <graphics type='dbus'\/>\. Add <graphics type='dbus'\/> to the domain, or run a kernel with Intel's local-display direct-flip ABI/);
  const g = runCli(['plan', '--host', 'sim:gvt-skylake', '-'], readFileSync(kiosk, 'utf8').replace('to="primary"/>', 'to="primary" source="gvt-fb"/>'));
  expect(g.status).toBe(1);
  expect(g.stderr).toMatch(/source gvt-fb is unavailable: .*ESRCH/);
});

test('plan reads the real guest plane when the mdev answers (mbochs on vkms)', () => {
  const xml = `<domain><name>m</name><metadata><directflip xmlns="https://directflip.github.io/xmlns/domain/1"><output connector="Virtual-1">
    <plane from="primary" mdev="0f2d7e6a-5c4b-4a39-8e21-7d6c5b4a3f10" to="overlay"/></output></directflip></metadata>
    <devices><graphics type='dbus'/><hostdev mode='subsystem' type='mdev'><source><address uuid='0f2d7e6a-5c4b-4a39-8e21-7d6c5b4a3f10'/></source></hostdev></devices></domain>`;
  const r = runCli(['plan', '--json', '--host', 'sim:vkms', '-'], xml);
  expect(r.status).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j.assumptions).toEqual({});
  expect(j.plan.outputs[0].planes[0].src).toEqual({ x: 0, y: 0, w: 1024, h: 768 });
});

test('a refusal names the request and every reason, exit 1, no stack trace', () => {
  const r = runCli(['plan', kiosk, '--host', 'sim:vkms']);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/directflip\/output\[1\]: no host plane fits: there is no connector HDMI-A-1 \(this card has Virtual-1\)/);
  expect(r.stderr).not.toMatch(STACK_RE);
  const j = runCli(['plan', '--json', kiosk, '--host', 'sim:vkms']);
  expect(JSON.parse(j.stdout).error).toMatchObject({ code: 'EDF_PLAN_REFUSED', request: 'directflip/output[1]' });
});

test('plan of a domain without our metadata says so', () => {
  const r = runCli(['plan', join(REPO, 'examples', 'no-metadata.xml'), '--host', 'sim:gvt-skylake']);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/not configured for directflip/);
});

test('plan --help explains every option with examples', () => {
  const r = runCli(['plan', '--help']);
  for (const want of ['<file>', '--host', '--budget-ms', '--json', 'Examples:', 'TEST_ONLY', 'Exit status']) expect(r.stdout).toContain(want);
});

describe('--root: host-side configuration in DIR/etc/directflip/domains.d', () => {
  const NS = 'https://directflip.github.io/xmlns/domain/1';
  const xml = readFileSync(kiosk, 'utf8');
  const bare = xml.replace(/<metadata>[\s\S]*<\/metadata>/, '');
  const mdev = /uuid='([0-9a-f-]{36})'/.exec(xml)![1];
  let root: string;
  let file: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'directflip-plan-root-'));
    mkdirSync(join(root, 'etc/directflip/domains.d'), { recursive: true });
    file = join(root, 'etc/directflip/domains.d/kiosk-hdmi.xml');
    writeFileSync(file, `<directflip xmlns="${NS}"><output connector="DP-1"><plane from="primary" mdev="${mdev}"/></output></directflip>`);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  test('plan and validate use the file when the metadata has none, and say so', () => {
    const p = runCli(['plan', '-', '--host', 'sim:gvt-skylake', '--root', root], bare);
    expect(p.status).toBe(0);
    expect(p.stdout).toMatch(/^DP-1\s/m);
    expect(p.stdout).toContain(`config: from ${file} (the domain's <metadata> has none)`);
    const j = JSON.parse(runCli(['plan', '-', '--json', '--host', 'sim:gvt-skylake', '--root', root], bare).stdout);
    expect(j.configFrom).toEqual({ origin: 'domains.d', file, ignored: null });
    const v = runCli(['validate', '-', '--root', root], bare);
    expect([v.status, v.stdout]).toEqual([0, expect.stringContaining(`output DP-1`)]);
    expect(v.stdout).toContain(`config: from ${file}`);
  });

  test('the metadata wins and the file is named as ignored; without --root nothing is read from DIR', () => {
    const p = runCli(['plan', kiosk, '--host', 'sim:gvt-skylake', '--root', root]);
    expect(p.stdout).toMatch(/^HDMI-A-1\s/m);
    expect(p.stdout).toContain(`config: from the domain's <metadata>; ${file} is ignored while the metadata has one`);
    const none = runCli(['plan', '-', '--host', 'sim:gvt-skylake'], bare);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/not configured for directflip \(no <directflip> in <metadata>, and none of \/etc\/directflip\/domains\.d\/5b0b4c1e-8f4f-4f53-9d4e-2d7c0c0a7a11\.xml, \/etc\/directflip\/domains\.d\/kiosk-hdmi\.xml\)/);
  });

  test('a bad file: exit 1, the file named, its fields in --json', () => {
    writeFileSync(file, `<directflip xmlns="${NS}" on-error="never"><output connector="DP-1"><plane from="primary" mdev="${mdev}"/></output></directflip>`);
    for (const cmd of ['plan', 'validate']) {
      const r = runCli([cmd, '-', '--root', root, ...(cmd === 'plan' ? ['--host', 'sim:gvt-skylake'] : [])], bare);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`stdin: ${file}: directflip/@on-error: "never" is not allowed; allowed: warn, abort`);
      const j = JSON.parse(runCli([cmd, '-', '--json', '--root', root], bare).stdout);
      expect(j.error).toMatchObject({ code: 'EDF_BAD_VALUE', file, attribute: 'on-error' });
    }
  });
});
