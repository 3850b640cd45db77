import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { dbusCode, ERROR_CODES } from '../../src/errors/catalog';
import { REPO } from '../helpers/fixtures';
import { SAMPLES } from './samples';

jest.setTimeout(120_000);

/**
 * Issue 15 item 6, errors that teach: every code the CLI, hook and daemon can print is in
 * src/errors/catalog.ts, and each one's real message (made by the code that prints it) names
 * the thing, says the cause and gives the next step.
 */

/** What a next step looks like: an imperative, a command, or the allowed values. */
const REMEDY = /allowed: |`[^`]+`|\b(use|run|give|add|set|install|remove|start|stop|restart|create|check|load|enable|fix|correct|upgrade|plug|pass|write|say|ask|call|see|reboot|edit|switch|change|install|put|name|drop|free)\b/i;

function problems(message: string, thing: string): string[] {
  const out: string[] = [];
  if (!message.includes(thing)) out.push(`does not name ${JSON.stringify(thing)}`);
  const rest = message.replace(thing, ' ').replace(REMEDY, ' ');
  if (rest.split(/\s+/).filter((w) => /[a-z]{2,}/i.test(w)).length < 4) out.push('says no cause');
  if (!REMEDY.test(message)) out.push('gives no next step');
  return out;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const SRC = sources(join(REPO, 'src')).filter((f) => !f.endsWith(join('errors', 'catalog.ts')));
const text = (f: string) => readFileSync(f, 'utf8');

/**
 * Every code the source can raise: EDF_ literals, the ConfigError and DaemonError unions, and
 * the errno-named codes directflip gives its own errors (`code: 'E…'`, or a fallback `?? 'E…'`).
 * The simulated kernel's own errnos (src/kernel/sim: its ioctls and test controls) are the
 * kernel's, surfaced through those; its store's refusal of a live owner is directflip's.
 */
function codesInSource(): Set<string> {
  const found = new Set<string>();
  for (const f of SRC) for (const m of text(f).matchAll(/'(EDF_[A-Z_]+)'/g)) found.add(m[1]);
  for (const f of SRC.filter((x) => !x.includes(join('kernel', 'sim')) || x.endsWith('kernel-store.ts'))) {
    for (const m of text(f).matchAll(/(?:code: |\?\? |\? 'ENOTRUNNING' : )'(E[A-Z]+)'/g)) found.add(m[1]);
  }
  const daemon = text(join(REPO, 'src/daemon/errors.ts'));
  const kinds = /export type DaemonErrorName = ([^;]+);/.exec(daemon)![1].match(/'(\w+)'/g)!.map((k) => k.slice(1, -1));
  for (const k of kinds) found.add(dbusCode(k));
  const config = /export type ConfigErrorCode =([^;]+);/.exec(text(join(REPO, 'src/config/errors.ts')))![1];
  for (const m of config.matchAll(/'(EDF_[A-Z_]+)'/g)) found.add(m[1]);
  if (/readonly code = 'EUSAGE'/.test(text(join(REPO, 'src/cli/options.ts')))) found.add('EUSAGE');
  if (/'ENOTRUNNING'/.test(text(join(REPO, 'src/daemon/client.ts')))) found.add('ENOTRUNNING');
  return found;
}

test('the catalog lists exactly the codes the source can raise', () => {
  const listed = ERROR_CODES.map((e) => e.code);
  expect(new Set(listed).size).toBe(listed.length);
  expect([...codesInSource()].sort()).toEqual([...listed].sort());
  for (const e of ERROR_CODES) {
    expect(e.by.length).toBeGreaterThan(0);
    expect(e.when.length).toBeGreaterThan(10);
  }
});

/** Codes whose text is another error's, passed on: named here so none is waved through unseen. */
const PASSES_ON = ['EIO', 'EDBUS', 'EDAEMON'];

test('every code has a way to make its real message here, or passes on one that is checked', () => {
  expect(ERROR_CODES.filter((e) => e.passesOn).map((e) => e.code)).toEqual(PASSES_ON);
  expect(ERROR_CODES.filter((e) => !SAMPLES[e.code] && !e.passesOn).map((e) => e.code)).toEqual([]);
  expect(Object.keys(SAMPLES).filter((c) => !ERROR_CODES.some((e) => e.code === c))).toEqual([]);
});

describe.each(ERROR_CODES.filter((e) => !e.passesOn).map((e) => [e.code, e] as const))('%s', (code) => {
  test('its message names the thing, the cause and the next step', async () => {
    const s = await SAMPLES[code]();
    expect({ code, message: s.message, problems: problems(s.message, s.thing) }).toEqual({ code, message: s.message, problems: [] });
  });
});

/**
 * Beyond one sample per code: every message written out at a site that raises a catalogued
 * error (a DaemonError, or an Error given a code) must give a next step too.
 */
test('every literal message of a DaemonError or a coded Error in src/ gives a next step', () => {
  const bad: string[] = [];
  const site = /new DaemonError\('\w+', (`(?:[^`\\]|\\.|\$\{(?:[^{}]|\{[^{}]*\})*\})*`|'[^']*')|Object\.assign\(\s*new Error\((`(?:[^`\\]|\\.|\$\{(?:[^{}]|\{[^{}]*\})*\})*`)\),\s*\{ code: '(EDF_[A-Z_]+)'/g;
  let n = 0;
  for (const f of SRC) {
    for (const m of text(f).matchAll(site)) {
      n++;
      const msg = m[1] ?? m[2];
      if (!REMEDY.test(msg.replace(/\$\{(?:[^{}]|\{[^{}]*\})*\}/g, ''))) bad.push(`${relative(REPO, f)}: ${msg.slice(0, 160)}`);
    }
  }
  expect(n).toBeGreaterThan(20);
  expect(bad).toEqual([]);
});
