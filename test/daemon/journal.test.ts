import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDomainXml } from '../../src/config';
import { Engine } from '../../src/daemon/engine';
import { Journal } from '../../src/daemon/journal';
import { REPO } from '../helpers/fixtures';
import { engineRig } from '../helpers/engine-rig';

const kioskXml = readFileSync(join(REPO, 'examples', 'gvt-kiosk-hdmi.xml'), 'utf8');
const kiosk = parseDomainXml(kioskXml);
const UUID = '5b0b4c1e-8f4f-4f53-9d4e-2d7c0c0a7a11';
const rig = engineRig();
const { lines, log } = rig;

const named = (name: string, uuid = UUID) => kioskXml.replace('<name>kiosk-hdmi</name>', `<name>${name.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</name>`).replace(`<uuid>${UUID}</uuid>`, `<uuid>${uuid.toUpperCase()}</uuid>`);

describe('one identity per domain: the UUID', () => {
  test.each([
    ['spaces', 'my kiosk vm'],
    ['a newline', 'line one\nline two'],
    ['300 bytes of non-ASCII', 'ü'.repeat(150)],
  ])('a name with %s: prepare, activate and release work, and leave nothing behind', async (_what, name) => {
    const before = rig.observe();
    const c = parseDomainXml(named(name));
    const e = new Engine(rig.host, new Journal(rig.run), log);
    expect((await e.prepare(c, name)).state).toBe('prepared');
    expect(readdirSync(join(rig.run, 'domains'))).toEqual([`${UUID}.json`]); // upper case in the XML, lower case on disk
    const rec = JSON.parse(readFileSync(join(rig.run, 'domains', `${UUID}.json`), 'utf8'));
    expect([rec.uuid, rec.name]).toEqual([UUID, name]);
    expect((await e.activate(name, c)).state).toBe('active');
    expect(e.status().map((s) => [s.domain, s.uuid, s.state])).toEqual([[name, UUID, 'active']]);
    expect((await e.release(name, 'destroyed', c)).state).toBe('released');
    expect(e.status()).toEqual([]);
    expect(readdirSync(join(rig.run, 'domains'))).toEqual([]);
    expect(e.occupancy.domains()).toEqual([]);
    expect(rig.observe()).toEqual(before);
  });

  test("prepare and activate refuse an argv name that is not the XML's <name>, with InvalidArgs", async () => {
    const e = new Engine(rig.host, new Journal(rig.run), log);
    await expect(e.prepare(kiosk, 'other-vm')).rejects.toMatchObject({ kind: 'InvalidArgs', dbusName: 'org.freedesktop.DBus.Error.InvalidArgs', message: expect.stringMatching(/"other-vm".*"kiosk-hdmi"/) });
    expect(e.status()).toEqual([]);
    await e.prepare(kiosk, 'kiosk-hdmi');
    await expect(e.activate('other-vm', kiosk)).rejects.toMatchObject({ kind: 'InvalidArgs' });
    expect(e.status().map((s) => s.state)).toEqual(['prepared']);
  });

  test('release goes by the UUID: a different argv name is a logged warning, and the domain is released', async () => {
    const before = rig.observe();
    const e = new Engine(rig.host, new Journal(rig.run), log);
    await e.activate('kiosk-hdmi', kiosk);
    expect(await e.release('renamed', 'destroyed', kiosk)).toEqual({ state: 'released', notes: [] });
    expect(e.status()).toEqual([]);
    expect(rig.observe()).toEqual(before);
    expect(lines).toContainEqual(expect.stringMatching(/^warning kiosk-hdmi release: the caller names the domain "renamed"/));
  });

  test('release with no usable XML goes by name, and never fails', async () => {
    const before = rig.observe();
    const e = new Engine(rig.host, new Journal(rig.run), log);
    await e.activate('kiosk-hdmi', kiosk);
    await expect(e.release('kiosk-hdmi', 'destroyed', null)).resolves.toEqual({ state: 'released', notes: [] });
    expect(rig.observe()).toEqual(before);
    expect(readdirSync(join(rig.run, 'domains'))).toEqual([]);
  });

  test('two domains with one name but different UUIDs are two domains', async () => {
    const e = new Engine(rig.host, new Journal(rig.run), log);
    const other = parseDomainXml(named('kiosk-hdmi', '11111111-2222-4333-8444-555555555555').replace('connector="HDMI-A-1"', 'connector="DP-1"'));
    await e.prepare(kiosk, 'kiosk-hdmi');
    await e.prepare(other, 'kiosk-hdmi');
    expect(e.status().map((s) => s.uuid).sort()).toEqual(['11111111-2222-4333-8444-555555555555', UUID]);
    await e.release('kiosk-hdmi', 'destroyed', other);
    expect(e.status().map((s) => s.uuid)).toEqual([UUID]);
  });
});

