import { ConfigError } from './errors';

/** libvirt's own domain XML limit is far lower in practice; 4 MiB is generous and bounded. */
export const MAX_INPUT_BYTES = 4 * 1024 * 1024;

/**
 * Runs before any parsing, so an oversized or entity-laden document costs one scan and no DOM.
 * libvirt never emits a DOCTYPE in a domain XML, so refusing it loses nothing and closes entity
 * expansion (billion laughs) and external entities entirely.
 */
export function checkInput(input: string | Buffer): string {
  const bytes = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (bytes > MAX_INPUT_BYTES) {
    throw new ConfigError('EDF_TOO_LARGE', `input is ${bytes} bytes, over the ${MAX_INPUT_BYTES}-byte (4 MiB) limit for a domain XML`);
  }
  const text = typeof input === 'string' ? input : input.toString('utf8');
  const m = /<!(DOCTYPE|ENTITY)/i.exec(text);
  if (m) {
    const line = text.slice(0, m.index).split('\n').length;
    throw new ConfigError('EDF_DOCTYPE', `<!${m[1]}> declarations are refused: a libvirt domain XML has none, and entities could expand without bound`, { line });
  }
  return text;
}
