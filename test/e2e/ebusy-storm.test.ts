import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBus } from '../helpers/bus';
import { FaultRig, differing, pixelAt, screens } from '../helpers/e2e-rig';
import { FakeQemu } from '../helpers/e2e-qemu';
import { runCli } from '../helpers/cli';
import { REPO } from '../helpers/fixtures';

/**
 * Issue 13 item 1, must-show "an EBUSY storm loses no frame that should be shown, and counts the
 * replaced ones", with real processes: `directflip daemon --host sim:vkms --root`, a dbus-daemon,
 * the hook as libvirt runs it, and on the VM's own bus a QEMU D-Bus display (played in this
 * process, so the test knows which frame is the last) that the daemon's bus helper registers a
 * listener with. The simulated kernel then refuses the next commits with EBUSY
 * (Simulator.FailNext) while frames keep coming: the newest frame must reach the screen once the
 * storm passes, every replaced frame is counted, and every refusal is in status.
 */
jest.setTimeout(60_000);

const W = 64;
const H = 48;
const STORM = 40;
const FRAMES = 60;
type StreamRow = [string, string, string, string, string, number, number, number, bigint];
const xml = readFileSync(join(REPO, 'examples', 'tcg-vga-dbus.xml'), 'utf8');

let rig: FaultRig;
let vmBus: ReturnType<typeof startBus> | undefined;
let qemu: FakeQemu | undefined;
beforeEach(async () => (rig = await FaultRig.start('sim:vkms')));
afterEach(async () => {
  qemu?.close();
  vmBus?.stop();
  await rig.stop();
});

const row = async () => ((await rig.call('Streams', '', []))[0] as StreamRow[]).find((r) => r[0] === 'df-tcg-vga');
const colour = (k: number) => [(k * 37) & 0xff, 255 - k, (k * 11 + 5) & 0xff];
const shownAt = (x: number, y: number) => pixelAt(rig, 'Virtual-1', x, y);
/** Until the stream has taken in `n` frames and each was either flipped or replaced by a newer one. */
const settled = (n: number) => rig.until(async () => {
  const r = await row();
  return r && r[5] === n && r[6] + r[7] === n ? r : null;
});

test('an EBUSY storm while frames stream: the last frame sent is on screen, every replaced frame and every refusal is counted', async () => {
  const before = await screens(rig, ['Virtual-1']);
  vmBus = startBus();
  qemu = await FakeQemu.start(vmBus.address, W, H);
  const live = xml.replace("<graphics type='dbus'/>", `<graphics type='dbus' address='${vmBus.address}'/>`);
  for (const [op, sub, body] of [['prepare', 'begin', xml], ['start', 'begin', live], ['started', 'begin', live]]) {
    const r = rig.hook('df-tcg-vga', op, sub, body);
    expect([op, r.status, r.stdout, r.stderr]).toEqual([op, 0, '', '']);
  }
  await qemu.attached();
  qemu.scanout(colour(0));
  expect((await settled(1))?.slice(3, 4)).toEqual(['streaming']);
  expect(await shownAt(10, 10)).toEqual(colour(0));

  // The storm: the kernel refuses the next STORM commits, while QEMU sends FRAMES more.
  await rig.sim('FailNext', 'ssu', ['DRM_IOCTL_MODE_ATOMIC', 'EBUSY', STORM]);
  for (let k = 1; k <= FRAMES; k++) {
    qemu.scanout(colour(k));
    if (k % 10 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  const after = await settled(FRAMES + 1);
  expect(after).not.toBeNull();
  const [, , , state, detail, received, flipped, dropped] = after!;
  expect(state).toBe('streaming');
  expect(received).toBe(FRAMES + 1);
  // Frames replaced while the kernel refused: counted, and never more than were sent.
  expect(dropped).toBeGreaterThan(0);
  expect(flipped + dropped).toBe(received);
  // Every refusal was a commit of this plane's frames, re-queued and retried.
  expect(detail).toContain(`; ${STORM} commits refused busy and retried`);
  // Nothing that should be shown was lost: the newest frame is on the monitor.
  expect(await shownAt(10, 10)).toEqual(colour(FRAMES));
  expect(rig.daemon!.log()).not.toMatch(/^<[0-3]>/m);
  // What an admin sees: `directflip status` counts them too.
  const st = runCli(['status', '--bus', rig.bus.address]);
  expect(st.stdout).toMatch(new RegExp(`df-tcg-vga\\s+\\S+\\s+qemu-dbus\\s+streaming\\s+${received}\\s+${flipped}\\s+${dropped}\\s`));
  expect(st.stdout).toContain(`${STORM} commits refused busy and retried`);

  for (const [op, sub] of [['stopped', 'end'], ['release', 'end']]) expect(rig.hook('df-tcg-vga', op, sub, live).status).toBe(0);
  expect(await rig.status()).toEqual([]);
  expect(differing(await screens(rig, ['Virtual-1']), before)).toEqual([]);
  rig.expectNoCrash();
});
