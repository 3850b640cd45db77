import { DOMAIN_INTEREST, readDomain } from './domain';
import { decodeXml } from './decode';
import { checkSize } from './limits';
import { findOurElement, readDirectflip } from './metadata';
import type { DomainConfig } from './types';
import { parseXml } from './xml';

export * from './types';
export { ConfigError } from './errors';
export type { ConfigErrorCode } from './errors';
export { MAX_INPUT_BYTES } from './limits';

/** Parse and validate a libvirt domain XML. Throws ConfigError; never anything else for bad input. */
export function parseDomainXml(input: string | Buffer): DomainConfig {
  checkSize(input);
  const root = parseXml(decodeXml(input), DOMAIN_INTEREST);
  const domain = readDomain(root);
  const ours = findOurElement(root);
  const directflip = ours ? readDirectflip(ours, domain.mdevs.map((m) => m.uuid)) : null;
  return deepFreeze({ ...domain, configured: directflip !== null, directflip });
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}
