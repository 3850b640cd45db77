/**
 * `directflip plan --svg` (issue 15 item 4): the picture is parsed as XML and its geometry checked
 * against the plan's own JSON — each connector's mode rectangle, each guest plane's rectangle
 * equal to its dst, the host's planes kept on that CRTC, painted bottom first in zpos order.
 */
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openHost } from '../../src/kernel/host';
import { readTopology } from '../../src/kernel/topology';
import { renderSvg } from '../../src/svg/picture';
import { writePicture } from '../../src/svg/write';
import { runCli } from '../helpers/cli';
import { REPO } from '../helpers/fixtures';
import { paintedInZposOrder, readPicture } from '../helpers/svg';

const kiosk = readFileSync(join(REPO, 'examples', 'gvt-kiosk-hdmi.xml'), 'utf8');
/** The kiosk guest's primary in a 960x540 window on an overlay: fbcon's primary stays under it. */
const windowed = kiosk.replace('to="primary"/>', 'to="overlay" x="100" y="50" width="960" height="540"/>');

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'directflip-svg-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

type JsonPlane = { planeId: number; from: string; dst: { x: number; y: number; w: number; h: number } };

function planBoth(xml: string, host: string) {
  const svg = join(dir, 'plan.svg');
  const r = runCli(['plan', '-', '--host', host, '--svg', svg], xml);
  expect(r.status).toBe(0);
  const j = JSON.parse(runCli(['plan', '-', '--host', host, '--json'], xml).stdout);
  return { pic: readPicture(svg), outputs: j.plan.outputs as { connector: string; crtcId: number; mode: { hdisplay: number; vdisplay: number }; planes: JsonPlane[] }[] };
}

test("the kiosk full-screen: the mode's rectangle, the guest's primary and cursor at their dst, cursor on top", () => {
  const { pic, outputs } = planBoth(kiosk, 'sim:gvt-skylake');
  expect(pic.root).toBe('http://www.w3.org/2000/svg svg');
  expect(pic.screens.map((s) => [s.connector, s.crtc, s.mode])).toEqual(outputs.map((o) => [o.connector, o.crtcId, { w: o.mode.hdisplay, h: o.mode.vdisplay }]));
  const [s] = pic.screens;
  const guest = s.planes.filter((p) => p.owner === 'kiosk-hdmi');
  expect(guest.map((p) => [p.plane, p.kind, p.rect]).sort()).toEqual(outputs[0].planes.map((p) => [p.planeId, p.from === 'cursor' ? 'cursor' : 'guest', p.dst]).sort());
  expect(paintedInZposOrder(s)).toBe(true);
  expect(s.planes.at(-1)!.kind).toBe('cursor');
  expect(s.planes.find((p) => p.kind === 'cursor')!.label).toMatch(/^plane \d+ cursor ← kiosk-hdmi cursor \(assumed size\) \(zpos \d+\)$/);
});

test('a window on an overlay: the host primary fbcon shows is drawn as kept, under the guest', () => {
  const { pic, outputs } = planBoth(windowed, 'sim:gvt-skylake');
  const host = openHost('sim:gvt-skylake');
  let kept;
  try {
    const dev = host.backend.openKms(host.cards()[0]);
    const t = readTopology(dev);
    dev.close();
    kept = t.planes.filter((p) => p.crtcId === outputs[0].crtcId && p.fbId !== 0 && !outputs[0].planes.some((g) => g.planeId === p.id));
  } finally {
    host.close();
  }
  expect(kept.length).toBeGreaterThan(0);
  const s = pic.screens[0];
  expect(s.planes.filter((p) => p.kind === 'host').map((p) => [p.plane, p.owner, p.rect])).toEqual(kept.map((p) => [p.id, 'host', p.dst]));
  const overlay = s.planes.find((p) => p.owner === 'kiosk-hdmi' && p.kind === 'guest')!;
  expect(overlay.rect).toEqual({ x: 100, y: 50, w: 960, h: 540 });
  expect(s.planes.findIndex((p) => p.kind === 'host')).toBeLessThan(s.planes.indexOf(overlay));
  expect(paintedInZposOrder(s)).toBe(true);
});

