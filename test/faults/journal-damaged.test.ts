import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FaultRig, domainXml, faultCase, uuidOf } from '../helpers/fault-rig';

jest.setTimeout(60_000);
let rig: FaultRig;
beforeEach(async () => (rig = await FaultRig.start()));
afterEach(() => rig?.stop());

test('a journal damaged at start: bad records are moved aside and reported, the others are re-adopted, the damaged one restored', () =>
  faultCase('journal damaged at start', async () => {
    const beforeHdmi = await rig.screenshot('HDMI-A-1');
    const beforeEdp = await rig.screenshot('eDP-1');
    const card = await rig.dump();
    const guests = [domainXml(0, 'HDMI-A-1'), domainXml(1, 'HDMI-A-1'), domainXml(2, 'eDP-1')];
    for (const [i, x] of guests.entries()) await rig.up(`vm${i}`, x);
    expect(await rig.states()).toEqual([['vm0', 'active'], ['vm1', 'active'], ['vm2', 'active']]);
    const shownHdmi = await rig.screenshot('HDMI-A-1');
    expect(shownHdmi.equals(beforeHdmi)).toBe(false);
    await rig.killDaemon();

    // vm2's own record gets a wrong type deep inside; beside it, records that are no record at all.
    const domains = join(rig.runDir, 'domains');
    const vm2 = join(domains, `${uuidOf(2)}.json`);
    const rec = JSON.parse(readFileSync(vm2, 'utf8'));
    rec.plan.outputs[0].crtcId = 'sixty-four';
    writeFileSync(vm2, JSON.stringify(rec));
    const junk: Record<string, string> = {
      [`${uuidOf(90)}.json`]: '{}',
      [`${uuidOf(91)}.json`]: 'null',
      [`${uuidOf(92)}.json`]: JSON.stringify({ ...rec, uuid: uuidOf(92), state: 42 }),
      [`${uuidOf(93)}.json`]: '{"uuid": "00000000-0000-4000-8000-000000000093", "name": ',
      [`${uuidOf(94)}.json`]: '[1, 2, 3]',
    };
    for (const [f, body] of Object.entries(junk)) writeFileSync(join(domains, f), body);

    await rig.startDaemon();
    expect(await rig.states()).toEqual([['vm0', 'active'], ['vm1', 'active']]);
    // The two intact guests are on HDMI-A-1 exactly as before the restart.
    expect((await rig.screenshot('HDMI-A-1')).equals(shownHdmi)).toBe(true);
    // vm2 cannot be trusted, so nothing of it is shown: eDP-1 is the host's console again.
    expect((await rig.screenshot('eDP-1')).equals(beforeEdp)).toBe(true);
    const aside = readdirSync(join(domains, 'damaged'));
    for (const f of [`${uuidOf(2)}.json`, ...Object.keys(junk)]) {
      expect(aside.filter((a) => a.startsWith(`${f}.`))).toHaveLength(2); // the record and its reason
      expect(existsSync(join(domains, f))).toBe(false);
      // Reported once each, by file, with the reason.
      expect(rig.daemon!.log().split('\n').filter((l) => l.includes(f) && /damaged/.test(l))).toHaveLength(1);
    }

    rig.release('vm0', guests[0]);
    rig.release('vm1', guests[1]);
    expect(await rig.states()).toEqual([]);
    expect((await rig.screenshot('HDMI-A-1')).equals(beforeHdmi)).toBe(true);
    expect(await rig.dump()).toEqual(card); // every property of every object, blobs by their bytes
    rig.expectNoCrash();
    return { restoredByteForByte: true, leaks: await rig.leaks() };
  }));
