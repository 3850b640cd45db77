/**
 * Host-side configuration (issue 15 item 3): <root>/etc/directflip/domains.d/<uuid>.xml or
 * <name>.xml, used only when the domain's metadata has none, validated by the same rules, every
 * error naming the file, and nothing of a file that is not ours repeated.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config';
import { configFor, HOST_CONFIG_MAX_BYTES, HostConfigError, misnamedHostConfigs } from '../../src/config/host-config';
import { REPO } from '../helpers/fixtures';
import { relaxngAccepts } from '../helpers/relaxng';

const NS = 'https://directflip.github.io/xmlns/domain/1';
const kiosk = readFileSync(join(REPO, 'examples', 'gvt-kiosk-hdmi.xml'), 'utf8');
const MDEV = /uuid='([0-9a-f-]{36})'/.exec(kiosk)![1];
const UUID = /<uuid>([^<]+)<\/uuid>/.exec(kiosk)![1];
const NAME = /<name>([^<]+)<\/name>/.exec(kiosk)![1];
/** The kiosk domain as a manager writes it: no <metadata>. */
const bare = kiosk.replace(/<metadata>[\s\S]*<\/metadata>/, '');
const element = (connector = 'DP-1') => `<directflip xmlns="${NS}" on-error="abort"><output connector="${connector}"><plane from="primary" mdev="${MDEV}"/></output></directflip>\n`;

