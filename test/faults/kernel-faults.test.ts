import { FaultRig, domainXml, faultCase } from '../helpers/fault-rig';

// Faults of the (simulated) hardware, injected through io.github.directflip1.Simulator while
// real guests' planes are on screen; the daemon learns of them only as it would on a real host.
jest.setTimeout(60_000);
let rig: FaultRig;
beforeEach(async () => (rig = await FaultRig.start()));
afterEach(() => rig?.stop());

const vm0 = domainXml(0, 'HDMI-A-1');
const vm1 = domainXml(1, 'eDP-1');
const shots = () => Promise.all([rig.screenshot('HDMI-A-1'), rig.screenshot('eDP-1')]);
const same = (a: Buffer[], b: Buffer[]) => a.map((x, i) => x.equals(b[i]));

test('commit refused mid-activate: the kernel fails the activate commit (EIO); started fails, nothing changes on the card, and the next start works', () =>
  faultCase('commit refused mid-activate', async () => {
    const before = await shots();
    const card = await rig.dump();
    expect(rig.hook('vm0', 'prepare', 'begin', vm0).status).toBe(0);
    expect(rig.hook('vm0', 'start', 'begin', vm0).status).toBe(0);
    await rig.sim('FailNext', 'ssu', ['DRM_IOCTL_MODE_ATOMIC', 'EIO', 1]);
    const started = rig.hook('vm0', 'started', 'begin', vm0);
    expect([started.status, started.stdout]).toEqual([1, '']);
    expect(started.stderr).toMatch(/directflip: domain vm0: .*EIO/);
    // All or nothing: not one property of any object changed, and the monitors show what they did.
    expect(await rig.dump()).toEqual(card);
    expect(same(await shots(), before)).toEqual([true, true]);
    rig.stopGuest('vm0', vm0); // libvirt runs stopped and release after a failed start
    expect(await rig.states()).toEqual([]);
    rig.startGuest('vm0', vm0);
    await rig.down('vm0', vm0);
    expect(same(await shots(), before)).toEqual([true, true]);
    expect(await rig.dump()).toEqual(card); // every property of every object, blobs by their bytes
    rig.expectNoCrash();
    return { restoredByteForByte: true, leaks: await rig.leaks() };
  }));

test('a start while another process takes master between prepare and started: refused by the kernel (EACCES), nothing changes, the next start works', () =>
  faultCase('commit refused mid-activate (master taken between prepare and started)', async () => {
    const before = await shots();
    const card = await rig.dump();
    expect(rig.hook('vm0', 'prepare', 'begin', vm0).status).toBe(0);
    expect(rig.hook('vm0', 'start', 'begin', vm0).status).toBe(0);
    // Between prepare and started another process takes master: the activate commit is refused
    // by the kernel (EACCES), exactly what a compositor starting at the wrong moment does.
    await rig.sim('TakeMaster', '', []);
    const started = rig.hook('vm0', 'started', 'begin', vm0);
    expect([started.status, started.stdout]).toEqual([1, '']);
    expect(started.stderr).toMatch(/directflip: domain vm0: .*(refused|master|EACCES|EBUSY)/i);
    expect(same(await shots(), before)).toEqual([true, true]);
    expect((await rig.states()).filter(([, s]) => s === 'active')).toEqual([]);
    await rig.sim('ReturnMaster', '', []);
    rig.stopGuest('vm0', vm0); // libvirt runs stopped and release after a failed start
    expect(await rig.states()).toEqual([]);
    expect(same(await shots(), before)).toEqual([true, true]);
    // Nothing was left reserved or half-committed: the same guest starts cleanly now.
    await rig.up('vm0', vm0);
    await rig.down('vm0', vm0);
    expect(same(await shots(), before)).toEqual([true, true]);
    expect(await rig.dump()).toEqual(card); // every property of every object, blobs by their bytes
    rig.expectNoCrash();
    return { restoredByteForByte: true, leaks: await rig.leaks() };
  }));

test('DRM master taken by another process while a guest is shown, then regained: the guest stays, later work succeeds, every monitor comes back', () =>
  faultCase('DRM master taken by another process, then regained', async () => {
    const before = await shots();
    const card = await rig.dump();
    await rig.up('vm0', vm0);
    const shown = await shots();
    expect(same(shown, before)).toEqual([false, true]);
    await rig.sim('TakeMaster', '', []);
    // The kernel keeps the planes as they were: the assignment is intact, and the daemon says so.
    expect(await rig.states()).toEqual([['vm0', 'active']]);
    expect(same(await shots(), shown)).toEqual([true, true]);
    // Work that needs master while another file holds it is refused by name, never a crash.
    const refused = rig.hook('vm1', 'prepare', 'begin', vm1);
    expect([refused.status, refused.stdout]).toEqual([1, '']);
    expect(refused.stderr).toMatch(/directflip: domain vm1: /);
    expect(same(await shots(), shown)).toEqual([true, true]);
    await rig.sim('ReturnMaster', '', []);
    // Master is the daemon's again: a second guest can start, and both go back exactly.
    rig.release('vm1', vm1); // what libvirt runs after the failed prepare
    await rig.up('vm1', vm1);
    expect(await rig.states()).toEqual([['vm0', 'active'], ['vm1', 'active']]);
    expect(same(await shots(), before)).toEqual([false, false]);
    await rig.down('vm1', vm1);
    rig.release('vm0', vm0);
    expect(await rig.states()).toEqual([]);
    expect(same(await shots(), before)).toEqual([true, true]);
    expect(await rig.dump()).toEqual(card); // every property of every object, blobs by their bytes
    rig.expectNoCrash();
    return { restoredByteForByte: true, leaks: await rig.leaks() };
  }));

test('the connector unplugged while a guest is shown, and plugged back: the guest is shown again, and release restores the monitor', () =>
  faultCase('connector unplugged while shown, and plugged back', async () => {
    const before = await shots();
    const card = await rig.dump();
    await rig.up('vm0', vm0);
    await rig.up('vm1', vm1);
    const shown = await shots();
    expect(same(shown, before)).toEqual([false, false]);
    await rig.sim('Unplug', 's', ['HDMI-A-1']);
    // The other monitor's guest never notices.
    const eDP = await rig.until(async () => (await rig.screenshot('eDP-1')).equals(shown[1]) && (await rig.states()).length === 2);
    expect(eDP).toBe(true);
    await rig.sim('Replug', 's', ['HDMI-A-1']);
    // Plugged back: the guest's picture is on HDMI-A-1 again, exactly as before the unplug.
    const back = await rig.until(async () => (await rig.screenshot('HDMI-A-1')).equals(shown[0]));
    expect(back).toBe(true);
    expect((await rig.states()).map(([d]) => d)).toEqual(['vm0', 'vm1']);
    rig.release('vm0', vm0);
    await rig.down('vm1', vm1);
    expect(await rig.states()).toEqual([]);
    expect(same(await shots(), before)).toEqual([true, true]);
    expect(await rig.dump()).toEqual(card); // every property of every object, blobs by their bytes
    rig.expectNoCrash();
    return { restoredByteForByte: true, leaks: await rig.leaks() };
  }));