describe('the journal', () => {
  test('records of the wrong shape are moved aside with their reason, reported once, and the good one is re-adopted', async () => {
    const a = new Engine(rig.host, new Journal(rig.run), log);
    await a.activate('kiosk-hdmi', kiosk);
    a.dev.close();
    const good = JSON.parse(readFileSync(join(rig.run, 'domains', `${UUID}.json`), 'utf8'));
    const wrongType = structuredClone(good);
    wrongType.uuid = '22222222-2222-4222-8222-222222222222';
    wrongType.plan.outputs[0].planes[0].planeId = 'seven';
    const bad: Record<string, string> = {
      '00000000-0000-4000-8000-000000000001.json': '{}',
      '00000000-0000-4000-8000-000000000002.json': 'null',
      '00000000-0000-4000-8000-000000000003.json': '{"uuid": "00000000-0000-4000-8000-000000000003", "name": 4',
      '22222222-2222-4222-8222-222222222222.json': JSON.stringify(wrongType),
      'kiosk-hdmi.json': JSON.stringify(good), // an older daemon's name-keyed file
    };
    for (const [f, text] of Object.entries(bad)) writeFileSync(join(rig.run, 'domains', f), text);
    const b = new Engine(rig.host, new Journal(rig.run), log);
    await b.reconcile();
    expect(b.status().map((s) => [s.domain, s.state])).toEqual([['kiosk-hdmi', 'active']]);
    const damaged = lines.filter((l) => /journal record .* is damaged/.test(l));
    expect(damaged).toHaveLength(5);
    expect(damaged.join('\n')).toMatch(/000001\.json is damaged \(uuid: expected a lower-case UUID, found missing/);
    expect(damaged.join('\n')).toMatch(/000002\.json is damaged \(record: expected an object, found null/);
    expect(damaged.join('\n')).toMatch(/000003\.json is damaged \(.*JSON/);
    expect(damaged.join('\n')).toMatch(/222222222222\.json is damaged \(plan\.outputs\[0\]\.planes\[0\]\.planeId: expected a non-negative integer, found "seven"/);
    expect(readdirSync(join(rig.run, 'domains')).sort()).toEqual([`${UUID}.json`, 'damaged']);
    const aside = readdirSync(join(rig.run, 'domains', 'damaged'));
    expect(aside.filter((f) => f.endsWith('.reason'))).toHaveLength(5);
    b.dev.close();
    lines.length = 0;
    const c = new Engine(rig.host, new Journal(rig.run), log);
    await c.reconcile();
    expect(lines.filter((l) => /damaged/.test(l))).toEqual([]); // reported once
    expect(c.status().map((s) => s.state)).toEqual(['active']);
    await c.release('kiosk-hdmi', 'destroyed', kiosk);
  });

  test('a state directory owned by someone else, or writable by others, is refused with its owner, mode and the fix', () => {
    const dir = join(rig.run, 'state');
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534);
    expect(() => new Journal(dir)).toThrow(expect.objectContaining({ code: 'EDF_STATE_UNTRUSTED', message: expect.stringMatching(new RegExp(`${dir}: owned by uid 65534, mode 0700; .*chown ${process.geteuid!()} ${dir}`)) }));
    chownSync(dir, process.geteuid!(), process.getegid!());
    mkdirSync(join(dir, 'domains'));
    chmodSync(join(dir, 'domains'), 0o777);
    expect(() => new Journal(dir)).toThrow(expect.objectContaining({ code: 'EDF_STATE_UNTRUSTED', message: expect.stringMatching(/domains: owned by uid 0, mode 0777; .*chmod go-w/) }));
    chmodSync(join(dir, 'domains'), 0o755);
    expect(() => new Journal(dir)).not.toThrow();
  });

  test('orphaned temporary files are removed when the journal is opened', () => {
    mkdirSync(join(rig.run, 'domains'), { mode: 0o700 });
    writeFileSync(join(rig.run, 'domains', `${UUID}.json.tmp-123-4`), '{"half');
    const j = new Journal(rig.run);
    expect(j.cleaned).toEqual([`${UUID}.json.tmp-123-4`]);
    expect(readdirSync(join(rig.run, 'domains'))).toEqual([]);
  });

  test('a record that cannot be written fails the activation honestly: the display is untouched and status is not active', async () => {
    const before = rig.observe();
    const e = new Engine(rig.host, new Journal(rig.run), log);
    await e.prepare(kiosk, 'kiosk-hdmi');
    const file = join(rig.run, 'domains', `${UUID}.json`);
    rmSync(file);
    mkdirSync(join(file, 'in-the-way'), { recursive: true }); // rename(2) over a non-empty directory fails
    await expect(e.activate('kiosk-hdmi', kiosk)).rejects.toMatchObject({ kind: 'Journal', message: expect.stringMatching(/record cannot be written .*nothing was changed on screen/) });
    expect(rig.observe()).toEqual(before);
    expect(e.status().map((s) => s.state)).toEqual(['prepared']);
    expect(readdirSync(join(rig.run, 'domains')).filter((f) => f.includes('.tmp-'))).toEqual([]);
    rmSync(file, { recursive: true });
    expect((await e.activate('kiosk-hdmi', kiosk)).state).toBe('active');
    expect(JSON.parse(readFileSync(file, 'utf8')).state).toBe('active');
    await e.release('kiosk-hdmi', 'destroyed', kiosk);
    expect(rig.observe()).toEqual(before);
  });

  test('a prepare whose record cannot be written reserves nothing', async () => {
    const e = new Engine(rig.host, new Journal(rig.run), log);
    mkdirSync(join(rig.run, 'domains', `${UUID}.json`, 'in-the-way'), { recursive: true });
    await expect(e.prepare(kiosk, 'kiosk-hdmi')).rejects.toMatchObject({ kind: 'Journal' });
    expect(e.status()).toEqual([]);
    expect(e.occupancy.domains()).toEqual([]);
    expect(existsSync(join(rig.run, 'domains', `${UUID}.json`, 'in-the-way'))).toBe(true);
  });
});
