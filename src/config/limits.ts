import { ConfigError } from './errors';

/** libvirt's own domain XML limit is far lower in practice; 4 MiB is generous and bounded. */
export const MAX_INPUT_BYTES = 4 * 1024 * 1024;

/**
 * Readers keep counting (and draining) past the limit up to here, so "too large" can say the real
 * size of anything a person would feed in, while endless input (/dev/zero) still ends quickly.
 */
export const MAX_COUNTED_BYTES = 64 * 1024 * 1024;

/** Real sizes of inputs a reader cut short; kept beside the bytes so every caller's signature stays a Buffer. */
const cutShort = new WeakMap<Buffer, { size: number; exact: boolean }>();

/** Records that `head` is the first bytes of an input of `size` bytes (at least, when not `exact`). */
export function markCutShort(head: Buffer, size: number, exact: boolean): Buffer {
  cutShort.set(head, { size, exact });
  return head;
}

export function tooLarge(size: number, exact = true): ConfigError {
  const what = exact ? `${size} bytes` : `at least ${size} bytes (reading stopped there)`;
  return new ConfigError('EDF_TOO_LARGE', `input is too large: ${what}, over the ${MAX_INPUT_BYTES}-byte (4 MiB) limit for a domain XML; give the XML \`virsh dumpxml DOMAIN\` prints`);
}

/** Runs before any parsing, so an oversized document costs one length check and no parse. */
export function checkSize(input: string | Buffer): void {
  const known = Buffer.isBuffer(input) ? cutShort.get(input) : undefined;
  if (known) throw tooLarge(known.size, known.exact);
  const bytes = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (bytes > MAX_INPUT_BYTES) throw tooLarge(bytes);
}

