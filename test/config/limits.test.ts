import { ConfigError, MAX_INPUT_BYTES, parseDomainXml } from '../../src/config';

function codeOf(input: string | Buffer): string {
  try {
    parseDomainXml(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).code;
  }
  throw new Error('accepted');
}

const domain = (body: string) => `<domain type='kvm'><name>big</name>${body}</domain>`;

test('a 5 MiB document is refused before parsing, with its size', () => {
  expect(() => parseDomainXml(' '.repeat(5 * 1024 * 1024))).toThrow(/input is too large: 5242880 bytes, over the 4194304-byte \(4 MiB\) limit/);
  const pad = ' '.repeat(5 * 1024 * 1024);
  expect(codeOf(domain(`<description>${pad}</description>`))).toBe('EDF_TOO_LARGE');
  expect(codeOf(Buffer.from(domain(`<description>${pad}</description>`)))).toBe('EDF_TOO_LARGE');
});

test('the limit is exact: 4 MiB is parsed, one byte more is refused', () => {
  const base = domain('<description></description>');
  const fill = (n: number) => domain(`<description>${'x'.repeat(n - Buffer.byteLength(base))}</description>`);
  expect(parseDomainXml(fill(MAX_INPUT_BYTES)).name).toBe('big');
  expect(codeOf(fill(MAX_INPUT_BYTES + 1))).toBe('EDF_TOO_LARGE');
});

test('multi-byte characters count as bytes, not characters', () => {
  const base = domain('<description></description>');
  const chars = Math.floor((MAX_INPUT_BYTES - Buffer.byteLength(base)) / 3) + 1;
  expect(codeOf(domain(`<description>${'€'.repeat(chars)}</description>`))).toBe('EDF_TOO_LARGE');
});

test('a DOCTYPE is refused from the parser, wherever it stands before the root', () => {
  expect(codeOf(`<!DOCTYPE domain><domain><name>a</name></domain>`)).toBe('EDF_DOCTYPE');
  expect(codeOf(`<?xml version="1.0"?>\n<!-- c -->\n<!DOCTYPE d SYSTEM "file:///etc/passwd"><domain><name>a</name></domain>`)).toBe('EDF_DOCTYPE');
  // Not a declaration at all, so not well-formed: what libxml2 says too.
  expect(codeOf(`<!doctype domain><domain><name>a</name></domain>`)).toBe('EDF_XML');
  expect(codeOf(`<?xml version="1.0"?>\n\n<!ENTITY x "y"><domain><name>a</name></domain>`)).toBe('EDF_XML');
});

test('a billion-laughs DTD is refused before any entity is expanded', () => {
  const lol = `<!DOCTYPE d [<!ENTITY a "${'x'.repeat(100)}">${Array.from({ length: 9 }, (_, i) => `<!ENTITY ${String.fromCharCode(98 + i)} "${`&${String.fromCharCode(97 + i)};`.repeat(10)}">`).join('')}]><domain><name>&j;</name></domain>`;
  expect(codeOf(lol)).toBe('EDF_DOCTYPE');
});

test('the error for a refused declaration names its line', () => {
  try {
    parseDomainXml('<?xml version="1.0"?>\n<!DOCTYPE d [\n]>\n<domain/>');
  } catch (e) {
    expect((e as ConfigError).line).toBe(2);
    return;
  }
  throw new Error('accepted');
});

test('the result is deeply frozen', () => {
  const c = parseDomainXml(`<domain><name>a</name><metadata><directflip xmlns="https://directflip.github.io/xmlns/domain/1"><output connector="DP-1"><plane from="primary" console="0"/></output></directflip></metadata></domain>`);
  expect(Object.isFrozen(c)).toBe(true);
  expect(Object.isFrozen(c.directflip!.outputs[0].planes[0])).toBe(true);
  expect(() => {
    (c.directflip!.outputs[0] as { connector: string }).connector = 'HDMI-A-1';
  }).toThrow(TypeError);
});
