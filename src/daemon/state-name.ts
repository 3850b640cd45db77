import { createHash } from 'node:crypto';

/**
 * Journal records are named by the domain's UUID, which libvirt never changes and always writes
 * in lower case: 36 bytes whatever the name (libvirt allows long, non-ASCII names), and a name
 * the hook's POSIX sh shim can test with no tools: `[ -e "$RUN_DIR/domains/$uuid.json" ]`.
 */
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function recordFileName(uuid: string): string {
  if (!UUID_RE.test(uuid)) throw new Error(`not a canonical lower-case UUID: ${JSON.stringify(uuid)}`);
  return `${uuid}.json`;
}

/**
 * The key of a domain XML without `<uuid>` (libvirt always writes one; hand-written files and
 * tests may not): a UUID derived from the name, so every operation on that XML agrees on it.
 */
export function nameUuid(name: string): string {
  const h = createHash('sha256').update(`directflip domain name\0${name}`).digest('hex');
  // RFC 9562 version 8 (custom), variant 10.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
