/**
 * A tiny jest-style runner for the kernel lane's guest, where there is no jest: it provides the
 * describe/test/it/beforeAll/afterAll/beforeEach/afterEach globals and jest's own `expect`, so the
 * contract suites run unchanged against the real addon. Tests run in declaration order, one at a
 * time. Each result is a line on the console and on the host's channel (ttyS1):
 * `ok - FULL NAME` or `not ok - FULL NAME: FIRST LINE OF THE ERROR`, further lines as `# ...`.
 * There is no skip: `test.skip` and `test.todo` report `not ok`.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { expect } from 'expect';

type Fn = () => unknown;

interface Suite {
  name: string;
  parent: Suite | null;
  children: (Suite | TestCase)[];
  beforeAll: Fn[];
  afterAll: Fn[];
  beforeEach: Fn[];
  afterEach: Fn[];
}

interface TestCase {
  name: string;
  fn: Fn | null;
  timeout: number;
  parent: Suite;
  why?: string;
}

const DEFAULT_TIMEOUT = 60_000;
const root: Suite = { name: '', parent: null, children: [], beforeAll: [], afterAll: [], beforeEach: [], afterEach: [] };
let current = root;

function describe(name: string, fn: () => void): void {
  const s: Suite = { name, parent: current, children: [], beforeAll: [], afterAll: [], beforeEach: [], afterEach: [] };
  current.children.push(s);
  const prev = current;
  current = s;
  try {
    fn();
  } finally {
    current = prev;
  }
}

function test(name: string, fn: Fn, timeout = DEFAULT_TIMEOUT): void {
  current.children.push({ name, fn, timeout, parent: current });
}
test.skip = (name: string) => current.children.push({ name, fn: null, timeout: 0, parent: current, why: 'skipped in the source (the lane skips nothing)' });
test.todo = (name: string) => current.children.push({ name, fn: null, timeout: 0, parent: current, why: 'a todo (the lane skips nothing)' });

const g = globalThis as Record<string, unknown>;
Object.assign(g, {
  describe,
  test,
  it: test,
  expect,
  beforeAll: (fn: Fn) => current.beforeAll.push(fn),
  afterAll: (fn: Fn) => current.afterAll.push(fn),
  beforeEach: (fn: Fn) => current.beforeEach.push(fn),
  afterEach: (fn: Fn) => current.afterEach.push(fn),
});

/** The host's channel: ttyS1 in the guest, nothing elsewhere (stdout still gets every line). */
let channel: number | null = null;
try {
  channel = openSync(process.env.DF_LANE_CHANNEL ?? '/dev/ttyS1', 'w');
} catch {
  channel = null;
}

/** One line to the console and to the host. */
export function report(line: string): void {
  process.stdout.write(`${line}\n`);
  if (channel !== null) writeSync(channel, `${line}\n`);
}

/** Raw data to the host only (captures). */
export function toHost(data: string): void {
  if (channel !== null) writeSync(channel, data);
}

function fullName(t: { name: string; parent: Suite | null }): string {
  const parts: string[] = [t.name];
  for (let s = t.parent; s && s !== root; s = s.parent) parts.unshift(s.name);
  return parts.join(' › ');
}

function describeError(e: unknown): string[] {
  if (e instanceof Error) {
    const k = e as Error & { code?: string; syscall?: string };
    // jest's messages carry ANSI colours when chalk thinks it has a terminal.
    const msg = (e.message || String(e)).replace(/\x1b\[[0-9;]*m/g, '');
    const lines = msg.split('\n').filter((l) => l.trim() !== '');
    if (!lines.length) lines.push(e.name);
    if (k.code && !msg.includes(k.code)) lines[0] += ` [${k.code}${k.syscall ? ` ${k.syscall}` : ''}]`;
    const frame = (e.stack ?? '').split('\n').find((l) => /^\s+at /.test(l));
    if (frame && e.constructor !== Error && !(e as { matcherResult?: unknown }).matcherResult) lines.push(frame.trim());
    return lines;
  }
  return [String(e)];
}

async function withTimeout(fn: Fn, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(fn),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

const counts = { passed: 0, failed: 0, filtered: 0 };

/**
 * A developer's filter (DIRECTFLIP_KERNEL_FILTER on the host, /df/lane-filter in the guest): only
 * tests whose full name matches run. A filtered run says so, and never counts as a full pass.
 */
let filter: RegExp | null = null;
try {
  const f = readFileSync(process.env.DF_LANE_FILTER_FILE ?? '/df/lane-filter', 'utf8').trim();
  if (f) filter = new RegExp(f);
} catch {
  filter = null;
}

function result(t: TestCase, err: unknown | null): void {
  const name = fullName(t).replace(/\n/g, ' ');
  if (err === null) {
    counts.passed++;
    report(`ok - ${name}`);
    return;
  }
  counts.failed++;
  const lines = describeError(err);
  report(`not ok - ${name}: ${lines[0]}`);
  for (const l of lines.slice(1, 40)) report(`# ${l}`);
}

function hooks(s: Suite, kind: 'beforeEach' | 'afterEach'): Fn[] {
  const chain: Suite[] = [];
  for (let x: Suite | null = s; x; x = x.parent) chain.unshift(x);
  const all = chain.flatMap((x) => x[kind]);
  return kind === 'afterEach' ? chain.reverse().flatMap((x) => x[kind]) : all;
}

function allTests(s: Suite): TestCase[] {
  return s.children.flatMap((c) => ('children' in c ? allTests(c) : [c]));
}

async function runTest(t: TestCase): Promise<void> {
  if (filter && !filter.test(fullName(t))) {
    counts.filtered++;
    return;
  }
  if (!t.fn) {
    result(t, new Error(t.why ?? 'no test body'));
    return;
  }
  let err: unknown | null = null;
  try {
    for (const h of hooks(t.parent, 'beforeEach')) await withTimeout(h, t.timeout, 'beforeEach');
    await withTimeout(t.fn, t.timeout, 'the test');
  } catch (e) {
    err = e;
  }
  for (const h of hooks(t.parent, 'afterEach')) {
    try {
      await withTimeout(h, t.timeout, 'afterEach');
    } catch (e) {
      err ??= e;
    }
  }
  result(t, err);
}

async function runSuite(s: Suite): Promise<void> {
  try {
    for (const h of s.beforeAll) await withTimeout(h, DEFAULT_TIMEOUT, 'beforeAll');
  } catch (e) {
    // Every test of the suite fails with the reason: nothing is left out silently.
    for (const t of allTests(s)) result(t, e);
    return;
  }
  for (const c of s.children) {
    if ('children' in c) await runSuite(c);
    else await runTest(c);
  }
  for (const h of s.afterAll) {
    try {
      await withTimeout(h, DEFAULT_TIMEOUT, 'afterAll');
    } catch (e) {
      counts.failed++;
      const lines = describeError(e);
      report(`not ok - ${fullName({ name: 'afterAll', parent: s })}: ${lines[0]}`);
    }
  }
}

/** Runs everything declared so far; resolves to the process exit code. */
export async function run(): Promise<number> {
  const t0 = Date.now();
  await runSuite(root);
  if (filter) report(`not ok - the whole suite ran: ${counts.filtered} tests left out by the filter /${filter.source}/`);
  if (filter) counts.failed++;
  report(`DF-LANE summary ${counts.passed} passed, ${counts.failed} failed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (channel !== null) closeSync(channel);
  channel = null;
  return counts.failed === 0 && counts.passed > 0 ? 0 : 1;
}
