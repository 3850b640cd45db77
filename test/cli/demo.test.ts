import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePng } from '../../src/util/png';
import { runCli } from '../helpers/cli';

jest.setTimeout(60_000);

/** What the demo starts: directflipd and the guest's QEMU, each on a private bus of its own. */
const daemons = () => spawnSync('ps', ['-eo', 'stat,args'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => /(directflip daemon --bus|qemu-system-x86_64 .*addr)=?unix:path=\/tmp\/directflip-bus-/.test(l) && !l.startsWith('Z'));

test('demo: the guest goes on HDMI-A-1 and the monitor comes back pixel for pixel, leaving nothing running', () => {
  const out = mkdtempSync(join(tmpdir(), 'directflip-demo-test-'));
  const before = daemons().length;
  const r = runCli(['demo', '--out', out, '--json']);
  expect(r.status).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j.ok).toBe(true);
  expect(j.restoredExactly).toBe(true);
  const ops = ['prepare:0', 'start:0', 'started:0', 'stopped:0', 'release:0'];
  expect(j.steps.map((s: { domain: string; op: string; status: number }) => `${s.domain} ${s.op}:${s.status}`)).toEqual(['kiosk-hdmi', 'dual-head', 'df-tcg-vga'].flatMap((d) => ops.map((o) => `${d} ${o}`)));
  const [b, d, a] = ['before', 'during', 'after'].map((w) => decodePng(readFileSync(join(out, `kiosk-hdmi-HDMI-A-1-${w}.png`))));
  expect([b.width, b.height]).toEqual([1920, 1080]);
  expect(d.rgba.equals(b.rgba)).toBe(false); // the guest's planes were on screen
  expect(a.rgba.equals(b.rgba)).toBe(true);
  // The real QEMU guest's firmware text reached the monitor, and left it as it was.
  const [qb, qd, qa] = ['before', 'during', 'after'].map((w) => decodePng(readFileSync(join(out, `df-tcg-vga-HDMI-A-1-${w}.png`))));
  expect(qd.rgba.equals(qb.rgba)).toBe(false);
  expect(qa.rgba.equals(qb.rgba)).toBe(true);
  expect(daemons().length).toBe(before);
  rmSync(out, { recursive: true, force: true });
});

test('demo prints a readable account of each step', () => {
  const out = mkdtempSync(join(tmpdir(), 'directflip-demo-test-'));
  const r = runCli(['demo', '--out', out]);
  expect(r.status).toBe(0);
  for (const want of ['hook kiosk-hdmi prepare begin', 'kiosk-hdmi active: HDMI-A-1 1920x1080@60', 'pixel for pixel', '<5>domain=kiosk-hdmi active']) expect(r.stdout).toContain(want);
  rmSync(out, { recursive: true, force: true });
});
