import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dbus from 'dbus-next';
import { MethodTable } from '../../src/daemon/bus-methods';
import { introspectionXml } from '../../src/daemon/names';
import { withTimeout } from '../../src/util/timeout';
import { startBus, startDaemon } from '../helpers/bus';
import type { DaemonProc } from '../helpers/bus';
import { STACK_RE } from '../helpers/cli';
import { REPO } from '../helpers/fixtures';
import { reportFuzz } from '../helpers/report';

/**
 * Random signatures and bodies, sent by root to every method of a daemon on a simulated host
 * over a real dbus-daemon: every call is answered (a result or an error with a name and no
 * stack), the daemon never dies, and it still answers Status afterwards. Fixed seeds;
 * DIRECTFLIP_FUZZ_RUNS sets the runs per property for a longer search.
 */
const RUNS = Number(process.env.DIRECTFLIP_FUZZ_RUNS) || 150;
jest.setTimeout(Math.max(120_000, RUNS * 400));

const DEST = 'io.github.directflip1';
const PATH = '/io/github/directflip1';
const kioskXml = readFileSync(join(REPO, 'examples', 'gvt-kiosk-hdmi.xml'), 'utf8');
const specs = new MethodTable(introspectionXml(), { simulator: true }).all();

// --- D-Bus types and values that dbus-next can marshal and the bus accepts -------------------

type Tree = { k: 'basic'; c: string } | { k: 'array'; of: Tree } | { k: 'struct'; items: Tree[] } | { k: 'dict'; val: Tree } | { k: 'variant' };

const sigOf = (t: Tree): string =>
  t.k === 'basic' ? t.c : t.k === 'array' ? `a${sigOf(t.of)}` : t.k === 'struct' ? `(${t.items.map(sigOf).join('')})` : t.k === 'dict' ? `a{s${sigOf(t.val)}}` : 'v';

const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...'ybnqiuxtdsog').map((c): Tree => ({ k: 'basic', c })),
    tie('array').map((t) => t as Tree),
    tie('struct').map((t) => t as Tree),
    tie('dict').map((t) => t as Tree),
    fc.constant<Tree>({ k: 'variant' }),
  ),
  array: tie('tree').map((of) => ({ k: 'array', of }) as Tree),
  struct: fc.array(tie('tree'), { minLength: 1, maxLength: 3 }).map((items) => ({ k: 'struct', items }) as Tree),
  dict: tie('tree').map((val) => ({ k: 'dict', val }) as Tree),
}));

/** D-Bus strings: valid UTF-8 without NUL; control characters, newlines and escapes included. */
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.fullUnicodeString({ maxLength: 40 }),
  fc.constantFrom('', 'kiosk-hdmi', 'HDMI-A-1', 'x\n<3>forged', '\x1b[2J', '../../etc/passwd', 'a'.repeat(5000)),
).map((s) => s.replace(/\0/g, ''));
const objectPath = fc.array(fc.stringMatching(/^[A-Za-z0-9_]{1,8}$/), { maxLength: 3 }).map((p) => `/${p.join('/')}`);

function valueOf(t: Tree, depth = 0): fc.Arbitrary<unknown> {
  switch (t.k) {
    case 'basic':
      return {
        y: fc.integer({ min: 0, max: 255 }), b: fc.boolean(), n: fc.integer({ min: -32768, max: 32767 }), q: fc.integer({ min: 0, max: 65535 }),
        i: fc.integer(), u: fc.integer({ min: 0, max: 0xffffffff }), x: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        t: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), d: fc.double(), s: text, o: objectPath, g: tree.map(sigOf),
      }[t.c]!;
    case 'array':
      return fc.array(valueOf(t.of, depth + 1), { maxLength: 4 });
    case 'struct':
      return fc.tuple(...t.items.map((i) => valueOf(i, depth + 1)));
    case 'dict':
      return fc.dictionary(fc.string({ maxLength: 8 }).map((s) => s.replace(/\0/g, '')), valueOf(t.val, depth + 1), { maxKeys: 3 });
    case 'variant': {
      const inner = depth > 3 ? fc.constant<Tree>({ k: 'basic', c: 's' }) : tree;
      return inner.chain((i) => valueOf(i, depth + 1).map((v) => new dbus.Variant(sigOf(i), v)));
    }
  }
}

const body = fc.array(tree, { maxLength: 4 }).chain((ts) => fc.tuple(...ts.map((t) => valueOf(t))).map((values) => ({ signature: ts.map(sigOf).join(''), body: values as unknown[] })));

/** A domain XML as libvirt might send it, or a mangled one: a slice replaced with random text. */
const xmlish = fc.oneof(
  fc.constant(kioskXml),
  fc.tuple(fc.nat(kioskXml.length), fc.nat(200), text).map(([at, len, s]) => kioskXml.slice(0, at) + s + kioskXml.slice(at + len)),
  text,
);

