import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const BUS_NAME = 'io.github.directflip1';
export const OBJECT_PATH = '/io/github/directflip1';
export const MANAGER_IFACE = 'io.github.directflip1.Manager';
/** Served only by a daemon on a simulated host: what its monitors show. */
export const SIMULATOR_IFACE = 'io.github.directflip1.Simulator';
export const PLANE_STRUCT = '(ssuusss(iiuu)i)';

/** The introspection XML kept in the repo is what the service answers, byte for byte. */
export function introspectionXml(): string {
  const candidates = [join(__dirname, 'io.github.directflip1.Manager.xml'), join(__dirname, '..', '..', '..', 'src', 'daemon', 'io.github.directflip1.Manager.xml')];
  const file = candidates.find((f) => existsSync(f));
  if (!file) throw new Error(`introspection XML not found (looked in ${candidates.join(', ')})`);
  return readFileSync(file, 'utf8');
}

/** `--bus`, then DIRECTFLIP_BUS_ADDRESS, else the system bus. */
export function busAddress(flag?: string): string | undefined {
  return flag || process.env.DIRECTFLIP_BUS_ADDRESS || undefined;
}
