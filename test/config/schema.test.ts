import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configFixtures, outcome, REPO } from '../helpers/fixtures';
import { directflipElements, relaxngAccepts } from '../helpers/relaxng';

/**
 * Rules RELAX NG cannot state: they relate our element to the rest of the domain or to its
 * siblings, or concern the document before our element is reached. For these the schema must
 * accept what the parser refuses — which proves the split is exactly where we say it is.
 */
const PARSER_ONLY = new Set(['EDF_MDEV_NOT_IN_DOMAIN', 'EDF_DUPLICATE_CONNECTOR', 'EDF_DUPLICATE_PLANE', 'EDF_DUPLICATE_ELEMENT', 'EDF_DOMAIN']);

test('every example domain validates against the schema and the parser', () => {
  const examples = readdirSync(join(REPO, 'examples')).filter((f) => f.endsWith('.xml'));
  expect(examples.length).toBeGreaterThanOrEqual(5);
  const els = examples.flatMap((f) => directflipElements(readFileSync(join(REPO, 'examples', f), 'utf8')) ?? []);
  expect(els.length).toBe(examples.length - 1); // all but no-metadata.xml are configured
  expect(relaxngAccepts(els)).toEqual(els.map(() => true));
  for (const f of examples) expect(outcome(readFileSync(join(REPO, 'examples', f), 'utf8')).ok).toBe(true);
});

test('the schema rejects a wrong element', () => {
  expect(relaxngAccepts(['<directflip xmlns="https://directflip.github.io/xmlns/domain/1"/>'])).toEqual([false]);
});

// A document that is not well-formed XML has no element to hand the schema, even where a lenient
// extractor (the helper's xmldom) still finds one in it.
const cases = configFixtures()
  .map((f) => ({ ...f, els: directflipElements(f.xml), got: outcome(f.xml) }))
  .filter((c) => c.els !== null && c.els.length > 0 && !(!c.got.ok && c.got.error.code === 'EDF_XML'));

test('the schema applies to most of the corpus', () => {
  expect(cases.length).toBeGreaterThanOrEqual(40);
});

test.each(cases.map((c) => [c.name, c] as const))('parser and schema agree on %s', (_name, c) => {
  const accepted = relaxngAccepts(c.els!).every(Boolean);
  if (c.got.ok) expect(accepted).toBe(true);
  else if (PARSER_ONLY.has(String(c.got.error.code))) expect(accepted).toBe(true);
  else expect(accepted).toBe(false);
});