let root: string;
let dir: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'directflip-hostcfg-'));
  dir = join(root, 'etc/directflip/domains.d');
  mkdirSync(dir, { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const put = (file: string, text: string | Buffer, mode = 0o644) => {
  writeFileSync(join(dir, file), text);
  chmodSync(join(dir, file), mode);
  return join(dir, file);
};
const errorOf = (xml: string) => {
  try {
    configFor(xml, root);
  } catch (e) {
    return e as HostConfigError;
  }
  throw new Error('expected a ConfigError');
};

test('the metadata wins, and a domains.d file beside it is named as ignored', () => {
  expect(bare).not.toContain(NS);
  const f = put(`${UUID}.xml`, element());
  const r = configFor(kiosk, root);
  expect([r.origin, r.file, r.ignored]).toEqual(['metadata', null, f]);
  expect(r.config.directflip!.outputs[0].connector).toBe('HDMI-A-1');
  expect(r.config.directflip!.file).toBeUndefined();
});

test.each([
  ['its UUID', () => `${UUID}.xml`],
  ['its name', () => `${NAME}.xml`],
])('without metadata, the file named by %s configures the domain', (_w, name) => {
  const f = put(name(), element());
  const r = configFor(bare, root);
  expect([r.origin, r.file, r.ignored]).toEqual(['domains.d', f, null]);
  expect(r.config.configured).toBe(true);
  expect(r.config.directflip).toMatchObject({ onError: 'abort', file: f, outputs: [{ connector: 'DP-1', planes: [{ from: 'primary', mdev: MDEV }] }] });
  expect(Object.isFrozen(r.config.directflip!.outputs[0])).toBe(true);
  // The file is exactly the element the schema describes.
  expect(relaxngAccepts([readFileSync(f, 'utf8')])).toEqual([true]);
});

test('configured in neither place: unconfigured, origin null', () => {
  put('another-domain.xml', element());
  expect(configFor(bare, root)).toMatchObject({ origin: null, file: null, config: { configured: false, directflip: null } });
  expect(configFor(bare, join(root, 'no-such-root'))).toMatchObject({ origin: null });
});

test('both the UUID and the name file: refused, naming both', () => {
  const a = put(`${UUID}.xml`, element());
  const b = put(`${NAME}.xml`, element('HDMI-A-1'));
  const e = errorOf(bare);
  expect(e).toBeInstanceOf(ConfigError);
  expect(e.code).toBe('EDF_HOST_CONFIG');
  expect(e.message).toContain(`${b}: configures domain ${NAME} a second time`);
  expect(e.message).toContain(`remove one of ${a} and ${b}`);
});

test('the same validation as the metadata, the file named in the message and in --json', () => {
  const f = put(`${UUID}.xml`, element().replace(`mdev="${MDEV}"`, 'mdev="C2177883-F1BB-47F0-914D-32A22E3A8804"'));
  const e = errorOf(bare);
  expect(e.code).toBe('EDF_BAD_VALUE');
  expect(e.message).toBe(`${f}: directflip/output[1]/plane[1]/@mdev: "C2177883-F1BB-47F0-914D-32A22E3A8804" is not a canonical lower-case UUID; allowed: 8-4-4-4-12 lower-case hex digits, e.g. c2177883-f1bb-47f0-914d-32a22e3a8804`);
  expect(e.toJSON()).toMatchObject({ code: 'EDF_BAD_VALUE', file: f, path: 'directflip/output[1]/plane[1]', attribute: 'mdev' });
  put(`${UUID}.xml`, element().replace(MDEV, '11111111-2222-4333-8444-555555555555'));
  expect(errorOf(bare)).toMatchObject({ code: 'EDF_MDEV_NOT_IN_DOMAIN', file: f });
  put(`${UUID}.xml`, `<directflip xmlns="${NS}"><output connector="DP-1">`);
  expect(errorOf(bare).message).toMatch(new RegExp(`^${f}: malformed XML: .*never closed`));
});

test.each([
  ['a password file', 'root:$6$secretsalt$hash:19000:0:99999:7:::\n'],
  ['another XML', '<secret token="hunter2">classified</secret>'],
  ['our element in another namespace', '<directflip xmlns="urn:x"><hunter2/></directflip>'],
  ['broken XML', '<a><hunter2 & secret'],
])('%s is "not a <directflip> element" and nothing of it is repeated', (_w, text) => {
  const f = put(`${UUID}.xml`, text);
  const e = errorOf(bare);
  expect(e.code).toBe('EDF_HOST_CONFIG');
  expect(e.message).toMatch(new RegExp(`^${f}: is not a <directflip> element`));
  for (const secret of ['secret', 'hunter2', 'classified', 'root:']) expect(JSON.stringify(e.toJSON())).not.toContain(secret);
});

test('unsafe or unusable files are refused with the fix', () => {
  put(`${UUID}.xml`, element(), 0o666);
  expect(errorOf(bare).message).toMatch(/is writable by everyone \(mode 666\): only its owner .*; allowed: chmod go-w /);
  put(`${UUID}.xml`, element(), 0o664);
  expect(errorOf(bare).message).toMatch(/is writable by its group/);
  put(`${UUID}.xml`, Buffer.alloc(HOST_CONFIG_MAX_BYTES + 10, 0x20));
  expect(errorOf(bare).message).toMatch(new RegExp(`is too large: ${HOST_CONFIG_MAX_BYTES + 10} bytes, over the ${HOST_CONFIG_MAX_BYTES}-byte limit`));
  rmSync(join(dir, `${UUID}.xml`));
  mkdirSync(join(dir, `${UUID}.xml`));
  expect(errorOf(bare).message).toMatch(/is not a regular file/);
  rmSync(join(dir, `${UUID}.xml`), { recursive: true });
  symlinkSync(join(root, 'gone'), join(dir, `${UUID}.xml`));
  expect(errorOf(bare).message).toMatch(/cannot be read \(ENOENT\): it is a dangling symbolic link/);
});

test('a FIFO does not block: refused as not a regular file', () => {
  expect(spawnSync('mkfifo', [join(dir, `${NAME}.xml`)]).status).toBe(0);
  expect(errorOf(bare).message).toMatch(/is not a regular file/);
});

test('a file named by the UUID in upper case is not used, and validate and doctor say why and how to rename it', () => {
  const upper = put(`${UUID.toUpperCase()}.xml`, element());
  expect(configFor(bare, root)).toMatchObject({ origin: null });
  expect(misnamedHostConfigs({ uuid: UUID, name: NAME }, root)).toEqual([upper]);
  const domain = join(root, 'domain.xml');
  writeFileSync(domain, bare);
  const r = spawnSync(process.execPath, [join(REPO, 'bin', 'directflip'), 'validate', domain, '--root', root], { encoding: 'utf8' });
  expect(r.stdout).toContain(`${upper} is not used: domains.d files are named by the domain's UUID in lower case (as libvirt writes it) or its exact name: rename it to ${join(dir, `${UUID}.xml`)}`);
  const j = JSON.parse(spawnSync(process.execPath, [join(REPO, 'bin', 'directflip'), 'validate', domain, '--root', root, '--json'], { encoding: 'utf8' }).stdout);
  expect(j.configFrom).toMatchObject({ origin: null, misnamed: [upper] });
  const plan = spawnSync(process.execPath, [join(REPO, 'bin', 'directflip'), 'plan', domain, '--root', root, '--host', 'sim:gvt-skylake'], { encoding: 'utf8' });
  expect(plan.status).toBe(1);
  expect(plan.stderr).toContain(`${upper} is not used: domains.d files are named by the domain's UUID in lower case`);
  // Names are not folded: libvirt's are case-sensitive, so another case may be another domain's.
  rmSync(upper);
  put(`${NAME.toUpperCase()}.xml`, element());
  expect(misnamedHostConfigs({ uuid: UUID, name: NAME }, root)).toEqual([]);
  expect(misnamedHostConfigs({ uuid: UUID, name: NAME }, join(root, 'none'))).toEqual([]);
});

test('a domain named by its own UUID: its one file configures it, not "a second time" by itself', () => {
  const f = put(`${UUID}.xml`, element());
  const named = bare.replace(`<name>${NAME}</name>`, `<name>${UUID}</name>`);
  expect(configFor(named, root)).toMatchObject({ origin: 'domains.d', file: f });
});
