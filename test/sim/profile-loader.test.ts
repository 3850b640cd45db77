import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadProfile, PROFILE_MAX_BYTES } from '../../src/kernel/sim/load-profile';
import { ProfileError } from '../../src/kernel/sim/profile-check';

/** The simulated host's profile loader (issue 12 item 8): bounded, checked, and it repeats nothing it reads. */

const REAL = resolve(__dirname, '../../examples/hosts');
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'directflip-profile-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function refusal(spec: string): ProfileError {
  try {
    loadProfile(spec);
  } catch (e) {
    expect(e).toBeInstanceOf(ProfileError);
    expect((e as ProfileError).code).toBe('EDF_PROFILE');
    return e as ProfileError;
  }
  throw new Error(`${spec} loaded`);
}

const real = (name: string) => JSON.parse(readFileSync(join(REAL, `${name}.json`), 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
function write(name: string, content: unknown): string {
  const f = join(dir, name);
  writeFileSync(f, typeof content === 'string' ? content : JSON.stringify(content));
  return f;
}

test('a device or a directory is refused at once, before any read', () => {
  expect(refusal('/dev/zero').message).toBe('/dev/zero is not a regular file, so not a host profile');
  expect(refusal(`${dir}/`).message).toMatch(/is not a regular file/);
});

test('a file over 1 MiB is refused with its size', () => {
  const f = write('big.json', ' '.repeat(PROFILE_MAX_BYTES + 1));
  expect(refusal(f).message).toBe(`${f} is ${PROFILE_MAX_BYTES + 1} bytes, larger than any host profile (${PROFILE_MAX_BYTES} at most)`);
});

test('nothing of a file that is not a profile is echoed: not JSON, or JSON of another shape', () => {
  const secret = 'hunter2-s3cr3t';
  for (const content of [`password=${secret}`, `{"${secret}": 1}`, `["${secret}"]`, `{"kms": {"${secret}": true}, "vfio": {}}`, `{"kms": "${secret}"}`]) {
    const e = refusal(write('x.json', content));
    expect(e.message).not.toContain(secret);
    expect(e.message).not.toContain('hunter');
  }
  const f = write('y.json', 'password=1');
  expect(refusal(f).message).toBe(`${f} is not JSON, so not a host profile`);
});

test('each schema error names the path and what was expected', () => {
  const p = real('vkms');
  p.kms.planesPerCrtc[3].formats = 'XR24';
  expect(refusal(write('a.json', p)).message).toMatch(/a\.json: kms\.planesPerCrtc\[3\]\.formats: expected an array of fourcc strings, not a string$/);
  const q = real('gvt-skylake');
  q.kms.connectors[1].modes[2] = { name: '2560x1440', clock: 241500 };
  expect(refusal(write('b.json', q)).message).toMatch(/kms\.connectors\[1\]\.modes\[2\]: expected a standard mode name .* or a mode spelled out/);
  q.kms.connectors[1].modes[2] = '2560x1440@60';
  q.kms.connectors[0].possibleCrtcs = [0, 3];
  expect(refusal(write('c.json', q)).message).toMatch(/kms\.connectors\[0\]\.possibleCrtcs\[1\]: expected a CRTC index below 3$/);
  q.kms.connectors[0].possibleCrtcs = [0];
  q.vfio.mdevs[0].uuid = 'C2177883-F1BB-47F0-914D-32A22E3A8804';
  expect(refusal(write('d.json', q)).message).toMatch(/vfio\.mdevs\[0\]\.uuid: expected a lower-case UUID, not that string$/);
  delete q.vfio.primary;
  q.vfio.mdevs[0].uuid = 'c2177883-f1bb-47f0-914d-32a22e3a8804';
  expect(refusal(write('e.json', q)).message).toMatch(/vfio\.primary: expected to be present$/);
});

test('counts are bounded by the kernel\'s own limits: 32 CRTCs, 32 planes in all, 64 formats; modes by 256', () => {
  const p = real('gvt-skylake');
  p.kms.crtcs = 33;
  expect(refusal(write('a.json', p)).message).toMatch(/kms\.crtcs: expected an integer from 1 to 32$/);
  p.kms.crtcs = 7; // 7 × 5 planes
  expect(refusal(write('b.json', p)).message).toMatch(/kms\.planesPerCrtc: expected at most 32 planes in all .* is 35$/);
  p.kms.crtcs = 3;
  p.kms.planesPerCrtc[1].formats = Array.from({ length: 65 }, () => 'XR24');
  expect(refusal(write('c.json', p)).message).toMatch(/kms\.planesPerCrtc\[1\]\.formats: expected an array of fourcc strings of 1 to 64 entries$/);
  p.kms.planesPerCrtc[1].formats = ['XR24'];
  p.kms.connectors[0].modes = Array.from({ length: 257 }, () => '1920x1080@60');
  expect(refusal(write('d.json', p)).message).toMatch(/kms\.connectors\[0\]\.modes: expected an array of 0 to 256 entries$/);
});

test('extends resolves relative to the extending file, whatever the working directory', () => {
  mkdirSync(join(dir, 'hosts'));
  write('hosts/base.json', real('vkms'));
  const child = write('hosts/child.json', { name: 'child', extends: './base.json', kms: { crtcs: 1 } });
  const cwd = process.cwd();
  process.chdir(tmpdir());
  try {
    const p = loadProfile(child);
    expect(p.name).toBe('child');
    expect(p.kms.driver.name).toBe('vkms');
  } finally {
    process.chdir(cwd);
  }
  expect(loadProfile(write('by-name.json', { name: 'by-name', extends: 'gvt-skylake' })).kms.crtcs).toBe(3);
  write('hosts/loop-a.json', { extends: './loop-b.json' });
  write('hosts/loop-b.json', { extends: './loop-a.json' });
  expect(refusal(join(dir, 'hosts/loop-a.json')).message).toMatch(/extends itself/);
  expect(refusal(write('dev.json', { extends: '/dev/zero' })).message).toBe('/dev/zero is not a regular file, so not a host profile');
});

test('a profile the schema passes but the simulator cannot build is still a precise error', () => {
  const p = real('gvt-skylake');
  p.kms.connectors[2].modes = ['1234x567@89'];
  expect(refusal(write('a.json', p)).message).toMatch(/a\.json: no standard timing for mode 1234x567@89/);
});
