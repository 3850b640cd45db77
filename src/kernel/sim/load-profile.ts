import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { buildCard } from './kms-build';
import { fail, isObject, ProfileError } from './profile-check';
import { checkProfile } from './profile-schema';
import type { HostProfile } from './profile';

/** No host profile is near this; a bigger file is not one. */
export const PROFILE_MAX_BYTES = 1 << 20;
const MAX_EXTENDS = 8;

function profileDir(): string {
  // From src/ under ts-jest and from dist/src/ when compiled: find examples/hosts upwards.
  const candidates = ['../../..', '../../../..'].map((up) => resolve(__dirname, up, 'examples', 'hosts'));
  return candidates.find((d) => existsSync(d)) ?? candidates[0];
}

export function profileNames(): string[] {
  return readdirSync(profileDir()).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

/**
 * A profile by name (examples/hosts/NAME.json) or by path. `extends` names a profile the same way;
 * a path there is relative to the extending file's own directory. The merged profile is checked
 * against the schema and built once, so what loads is a profile the simulator can run; anything
 * else is a ProfileError naming the file, the path inside it and what was expected.
 */
export function loadProfile(nameOrPath: string): HostProfile {
  const p = load(nameOrPath, process.cwd(), []);
  const where = p.file;
  try {
    checkProfile(p.profile);
  } catch (e) {
    throw e instanceof ProfileError ? new ProfileError(`host profile ${where}: ${e.message}`) : e;
  }
  try {
    buildCard(p.profile.kms);
  } catch (e) {
    throw new ProfileError(`host profile ${where}: ${(e as Error).message.replace(/^sim profile: /, '')}`);
  }
  return p.profile;
}

interface Loaded {
  file: string;
  profile: HostProfile;
}

function load(nameOrPath: string, base: string, seen: string[]): Loaded {
  const byPath = nameOrPath.includes('/') || nameOrPath.endsWith('.json');
  if (!byPath && !/^[a-z0-9][a-z0-9-]{0,63}$/.test(nameOrPath)) throw new ProfileError(`bad host profile name ${JSON.stringify(nameOrPath.slice(0, 64))}: use a name from examples/hosts or a JSON file path`);
  const file = byPath ? resolve(base, nameOrPath) : join(profileDir(), `${nameOrPath}.json`);
  if (!existsSync(file)) {
    throw new ProfileError(`no host profile ${JSON.stringify(nameOrPath)}: known profiles are ${profileNames().join(', ')}, or give a JSON file path`);
  }
  if (seen.includes(file)) throw new ProfileError(`host profile ${file} extends itself (through ${seen.join(' → ')})`);
  if (seen.length >= MAX_EXTENDS) throw new ProfileError(`host profile ${file}: more than ${MAX_EXTENDS} levels of extends`);
  const raw = readBounded(file);
  if (!isObject(raw) || !('kms' in raw || 'vfio' in raw || 'extends' in raw)) throw new ProfileError(`${file} is not a host profile (a JSON object with kms and vfio, or extends)`);
  const known = ['name', 'description', 'extends', 'kms', 'vfio', 'userspace'];
  const extra = Object.keys(raw).filter((k) => !known.includes(k)).length;
  try {
    if (extra) fail('', `only the keys ${known.join(', ')} (${extra} other key${extra > 1 ? 's' : ''} found)`);
    if (raw.extends === undefined) return { file, profile: raw as unknown as HostProfile };
    if (typeof raw.extends !== 'string' || !raw.extends || raw.extends.length > 4096) fail('extends', 'a profile name or a path relative to this file');
    for (const k of ['kms', 'vfio', 'userspace']) if (k in raw && !isObject(raw[k])) fail(k, 'an object');
  } catch (e) {
    throw new ProfileError(`host profile ${file}: ${(e as Error).message}`);
  }
  const baseProfile = load(raw.extends, dirname(file), [...seen, file]).profile;
  return {
    file,
    profile: {
      name: (raw.name as string | undefined) ?? baseProfile.name,
      description: (raw.description as string | undefined) ?? baseProfile.description,
      kms: { ...baseProfile.kms, ...((raw.kms as object | undefined) ?? {}) },
      vfio: { ...baseProfile.vfio, ...((raw.vfio as object | undefined) ?? {}) },
      ...(baseProfile.userspace || raw.userspace ? { userspace: { ...baseProfile.userspace, ...((raw.userspace as object | undefined) ?? {}) } } : {}),
    },
  };
}

/** Only a regular file of at most PROFILE_MAX_BYTES is read (stat first: /dev/zero never is). */
function readBounded(file: string): unknown {
  const st = statSync(file);
  if (!st.isFile()) throw new ProfileError(`${file} is not a regular file, so not a host profile`);
  if (st.size > PROFILE_MAX_BYTES) throw new ProfileError(`${file} is ${st.size} bytes, larger than any host profile (${PROFILE_MAX_BYTES} at most)`);
  const fd = openSync(file, 'r');
  let text: string;
  try {
    if (!fstatSync(fd).isFile()) throw new ProfileError(`${file} is not a regular file, so not a host profile`);
    const buf = Buffer.alloc(PROFILE_MAX_BYTES + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, null);
    if (n > PROFILE_MAX_BYTES) throw new ProfileError(`${file} grew past ${PROFILE_MAX_BYTES} bytes while read: not a host profile`);
    text = buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Never the parser's message: it quotes the file.
    throw new ProfileError(`${file} is not JSON, so not a host profile`);
  }
}
