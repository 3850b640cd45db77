import { FaultRig, differing, dumpOf, gvtGuest, rowOf, screens, sizeOf } from '../helpers/e2e-rig';

/**
 * Issue 13 item 6, must-show "a guest at a non-default mode is re-adopted at that mode after
 * SIGKILL and after SIGTERM", with real processes on one --root: the daemon is killed (or stopped)
 * and started again, while its simulated kernel outlives it and applies the kernel's close
 * semantics (its fbs removed, and the last close lets fbcon repaint HDMI-A-1 at its boot
 * 1920x1080). The new daemon must show the planned 1280x720 again, the same picture byte for
 * byte, and the hook's release then gives the boot picture back exactly.
 */
jest.setTimeout(60_000);

const MONITORS = ['eDP-1', 'HDMI-A-1', 'DP-1'];
const xml = gvtGuest(7, 'kiosk', 'HDMI-A-1', { mode: '1280x720' });
let rig: FaultRig;
beforeEach(async () => (rig = await FaultRig.start('sim:gvt-skylake-directflip')));
afterEach(() => rig?.stop());

/** Waits for the restarted daemon to have re-adopted the guest; its Status row then. */
async function readopted() {
  return rig.until(async () => {
    const r = await rowOf(rig, 'kiosk');
    return r?.[1] === 'active' ? r : null;
  });
}

test('a guest at 1280x720 on a 1920x1080 monitor is re-adopted at 1280x720 after SIGKILL, and again after SIGTERM; release gives the boot picture back', async () => {
  const before = { shots: await screens(rig, MONITORS), dump: await dumpOf(rig) };
  expect(await sizeOf(rig, 'HDMI-A-1')).toEqual([1920, 1080]);
  rig.startGuest('kiosk', xml);
  expect(await sizeOf(rig, 'HDMI-A-1')).toEqual([1280, 720]);
  const shown = await screens(rig, MONITORS);

  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    await rig.daemon!.stop(signal);
    expect([signal, rig.alive()]).toEqual([signal, false]);
    await rig.startDaemon();
    const row = await readopted();
    expect([signal, row?.[2].map((p) => [p[0], p[1].split('@')[0]])]).toEqual([signal, [['HDMI-A-1', '1280x720']]]);
    expect([signal, await sizeOf(rig, 'HDMI-A-1')]).toEqual([signal, [1280, 720]]);
    // The very picture it showed before, on every monitor.
    expect([signal, differing(await screens(rig, MONITORS), shown)]).toEqual([signal, []]);
  }

  rig.stopGuest('kiosk', xml);
  expect(await rig.status()).toEqual([]);
  expect(differing(await screens(rig, MONITORS), before.shots)).toEqual([]);
  expect(await dumpOf(rig)).toEqual(before.dump);
  rig.expectNoCrash();
});
