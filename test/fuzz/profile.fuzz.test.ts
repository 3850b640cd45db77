import fc from 'fast-check';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SimHost } from '../../src/kernel/sim/host';
import { loadProfile, profileNames } from '../../src/kernel/sim/load-profile';
import { ProfileError } from '../../src/kernel/sim/profile-check';
import { readTopology } from '../../src/kernel/topology';
import { reportFuzz } from '../helpers/report';

// Issue 12 item 11: the profile loader on random JSON and on real profiles mutated at random.
// Every outcome is a profile the simulator runs (it boots and answers GETRESOURCES) or a
// ProfileError; anything else is a crash. Fixed seeds in CI; DIRECTFLIP_FUZZ_RUNS runs longer.
// A crash found becomes a file in fixtures/profile/, loaded by the last test.
const RUNS = Number(process.env.DIRECTFLIP_FUZZ_RUNS) || 150;
const SEED = 0x12_08;
jest.setTimeout(Math.max(60_000, RUNS * 300));

const FIXTURES = join(__dirname, 'fixtures', 'profile');
const REAL = resolve(__dirname, '../../examples/hosts');
let dir: string;
let cases = 0;
let crashes = 0;
let loaded = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'directflip-profile-fuzz-'));
  mkdirSync(FIXTURES, { recursive: true });
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  reportFuzz('profile', { suite: 'profile', cases, crashes });
});

/** True when the file loads as a runnable profile or is refused precisely; false is a crash. */
function survives(text: string): boolean {
  cases++;
  const file = join(dir, `case-${cases % 8}.json`);
  writeFileSync(file, text);
  try {
    const p = loadProfile(file);
    const host = new SimHost(p);
    readTopology(host.openKms(p.kms.devPath));
    host.stop();
    loaded++;
    return true;
  } catch (e) {
    if (e instanceof ProfileError && e.message.length < 2000) return true;
    crashes++;
    // DIRECTFLIP_FUZZ_SAVE=1 keeps each crash as a fixture for the regression test below.
    if (process.env.DIRECTFLIP_FUZZ_SAVE) writeFileSync(join(FIXTURES, `crash-${Date.now()}-${crashes}.json`), text);
    return false;
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** One edit of a JSON tree: at the node `pick` selects (pre-order, modulo the node count). */
interface Edit {
  pick: number;
  op: 'replace' | 'delete' | 'duplicate' | 'number' | 'empty';
  value: Json;
  n: number;
}

function nodes(v: Json, out: { parent: Json[] | Record<string, Json> | null; key: string | number; value: Json }[] = [], parent: Json[] | Record<string, Json> | null = null, key: string | number = ''): typeof out {
  out.push({ parent, key, value: v });
  if (Array.isArray(v)) v.forEach((x, i) => nodes(x, out, v, i));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) nodes(x, out, v, k);
  return out;
}

function apply(root: Json, e: Edit): Json {
  const all = nodes(root);
  const t = all[e.pick % all.length];
  if (!t.parent) return e.op === 'replace' ? e.value : root;
  const set = (v: Json) => ((t.parent as Record<string | number, Json>)[t.key] = v);
  switch (e.op) {
    case 'replace': set(e.value); break;
    case 'number': set([0, -1, 1, 33, 65, 257, 2 ** 31, 2 ** 53, 1e300, 0.5, e.n][e.n % 11]); break;
    case 'empty': set(Array.isArray(t.value) ? [] : t.value && typeof t.value === 'object' ? {} : ''); break;
    case 'delete':
      if (Array.isArray(t.parent)) t.parent.splice(t.key as number, 1);
      else delete t.parent[t.key];
      break;
    case 'duplicate':
      if (Array.isArray(t.parent)) for (let i = 0; i < (e.n % 40) + 1; i++) t.parent.push(structuredClone(t.value));
      break;
  }
  return root;
}

const edit: fc.Arbitrary<Edit> = fc.record({
  pick: fc.nat(),
  op: fc.constantFrom('replace', 'delete', 'duplicate', 'number', 'empty'),
  value: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
  n: fc.nat(1000),
});

test('random JSON of any shape: a profile or a precise refusal', () => {
  fc.assert(fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => survives(JSON.stringify(v))), { seed: SEED, numRuns: RUNS });
});

test('random objects shaped like a profile at the top: a profile or a precise refusal', () => {
  const top = fc.record({ name: fc.jsonValue(), kms: fc.dictionary(fc.constantFrom('crtcs', 'connectors', 'planesPerCrtc', 'caps', 'limits', 'driver'), fc.jsonValue({ maxDepth: 3 })), vfio: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: ['kms'] });
  fc.assert(fc.property(top, (v) => survives(JSON.stringify(v))), { seed: SEED + 1, numRuns: RUNS });
});

test('real profiles with random edits: a profile or a precise refusal', () => {
  const before = loaded;
  const reals = profileNames().filter((n) => !JSON.parse(readFileSync(join(REAL, `${n}.json`), 'utf8')).extends);
  fc.assert(
    fc.property(fc.constantFrom(...reals), fc.array(edit, { minLength: 1, maxLength: 4 }), (name, edits) => {
      let v = JSON.parse(readFileSync(join(REAL, `${name}.json`), 'utf8')) as Json;
      for (const e of edits) v = apply(v, e);
      return survives(JSON.stringify(v));
    }),
    { seed: SEED + 2, numRuns: RUNS * 2 },
  );
  expect(loaded - before).toBeGreaterThan(RUNS / 10); // the edits reach past the schema into the simulator
});

test('bytes that are not JSON, and JSON cut short: refused without a crash', () => {
  const text = readFileSync(join(REAL, 'gvt-skylake.json'), 'utf8');
  fc.assert(fc.property(fc.nat(text.length), fc.uint8Array({ maxLength: 64 }), (cut, junk) => survives(text.slice(0, cut) + Buffer.from(junk).toString('latin1'))), { seed: SEED + 3, numRuns: RUNS });
});

test('every crash found so far, kept as a fixture, is now a profile or a refusal', () => {
  for (const f of readdirSync(FIXTURES).filter((x) => x.endsWith('.json'))) expect([f, survives(readFileSync(join(FIXTURES, f), 'utf8'))]).toEqual([f, true]);
});
