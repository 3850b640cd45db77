import { readFileSync } from 'node:fs';
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
