import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FaultRig, domainXml, faultCase } from '../helpers/fault-rig';

jest.setTimeout(60_000);
let rig: FaultRig;
beforeEach(async () => (rig = await FaultRig.start()));
afterEach(() => rig?.stop());

/** What the simulated kernel on the root shows, read from its own record: no bus needed to look. */
const kernelState = (root: string) => JSON.parse(readFileSync(join(root, 'sim-kernel', 'state.json'), 'utf8')).props;

test('the bus dropped (dbus-daemon killed, started again at the same address): guests stay on screen, the daemon comes back on the bus', () =>
  faultCase('the bus dropped', async () => {
    const xmls = [domainXml(0, 'HDMI-A-1'), domainXml(1, 'eDP-1')];
    const monitors = ['HDMI-A-1', 'eDP-1'];
    const before = await Promise.all(monitors.map((m) => rig.screenshot(m)));
    const card = await rig.dump();
    for (const [i, x] of xmls.entries()) await rig.up(`vm${i}`, x);
    const shown = await Promise.all(monitors.map((m) => rig.screenshot(m)));
    const pid = rig.pid;
    const onScreen = kernelState(rig.root);

    await rig.bus.kill();
    // Nobody can call it now; it must neither exit nor take the guests off screen.
    await rig.until(async () => /lost the connection/.test(rig.daemon!.log()), 50);
    expect(rig.daemon!.log()).toMatch(/lost the connection/);
    expect(rig.alive()).toBe(true);
    expect(kernelState(rig.root)).toEqual(onScreen);
    // While the bus is gone the hook cannot reach the daemon: reconnect and release still exit 0.
    expect(rig.hook('vm1', 'reconnect', 'begin', xmls[1]).status).toBe(0);

    await rig.bus.start();
    const back = await rig.until(async () => (await rig.states()).length === 2, 100);
    expect(back).toBe(true);
    expect(rig.pid).toBe(pid);
    expect(await rig.states()).toEqual([['vm0', 'active'], ['vm1', 'active']]);
    const again = await Promise.all(monitors.map((m) => rig.screenshot(m)));
    expect(again.map((s, i) => s.equals(shown[i]))).toEqual([true, true]);

    xmls.forEach((x, i) => rig.release(`vm${i}`, x));
    expect(await rig.states()).toEqual([]);
    const after = await Promise.all(monitors.map((m) => rig.screenshot(m)));
    expect(after.map((s, i) => s.equals(before[i]))).toEqual([true, true]);
    expect(await rig.dump()).toEqual(card); // every property of every object, blobs by their bytes
    rig.expectNoCrash();
    return { restoredByteForByte: true, leaks: await rig.leaks() };
  }));
