import type { DomainConfig } from '../config';
import { DaemonError } from './errors';
import { nameUuid } from './state-name';

/** Who an operation is about: the UUID keys everything, the name is for people. */
export interface DomainId {
  uuid: string;
  name: string;
}

/** The XML's `<uuid>` (the config parser writes it canonical, lower case), or one derived from its name. */
export function identityOf(config: Pick<DomainConfig, 'name' | 'uuid'>): DomainId {
  return { uuid: config.uuid ?? nameUuid(config.name), name: config.name };
}

/** libvirt passes the same name in argv and in the XML; when they differ, which domain is meant is unknown. */
export function nameMismatch(argvName: string | undefined, id: DomainId): string | null {
  if (argvName === undefined || argvName === id.name) return null;
  return `the caller names the domain ${JSON.stringify(argvName)} but its XML's <name> is ${JSON.stringify(id.name)} (uuid ${id.uuid})`;
}

/** prepare/started: a start must not act on a guess. */
export function requireSameName(argvName: string | undefined, id: DomainId): void {
  const m = nameMismatch(argvName, id);
  if (m) throw new DaemonError('InvalidArgs', `${m}: libvirt passes the same name to both; refusing to guess which domain this is: pass the XML of the domain named in the call`);
}
