import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { HostProfile } from './profile';

function profileDir(): string {
  // From src/ under ts-jest and from dist/src/ when compiled: find examples/hosts upwards.
  const candidates = ['../../..', '../../../..'].map((up) => resolve(__dirname, up, 'examples', 'hosts'));
  return candidates.find((d) => existsSync(d)) ?? candidates[0];
}

export function profileNames(): string[] {
  return readdirSync(profileDir()).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

/** A profile by name (examples/hosts/NAME.json) or by path; `extends` merges over its base. */
export function loadProfile(nameOrPath: string, seen: string[] = []): HostProfile {
  const byPath = nameOrPath.includes('/') || nameOrPath.endsWith('.json');
  const file = byPath ? resolve(nameOrPath) : join(profileDir(), `${nameOrPath}.json`);
  if (!byPath && !/^[a-z0-9][a-z0-9-]*$/.test(nameOrPath)) throw new Error(`bad host profile name ${JSON.stringify(nameOrPath)}`);
  if (!existsSync(file)) {
    throw new Error(`no host profile ${JSON.stringify(nameOrPath)}: known profiles are ${profileNames().join(', ')}, or give a JSON file path`);
  }
  if (seen.includes(file)) throw new Error(`host profile ${file} extends itself`);
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Partial<HostProfile> & { extends?: string };
  if (!raw.extends) return raw as HostProfile;
  const base = loadProfile(raw.extends, [...seen, file]);
  return {
    name: raw.name ?? base.name,
    description: raw.description ?? base.description,
    kms: { ...base.kms, ...(raw.kms ?? {}) },
    vfio: { ...base.vfio, ...(raw.vfio ?? {}) },
  };
}
