import { ConfigError } from './errors';

/**
 * Bytes to text the way libxml2 reads a domain XML: a UTF-8 byte-order mark means UTF-8; else the
 * XML declaration's encoding (libvirt always writes UTF-8, but a file an admin hands `validate`
 * may say ISO-8859-1); else UTF-8. Bytes that are not valid in that encoding are refused, as
 * libxml2 refuses them, rather than silently replaced.
 */
const DECL_RE = /^<\?xml[ \t\r\n][^?>]*?encoding[ \t\r\n]*=[ \t\r\n]*(["'])([A-Za-z][A-Za-z0-9._-]*)\1/;
const LATIN1 = ['iso-8859-1', 'iso_8859-1', 'iso8859-1', 'latin1', 'l1', 'iso-ir-100', 'cp819', 'ibm819'];
const ASCII = ['us-ascii', 'ascii', 'iso646-us'];

export function decodeXml(input: string | Buffer): string {
  if (typeof input === 'string') return input;
  if (input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf) return utf8(input.subarray(3));
  if ((input[0] === 0xfe && input[1] === 0xff) || (input[0] === 0xff && input[1] === 0xfe) || (input[0] === 0 && input[1] === 0x3c) || (input[0] === 0x3c && input[1] === 0)) {
    throw new ConfigError('EDF_XML', 'malformed XML: the input is UTF-16; libvirt reads a domain XML as UTF-8 (convert it with iconv -f UTF-16 -t UTF-8)', { line: 1 });
  }
  const declared = DECL_RE.exec(input.subarray(0, 256).toString('latin1'))?.[2].toLowerCase();
  if (!declared || declared === 'utf-8' || declared === 'utf8') return utf8(input);
  if (LATIN1.includes(declared)) return input.toString('latin1');
  if (ASCII.includes(declared)) {
    const bad = input.findIndex((b) => b > 0x7f);
    if (bad >= 0) throw notIn(declared, input, bad);
    return input.toString('latin1');
  }
  if (declared.startsWith('utf-16') || declared.startsWith('ucs')) {
    throw new ConfigError('EDF_XML', `malformed XML: the declaration says encoding "${declared}", but the bytes are not UTF-16 (no byte-order mark)`, { line: 1 });
  }
  let decoder: InstanceType<typeof TextDecoder>;
  try {
    decoder = new TextDecoder(declared, { fatal: true });
  } catch {
    throw new ConfigError('EDF_XML', `malformed XML: unsupported encoding "${declared}" in the XML declaration`, { line: 1, allowed: 'UTF-8 (what libvirt writes), ISO-8859-1, US-ASCII or another encoding this node knows' });
  }
  try {
    return decoder.decode(input);
  } catch {
    throw new ConfigError('EDF_XML', `malformed XML: the bytes are not valid ${declared}, as the XML declaration says they are`, { line: 1 });
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function utf8(bytes: Buffer): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw notIn('utf-8', bytes, Math.min(firstBadUtf8(bytes), bytes.length - 1));
  }
}

function notIn(encoding: string, bytes: Buffer, at: number): ConfigError {
  const line = bytes.subarray(0, at).reduce((n, b) => n + (b === 0x0a ? 1 : 0), 1);
  return new ConfigError('EDF_XML', `malformed XML: byte ${at} (0x${bytes[at]?.toString(16).padStart(2, '0')}) is not valid ${encoding.toUpperCase()}; declare the file's encoding in <?xml … encoding="…"?> or convert it to UTF-8`, { line });
}

/** Where UTF-8 decoding first fails: decode growing prefixes by halves. */
function firstBadUtf8(bytes: Buffer): number {
  const ok = (n: number) => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, n), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  let lo = 0;
  let hi = bytes.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  // bytes[lo] broke the sequence; name the lead byte that started it, at most 3 bytes back.
  for (let i = lo - 1; i >= 0 && lo - i <= 3; i--) {
    if (bytes[i] >= 0xc0) return i + (bytes[i] >= 0xf0 ? 4 : bytes[i] >= 0xe0 ? 3 : 2) > lo ? i : lo;
    if ((bytes[i] & 0xc0) !== 0x80) break;
  }
  return lo;
}
