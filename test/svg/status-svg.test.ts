/**
 * `directflip status --svg` (issue 15 item 4) against a real daemon on a simulated host: two
 * guests started through the hook, one in a window over fbcon on HDMI-A-1 and one full screen
 * on DP-1. The picture's rectangles are the daemon's dst rectangles, the host plane it keeps
 * under the window is the simulated kernel's own, and each screen is painted in zpos order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cardPlanesFromDump } from '../../src/svg/from-status';
import { runCli } from '../helpers/cli';
import { dumpOf, FaultRig, gvtGuest } from '../helpers/e2e-rig';
import { paintedInZposOrder, readPicture } from '../helpers/svg';

jest.setTimeout(60_000);

let rig: FaultRig;
let dir: string;
beforeAll(async () => {
  rig = await FaultRig.start('sim:gvt-skylake-directflip');
  dir = mkdtempSync(join(tmpdir(), 'directflip-status-svg-'));
});
afterAll(() => {
  rig?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('each connector the daemon shows, its planes by domain at their dst, the host plane kept under the window', async () => {
  const w = gvtGuest(1, 'w', 'HDMI-A-1', { window: { x: 100, y: 100, w: 960, h: 540 } });
  const a = gvtGuest(2, 'a', 'DP-1', { mode: '1920x1080' });
  rig.startGuest('w', w);
  rig.startGuest('a', a);
  const status = await rig.status();
  const file = join(dir, 'status.svg');
  const r = runCli(['status', '--bus', rig.bus.address, '--svg', file]);
  expect(r.status).toBe(0);
  const pic = readPicture(file);
  expect(pic.notes).toEqual([]);
  const planes = status.flatMap((d) => d[2].map((p) => ({ domain: d[0], connector: p[0], mode: p[1], crtc: p[2], plane: p[3], from: p[5], dst: p[7] })));
  expect(pic.screens.map((s) => s.connector).sort()).toEqual(['DP-1', 'HDMI-A-1']);
  for (const s of pic.screens) {
    const ours = planes.filter((p) => p.connector === s.connector);
    expect(s.crtc).toBe(ours[0].crtc);
    expect(`${s.mode.w}x${s.mode.h}`).toBe(/^\d+x\d+/.exec(ours[0].mode)![0]);
    expect(s.planes.filter((p) => p.kind !== 'host').map((p) => [p.owner, p.plane, [p.rect.x, p.rect.y, p.rect.w, p.rect.h]])).toEqual(
      expect.arrayContaining(ours.map((p) => [p.domain, p.plane, p.dst])),
    );
    expect(s.planes.filter((p) => p.kind !== 'host')).toHaveLength(ours.length);
    expect(paintedInZposOrder(s)).toBe(true);
  }
  // Under the window: the planes the simulated kernel still has on that CRTC, none of them a guest's.
  const hdmi = pic.screens.find((s) => s.connector === 'HDMI-A-1')!;
  const held = new Set(planes.map((p) => p.plane));
  const kept = cardPlanesFromDump(await dumpOf(rig)).filter((c) => c.crtcId === hdmi.crtc && c.fbId !== 0 && !held.has(c.planeId));
  expect(kept.length).toBeGreaterThan(0);
  expect(hdmi.planes.filter((p) => p.kind === 'host').map((p) => [p.plane, p.rect])).toEqual(kept.map((c) => [c.planeId, c.dst]));
  const window = hdmi.planes.find((p) => p.owner === 'w')!;
  expect(window.rect).toEqual({ x: 100, y: 100, w: 960, h: 540 });
  expect(hdmi.planes.findIndex((p) => p.kind === 'host')).toBeLessThan(hdmi.planes.indexOf(window));
  expect(pic.screens.find((s) => s.connector === 'DP-1')!.planes.filter((p) => p.kind === 'host')).toEqual([]);
  rig.stopGuest('w', w);
  rig.stopGuest('a', a);
  const none = runCli(['status', '--bus', rig.bus.address, '--svg', file]);
  expect([none.status, readPicture(file).screens, readPicture(file).notes]).toEqual([0, [], ['directflipd shows no domain']]);
});
