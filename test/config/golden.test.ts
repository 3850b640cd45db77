import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { configFixtures, outcome } from '../helpers/fixtures';

// mdevctl-style golden files: UPDATE_GOLDEN=1 rewrites them; review the diff before committing.
const update = process.env.UPDATE_GOLDEN === '1';
const fixtures = configFixtures();

test('the corpus holds at least 40 cases, good and bad', () => {
  expect(fixtures.length).toBeGreaterThanOrEqual(40);
  expect(fixtures.filter((f) => f.name.startsWith('good-')).length).toBeGreaterThan(5);
  expect(fixtures.filter((f) => f.name.startsWith('bad-')).length).toBeGreaterThan(30);
});

describe.each(fixtures.map((f) => [f.name, f] as const))('%s', (name, f) => {
  const golden = f.file.replace(/\.xml$/, '.expected.json');

  test('matches its golden outcome', () => {
    const got = outcome(f.xml);
    if (update) writeFileSync(golden, JSON.stringify(got, null, 2) + '\n');
    expect(existsSync(golden)).toBe(true);
    expect(got).toEqual(JSON.parse(readFileSync(golden, 'utf8')));
  });

  // The name says what the case is for, so a golden file can never bless the wrong outcome.
  test(name.startsWith('good-') ? 'is accepted' : 'is refused with a located, explained error', () => {
    const got = outcome(f.xml);
    expect(got.ok).toBe(name.startsWith('good-'));
    if (!got.ok) {
      expect(got.error.code).toMatch(/^EDF_[A-Z_]+$/);
      expect(String(got.error.message).length).toBeGreaterThan(20);
    }
  });
});