/** A signature's complete types as trees (the inverse of sigOf), so any declared signature can be filled. */
function parseSig(sig: string): Tree[] {
  let at = 0;
  const one = (): Tree => {
    const c = sig[at++];
    if (c === 'a' && sig[at] === '{') {
      at += 2; // '{' and the key, which sigOf writes as 's'
      const val = one();
      at++; // '}'
      return { k: 'dict', val };
    }
    if (c === 'a') return { k: 'array', of: one() };
    if (c === '(') {
      const items: Tree[] = [];
      while (sig[at] !== ')') items.push(one());
      at++;
      return { k: 'struct', items };
    }
    return c === 'v' ? { k: 'variant' } : { k: 'basic', c };
  };
  const out: Tree[] = [];
  while (at < sig.length) out.push(one());
  return out;
}

/** The right signature, each argument random (strings that matter are XML-like). */
const wellTyped = fc.constantFrom(...specs).chain((s) =>
  fc
    .tuple(...parseSig(s.in).map((t, i) => (t.k === 'basic' && t.c === 's' ? (s.inNames[i].includes('xml') ? xmlish : text) : valueOf(t))))
    .map((args) => ({ spec: s, body: args as unknown[] })),
);

const target = fc.record({
  iface: fc.oneof(fc.constantFrom(...new Set(specs.map((s) => s.iface))), fc.constant(undefined), fc.constantFrom('com.example.Nope', 'org.freedesktop.DBus.Peer')),
  member: fc.oneof(fc.constantFrom(...specs.map((s) => s.member)), fc.constantFrom('GetMachineId', 'Explode', 'X')),
  path: fc.oneof({ weight: 4, arbitrary: fc.constant(PATH) }, { weight: 1, arbitrary: fc.constantFrom('/', '/io', '/io/github', `${PATH}/x`) }, { weight: 1, arbitrary: objectPath }),
});

// --- The daemon under test -----------------------------------------------------------------

let bus: ReturnType<typeof startBus>;
let root: string;
let daemon: DaemonProc;
let client: dbus.MessageBus;
let cases = 0;
const outcomes = new Map<string, number>();

beforeAll(async () => {
  bus = startBus();
  root = mkdtempSync(join(tmpdir(), 'directflip-root-'));
  daemon = await startDaemon(bus.address, 'sim:gvt-skylake', root);
  client = dbus.sessionBus({ busAddress: bus.address });
});
afterAll(async () => {
  client?.disconnect();
  await daemon?.stop('SIGKILL');
  bus?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** One call: answered within 10 s by a result or a named error without a stack, the daemon alive. */
async function answered(m: { iface?: string; member: string; path: string; signature: string; body: unknown[] }): Promise<void> {
  cases++;
  let outcome: string;
  try {
    await withTimeout(client.call(new dbus.Message({ destination: DEST, path: m.path, interface: m.iface, member: m.member, signature: m.signature, body: m.body })), 10_000, `${m.member}(${m.signature})`);
    outcome = 'result';
  } catch (e) {
    const err = e as { type?: string; text?: string; code?: string; message: string };
    if (!err.type) throw new Error(`${m.iface}.${m.member}(${m.signature}) got no D-Bus answer: ${err.code ?? ''} ${err.message}`);
    if (err.type === 'io.github.directflip1.Error.Internal') throw new Error(`${m.iface}.${m.member}(${m.signature}) failed inside the daemon: ${err.text}`);
    if (STACK_RE.test(err.text ?? '')) throw new Error(`an error reply carries a stack: ${err.text}`);
    outcome = err.type;
  }
  outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  if (daemon.proc.exitCode !== null || daemon.proc.signalCode) throw new Error(`the daemon died: ${daemon.log()}`);
}

test('random signatures and bodies to every method: always an answer, never a crash', async () => {
  await fc.assert(
    fc.asyncProperty(target, body, async (t, b) => answered({ ...t, ...b })),
    { seed: 0xdb05, numRuns: RUNS },
  );
});

test('the right signature with random arguments, XML included: always an answer, never a crash', async () => {
  await fc.assert(
    fc.asyncProperty(wellTyped, async ({ spec, body: args }) => answered({ iface: spec.iface, member: spec.member, path: PATH, signature: spec.in, body: args })),
    { seed: 0xdb06, numRuns: RUNS },
  );
});

test('afterwards the daemon still answers Status, and nothing it logged has a stack', async () => {
  const reply = await withTimeout(client.call(new dbus.Message({ destination: DEST, path: PATH, interface: 'io.github.directflip1.Manager', member: 'Status' })), 10_000, 'Status');
  expect(Array.isArray(reply!.body[0])).toBe(true);
  expect(daemon.proc.exitCode).toBeNull();
  expect(daemon.log()).not.toMatch(STACK_RE);
  // Both kinds of answer were reached: the fuzz is not only bouncing off the signature check.
  expect(outcomes.get('result')).toBeGreaterThan(0);
  expect(outcomes.get('org.freedesktop.DBus.Error.InvalidArgs')).toBeGreaterThan(0);
  reportFuzz('dbus-args', { suite: 'dbus-args', cases, crashes: 0 });
});
