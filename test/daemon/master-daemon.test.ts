import { FaultRig, faultCase } from '../helpers/fault-rig';
import { guestXml } from '../helpers/guests';

/**
 * Issue 13 item 9 and the fault matrix's "DRM master taken by another process, then regained"
 * (issue 12 item 10), with real processes: the daemon on a simulated host whose kernel hands
 * master to another file (as a compositor or a VT switch does), a real dbus-daemon, the hook.
 */
jest.setTimeout(120_000);

const hdmiXml = guestXml('on-hdmi', '11111111-1111-4111-8111-111111111111', 'HDMI-A-1', '1280x720', 'aaaaaaaa-0000-4000-8000-000000000001');
const dpXml = guestXml('on-dp', '22222222-2222-4222-8222-222222222222', 'DP-1', '1920x1080', 'aaaaaaaa-0000-4000-8000-000000000002');

let rig: FaultRig;
beforeEach(async () => {
  rig = await FaultRig.start('sim:gvt-skylake');
});
afterEach(async () => {
  await rig.stop();
});

const row = async (name: string) => (await rig.status()).find((d) => d[0] === name);

test('master taken while two guests are shown: both parked with the reason; given back: both shown again', async () => {
  await faultCase('DRM master taken by another process while two guests are shown (both parked), then regained', async () => {
    const before = { hdmi: await rig.screenshot('HDMI-A-1'), dp: await rig.screenshot('DP-1') };
    rig.startGuest('on-hdmi', hdmiXml);
    rig.startGuest('on-dp', dpXml);
    const shown = { hdmi: await rig.screenshot('HDMI-A-1'), dp: await rig.screenshot('DP-1') };

    await rig.sim('TakeMaster', '', []);
    const parked = await rig.until(async () => {
      const s = await rig.status();
      return s.length === 2 && s.every((d) => d[1] === 'parked') ? s : null;
    });
    for (const d of parked ?? []) expect(d[3].at(-1)).toMatch(/^parked: DRM master of \/dev\/dri\/card0 was taken away \(EBUSY; it is now held by /);
    // Nothing new can be planned meanwhile: the refusal says why and that it comes back by itself.
    const third = guestXml('third', '33333333-3333-4333-8333-333333333333', 'eDP-1', '1920x1080', 'aaaaaaaa-0000-4000-8000-000000000003');
    const r = rig.hook('third', 'prepare', 'begin', third.replace('<directflip ', '<directflip on-error="abort" '));
    expect([r.status, r.stdout]).toEqual([1, '']);
    expect(r.stderr).toMatch(/DRM master of \/dev\/dri\/card0 was taken away .*nothing can be planned until it comes back/);

    await rig.sim('ReturnMaster', '', []);
    expect(await rig.until(async () => (await rig.states()).every(([, s]) => s === 'active'))).toBe(true);
    expect((await rig.screenshot('HDMI-A-1')).equals(shown.hdmi)).toBe(true);
    expect((await rig.screenshot('DP-1')).equals(shown.dp)).toBe(true);
    expect(rig.daemon!.log()).toMatch(/<5>DRM master of \/dev\/dri\/card0 is back: re-showing the parked guests/);

    rig.stopGuest('on-dp', dpXml);
    rig.stopGuest('on-hdmi', hdmiXml);
    expect(await rig.status()).toEqual([]);
    const restored = (await rig.screenshot('HDMI-A-1')).equals(before.hdmi) && (await rig.screenshot('DP-1')).equals(before.dp);
    expect(restored).toBe(true);
    rig.expectNoCrash();
    return { restoredByteForByte: restored, leaks: await rig.leaks() };
  });
});

test('an idle daemon leaves master free: another file takes it; a prepare then is refused naming the holder, and succeeds once it is back', async () => {
  // TakeMaster's file sets master itself: with an idle daemon nothing has to be taken away.
  await rig.sim('TakeMaster', '', []);
  expect(rig.daemon!.log()).not.toMatch(/was taken away/);
  const r = rig.hook('on-hdmi', 'prepare', 'begin', hdmiXml.replace('<directflip ', '<directflip on-error="abort" '));
  expect([r.status, r.stdout]).toEqual([1, '']);
  expect(r.stderr).toMatch(/DRM master of \/dev\/dri\/card0 is held by .*\(EBUSY\): stop that compositor or switch its VT away/);
  await rig.sim('ReturnMaster', '', []);
  rig.startGuest('on-hdmi', hdmiXml);
  expect((await row('on-hdmi'))?.[1]).toBe('active');
  rig.stopGuest('on-hdmi', hdmiXml);
  // Released: master is free again for the next file.
  await rig.sim('TakeMaster', '', []);
  await rig.sim('ReturnMaster', '', []);
  expect(rig.daemon!.log()).toMatch(/<6>DRM master of \/dev\/dri\/card0 dropped: no domain is prepared or shown/);
  expect(rig.daemon!.log()).not.toMatch(/was taken away/);
  rig.expectNoCrash();
});
