import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDomainXml } from '../../src/config';
import { REPO } from '../helpers/fixtures';
import { SCHEMA } from '../helpers/relaxng';

const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
const reference = readme.slice(readme.indexOf('<!-- config-reference:start -->'), readme.indexOf('<!-- config-reference:end -->'));
const schema = readFileSync(SCHEMA, 'utf8');

test('the README has a configuration reference', () => {
  expect(reference.length).toBeGreaterThan(1000);
});

test('every element and attribute the schema defines is documented', () => {
  const elements = [...schema.matchAll(/<element name="([^"]+)"/g)].map((m) => m[1]);
  const attributes = [...schema.matchAll(/<element name="([^"]+)">([\s\S]*?)<\/element>/g)].flatMap((m) =>
    [...m[2].matchAll(/<attribute name="([^"]+)"/g)].map((a) => `<${m[1]}>/@${a[1]}`),
  );
  expect(elements.sort()).toEqual(['directflip', 'output', 'plane']);
  expect(attributes.length).toBeGreaterThanOrEqual(15);
  for (const e of elements) expect(reference).toContain(`\`<${e}>\``);
  for (const a of new Set(attributes)) expect(reference).toContain(`\`${a}\``);
});

test('every enumerated value in the schema appears in the reference', () => {
  const values = new Set([...schema.matchAll(/<value>([^<]+)<\/value>/g)].map((m) => m[1]));
  for (const v of values) expect(reference).toContain(`\`${v}\``);
});

test('the README example is a valid configuration', () => {
  const xml = /```xml\n([\s\S]*?)```/.exec(reference)![1];
  const domain = `<domain><name>doc</name>${xml}<devices><hostdev mode='subsystem' type='mdev'><source><address uuid='c2177883-f1bb-47f0-914d-32a22e3a8804'/></source></hostdev></devices></domain>`;
  expect(parseDomainXml(domain).configured).toBe(true);
});