test('hostile names are escaped: the picture stays well-formed XML', () => {
  const svg = renderSvg({
    title: 'domain <a&b>"\u0001',
    screens: [{ connector: 'HDMI-A-1', crtcId: 1, width: 100, height: 50, mode: '100x50@60', layers: [{ planeId: 2, planeType: 'primary', kind: 'guest', owner: '"><script>&', zpos: 0, dst: { x: 0, y: 0, w: 100, h: 50 }, label: '</text>\uffff' }] }],
    notes: [],
  });
  const file = join(dir, 'x.svg');
  writeFileSync(file, svg);
  expect(readPicture(file).screens[0].planes[0]).toMatchObject({ owner: '"><script>&', label: '</text>\ufffd (zpos 0)' });
});

test('an unwritable --svg FILE is an error naming it; nothing else is written', () => {
  const r = runCli(['plan', join(REPO, 'examples', 'gvt-kiosk-hdmi.xml'), '--host', 'sim:gvt-skylake', '--svg', join(dir, 'no', 'such', 'dir', 'p.svg')]);
  expect(r.status).toBe(1);
  expect(r.stderr).toContain(`cannot write the picture to ${join(dir, 'no', 'such', 'dir', 'p.svg')} (ENOENT): its directory does not exist`);
});

test('--svg never replaces what is not a regular file: a symbolic link, a directory, a FIFO, a device', () => {
  const pic = { title: 't', screens: [], notes: [] };
  const target = join(dir, 'target');
  writeFileSync(target, 'keep');
  const link = join(dir, 'link.svg');
  symlinkSync(target, link);
  expect(() => writePicture(link, pic)).toThrow(`cannot write the picture to ${link}: it is a symbolic link, which the picture would replace; name a new or regular file (for a link, the file it points to)`);
  expect(lstatSync(link).isSymbolicLink()).toBe(true);
  expect(readFileSync(target, 'utf8')).toBe('keep');
  mkdirSync(join(dir, 'd.svg'));
  expect(() => writePicture(join(dir, 'd.svg'), pic)).toThrow(expect.objectContaining({ code: 'EISDIR', message: expect.stringContaining('it is a directory') }));
  expect(spawnSync('mkfifo', [join(dir, 'f.svg')]).status).toBe(0);
  expect(() => writePicture(join(dir, 'f.svg'), pic)).toThrow(/it is not a regular file/);
  expect(lstatSync(join(dir, 'f.svg')).isFIFO()).toBe(true);
  expect(() => writePicture('/dev/null', pic)).toThrow(/\/dev\/null: it is a device/);
  expect(lstatSync('/dev/null').isCharacterDevice()).toBe(true);
  // Through the CLI: exit 1, the reason on stderr.
  const r = runCli(['plan', join(REPO, 'examples', 'gvt-kiosk-hdmi.xml'), '--host', 'sim:gvt-skylake', '--svg', link]);
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('it is a symbolic link');
  // A link planted where the temporary file goes is not followed; a regular file is replaced whole.
  const file = join(dir, 'p.svg');
  writeFileSync(file, 'old');
  symlinkSync(target, `${file}.directflip-tmp-${process.pid}`);
  writePicture(file, pic);
  expect(readFileSync(target, 'utf8')).toBe('keep');
  expect(readFileSync(file, 'utf8')).toContain('<svg');
  expect(readdirSync(dir).filter((n) => n.includes('directflip-tmp') && n !== `p.svg.directflip-tmp-${process.pid}`)).toEqual([]);
});

test('--svg given twice: the last counts, as for other options, not a yargs crash', () => {
  const r = runCli(['plan', join(REPO, 'examples', 'gvt-kiosk-hdmi.xml'), '--host', 'sim:gvt-skylake', '--svg', join(dir, 'a.svg'), '--svg', join(dir, 'b.svg')]);
  expect([r.status, r.stderr]).toEqual([0, '']);
  expect(readdirSync(dir)).toEqual(['b.svg']);
});
