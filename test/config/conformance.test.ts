/**
 * The hook parses what libvirt parses: libxml2 is a conforming XML 1.0 parser, so everything
 * well-formed is read, and everything that is not is refused, with where and why.
 */
import { ConfigError, parseDomainXml } from '../../src/config';
import { reportBadInputs } from '../helpers/report';

const NS = 'https://directflip.github.io/xmlns/domain/1';
const domain = (extra = '', name = 'guest1') =>
  `<domain type='kvm'><name>${name}</name><uuid>5b0b4c1e-8f4f-4f53-9d4e-2d7c0c0a7a11</uuid>${extra}<metadata><df:directflip xmlns:df="${NS}"><df:output connector="DP-1"><df:plane from="primary" console="0"/></df:output></df:directflip></metadata><devices><graphics type='dbus'/></devices></domain>`;
const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

function refused(input: string | Buffer): ConfigError {
  try {
    parseDomainXml(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('accepted');
}

describe('accepted, as libvirt accepts them', () => {
  test.each([
    ['U+FFFD in <description>', domain('<description>\uFFFD</description>')],
    ['U+FFFD in an attribute and a comment', domain("<title a='\uFFFD'>t<!-- \uFFFD --></title>")],
    ['<!DOCTYPE and <!ENTITY text in a comment', domain('<!-- <!DOCTYPE d [<!ENTITY x "y">]> -->')],
    ['<!DOCTYPE and <!ENTITY text in CDATA', domain('<description><![CDATA[<!DOCTYPE d><!ENTITY x "y"> &x;]]></description>')],
    ['a UTF-8 byte-order mark (string)', `\uFEFF${domain()}`],
    ['characters beyond the BMP', domain('<description>\u{1F600} \u{10FFFF}</description>')],
    ['character references XML allows', domain('<description>&#x9;&#10;&#xD;&#x20;&#xFFFD;&#x10000;&lt;&amp;&gt;&apos;&quot;</description>')],
  ])('%s', (_what, xml) => {
    expect(parseDomainXml(xml).configured).toBe(true);
    expect(parseDomainXml(Buffer.from(xml, 'utf8')).configured).toBe(true);
  });

  test('a UTF-8 byte-order mark before the XML declaration (bytes)', () => {
    expect(parseDomainXml(bytes([0xef, 0xbb, 0xbf], `<?xml version="1.0" encoding="UTF-8"?>\n${domain('', 'café')}`)).name).toBe('café');
  });
  test('an encoding declaration with bytes in that encoding: ISO-8859-1', () => {
    expect(parseDomainXml(bytes(`<?xml version='1.0' encoding='ISO-8859-1'?>\n`, domain())).configured).toBe(true);
    const latin = bytes(`<?xml version="1.0" encoding="iso-8859-1"?>`, `<domain><name>caf`, [0xe9, 0x80], `</name></domain>`);
    // ISO-8859-1 byte for byte, 0x80 included (a C1 control XML 1.0 allows), unlike windows-1252.
    expect(parseDomainXml(latin).name).toBe('café\u0080');
  });
  test('another declared encoding node knows (KOI8-R)', () => {
    expect(parseDomainXml(bytes(`<?xml version="1.0" encoding="KOI8-R"?><domain><name>`, [0xc1], `</name></domain>`)).name).toBe('а');
  });
});

const bad: [string, string | Buffer, RegExp][] = [
  ['a raw NUL byte', bytes('<domain><name>a', [0], '</name></domain>'), /character U\+0000 is not allowed in XML 1\.0/],
  ['a raw NUL in a comment', '<domain><!-- \0 --><name>a</name></domain>', /U\+0000/],
  ['&#x0;', '<domain><name>a&#x0;</name></domain>', /&#x0; is not a character XML 1\.0 allows/],
  ['&#0;', '<domain><name>a&#0;</name></domain>', /&#0; is not a character/],
  ['&#x1; in an attribute', "<domain type='&#x1;'><name>a</name></domain>", /&#x1; is not a character/],
  ['a raw U+0001', '<domain><name>a\u0001</name></domain>', /U\+0001/],
  ['U+FFFE', '<domain><name>a\uFFFE</name></domain>', /U\+FFFE/],
  ['U+FFFF in an attribute', "<domain type='\uFFFF'><name>a</name></domain>", /U\+FFFF/],
  ['a bare &', '<domain><name>Tom & Jerry</name></domain>', /a bare &/],
  ['an undefined entity', '<domain><name>&nbsp;</name></domain>', /undefined entity &nbsp;/],
  ['"]]>" in text', '<domain><name>a ]]> b</name></domain>', /"]]>" is disallowed/],
  ['a raw < in an attribute', "<domain type='<'><name>a</name></domain>", /the character "<" is not allowed here/],
  ['a duplicate attribute', "<domain type='kvm' type='qemu'><name>a</name></domain>", /duplicate attribute/],
  ['an unbound prefix', '<domain><name>a</name><metadata><df:directflip/></metadata></domain>', /unbound namespace prefix/],
  ['-- in a comment', '<domain><!-- a -- b --><name>a</name></domain>', /malformed comment/],
  ['two roots', '<domain><name>a</name></domain><domain/>', /only one root/],
  ['invalid UTF-8', bytes('<domain>\n<name>caf', [0xe9], '</name></domain>'), /byte 18 \(0xe9\) is not valid UTF-8/],
  ['a truncated UTF-8 sequence', bytes('<domain><name>a', [0xe2, 0x82]), /byte 15 \(0xe2\) is not valid UTF-8/],
  ['UTF-16 with a byte-order mark', Buffer.from(`\uFEFF${domain()}`, 'utf16le'), /UTF-16/],
  ['an encoding no one knows', bytes(`<?xml version="1.0" encoding="x-no-such"?><domain><name>a</name></domain>`), /unsupported encoding "x-no-such"/],
  ['US-ASCII with a byte above 0x7F', bytes(`<?xml version="1.0" encoding="US-ASCII"?><domain><name>`, [0xe9], `</name></domain>`), /byte \d+ \(0xe9\) is not valid US-ASCII/],
  ['an unclosed element', '<domain>\n<name>a</name>\n<devices>\n', /<devices> \(opened on line 3\) is never closed/],
  ['a mismatched close tag', '<domain>\n<name>a</nmae></domain>', /<\/nmae> does not close <name> \(opened on line 2\)/],
  ['an empty document', '', /no root element|must contain a root element/],
];

describe('refused, as libvirt refuses them', () => {
  afterAll(() => reportBadInputs('config-conformance', { suite: 'config parser: not well-formed XML 1.0', inputs: bad.length }));
  test.each(bad)('%s', (_what, input, message) => {
    const e = refused(input);
    expect(e.code).toBe('EDF_XML');
    expect(e.message).toMatch(message);
    expect(e.message).toMatch(/^malformed XML: /);
  });
  test('every refusal is located', () => {
    for (const [, input] of bad) expect(refused(input).line).toBeGreaterThanOrEqual(1);
  });
});

test("nesting is bounded at libxml2's default depth of 256", () => {
  const nest = (n: number) => `<domain><name>a</name><devices>${'<a>'.repeat(n - 2)}${'</a>'.repeat(n - 2)}</devices></domain>`;
  expect(parseDomainXml(nest(256)).name).toBe('a');
  const e = refused(nest(257));
  expect([e.code, e.message]).toEqual(['EDF_XML', expect.stringMatching(/<a> nests deeper than 256 elements/)]);
});

test('parts no reader needs are still checked for well-formedness', () => {
  expect(refused(domain('<cpu><feature name="x\u0001"/></cpu>')).message).toMatch(/U\+0001/);
  expect(refused(domain('<devices><disk><source file="&bogus;"/></disk></devices>')).message).toMatch(/undefined entity &bogus;/);
});
