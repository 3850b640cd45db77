#!/usr/bin/env node
'use strict';
// The README's robustness table, made from what the tests themselves report.
//
//   node scripts/robustness-table.js [--dir DIR] [--readme FILE] [--print] [-- JEST ARGS…]
//
// Without --dir it runs jest with DIRECTFLIP_REPORT_DIR set to a fresh directory (extra arguments
// go to jest), then sums the records the suites wrote there:
//   fault-<name>.json       {"fault","survived","restoredByteForByte","leaks":{"fds","fbs","gem","rssKiB"}}
//                           (fbs and gem may be null: not countable where that fault ran)
//   fuzz-<name>.json        {"suite","cases","crashes"}
//   bad-inputs-<name>.json  {"suite","inputs"}
// and rewrites the README section between <!-- robustness:start --> and <!-- robustness:end -->.
// Exit status: 0 all good; 1 a crash, a leak, a fault not survived, a bad record or a failed run;
// 2 bad usage or a README without the markers.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const START = '<!-- robustness:start -->';
const END = '<!-- robustness:end -->';
const ROOT = path.join(__dirname, '..');

function usage(msg) {
  process.stderr.write(`robustness-table: ${msg}\nusage: node scripts/robustness-table.js [--dir DIR] [--readme FILE] [--print] [-- JEST ARGS…]\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { dir: null, readme: path.join(ROOT, 'README.md'), print: false, jest: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      o.jest = argv.slice(i + 1);
      break;
    }
    if (a === '--print') o.print = true;
    else if (a === '--dir' || a === '--readme') {
      if (!argv[i + 1]) usage(`${a} needs a value`);
      o[a.slice(2)] = path.resolve(argv[++i]);
    } else usage(`unknown argument ${JSON.stringify(a)}`);
  }
  return o;
}

const isCount = (v) => Number.isInteger(v) && v >= 0;

/** Each record checked for its shape: a table summed from a wrong record would lie. */
function checkRecord(file, r) {
  const bad = (what) => `${file}: ${what}`;
  if (!r || typeof r !== 'object' || Array.isArray(r)) return bad('not a JSON object');
  if (file.startsWith('fault-')) {
    if (typeof r.fault !== 'string' || !r.fault) return bad('"fault" must be a non-empty string');
    if (typeof r.survived !== 'boolean') return bad('"survived" must be true or false');
    if (typeof r.restoredByteForByte !== 'boolean') return bad('"restoredByteForByte" must be true or false');
    const l = r.leaks;
    if (!l || typeof l !== 'object') return bad('"leaks" must be an object');
    if (!Number.isInteger(l.fds)) return bad('"leaks.fds" must be an integer');
    for (const k of ['fbs', 'gem']) if (l[k] !== null && !Number.isInteger(l[k])) return bad(`"leaks.${k}" must be an integer, or null when not measured`);
    if (typeof l.rssKiB !== 'number' || !Number.isFinite(l.rssKiB)) return bad('"leaks.rssKiB" must be a number');
    return null;
  }
  if (typeof r.suite !== 'string' || !r.suite) return bad('"suite" must be a non-empty string');
  if (file.startsWith('fuzz-')) {
    if (!isCount(r.cases)) return bad('"cases" must be a count');
    if (!isCount(r.crashes)) return bad('"crashes" must be a count');
    return null;
  }
  if (!isCount(r.inputs)) return bad('"inputs" must be a count');
  return null;
}

/** Reads every record in `dir`; returns them sorted by file name, and the problems found. */
function readRecords(dir) {
  const out = { faults: [], fuzz: [], bad: [], errors: [] };
  const files = fs.readdirSync(dir).filter((f) => /^(fault|fuzz|bad-inputs)-.+\.json$/.test(f)).sort();
  for (const f of files) {
    let r;
    try {
      r = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    } catch (e) {
      out.errors.push(`${f}: not JSON (${e.message})`);
      continue;
    }
    const err = checkRecord(f, r);
    if (err) out.errors.push(err);
    else if (f.startsWith('fault-')) out.faults.push(r);
    else if (f.startsWith('fuzz-')) out.fuzz.push(r);
    else out.bad.push(r);
  }
  return out;
}

function summarize(recs) {
  const sum = (xs, f) => xs.reduce((n, x) => n + f(x), 0);
  const leakOf = (r) => Math.abs(r.leaks.fds) + Math.abs(r.leaks.fbs ?? 0) + Math.abs(r.leaks.gem ?? 0);
  return {
    faults: recs.faults.length,
    survived: recs.faults.filter((r) => r.survived).length,
    badInputs: sum(recs.bad, (r) => r.inputs),
    badSuites: recs.bad.length,
    fuzzCases: sum(recs.fuzz, (r) => r.cases),
    fuzzSuites: recs.fuzz.length,
    crashes: sum(recs.fuzz, (r) => r.crashes),
    restored: recs.faults.filter((r) => r.restoredByteForByte).length,
    leaks: sum(recs.faults, leakOf),
    countedFbs: recs.faults.filter((r) => r.leaks.fbs !== null && r.leaks.gem !== null).length,
    // One fault's RSS change says little (its guests' buffers come and go); over repeated
    // start/stop cycles, after a warm-up, growth is what a leak looks like.
    cyclesRss: recs.faults.filter((r) => /cycles/i.test(r.fault)).map((r) => [r.fault, r.leaks.rssKiB]),
  };
}

/** What went wrong, for the exit status; empty when the run is clean. */
function problems(recs, s) {
  const p = [...recs.errors];
  for (const r of recs.faults) if (!r.survived) p.push(`fault "${r.fault}" was not survived`);
  for (const r of recs.faults) if (r.leaks.fds || r.leaks.fbs || r.leaks.gem) p.push(`fault "${r.fault}" leaked ${r.leaks.fds} fds, ${r.leaks.fbs ?? 'uncounted'} fbs, ${r.leaks.gem ?? 'uncounted'} GEM handles`);
  for (const r of recs.fuzz) if (r.crashes) p.push(`fuzz suite "${r.suite}" crashed ${r.crashes} times`);
  if (!s.faults && !s.fuzzCases && !s.badInputs) p.push('no records at all: did the suites run with DIRECTFLIP_REPORT_DIR set?');
  return p;
}

function render(recs, s) {
  const cell = (t) => String(t).replace(/\|/g, '\\|');
  const lines = [
    '| What | Count |',
    '| --- | ---: |',
    `| Faults injected and survived | ${s.survived} of ${s.faults} |`,
    `| Bad inputs tried | ${s.badInputs} (${s.badSuites} suites) |`,
    `| Fuzz cases run | ${s.fuzzCases} (${s.fuzzSuites} suites) |`,
    `| Crashes | ${s.crashes} |`,
    `| Restores verified byte for byte | ${s.restored} |`,
    `| Leaks (fds in ${s.faults} faults; fbs and GEM handles in the ${s.countedFbs} where the kernel is countable) | ${s.leaks} |`,
    ...s.cyclesRss.map(([f, kib]) => `| RSS growth over ${cell(f)} (after a warm-up) | ${kib} KiB |`),
  ];
  if (recs.faults.length) {
    lines.push('', '| Fault | Survived | Restored byte for byte | fds / fbs / GEM leaked (– not countable there) | RSS change |', '| --- | --- | --- | --- | ---: |');
    for (const r of recs.faults) {
      const l = r.leaks;
      lines.push(`| ${cell(r.fault)} | ${r.survived ? 'yes' : '**no**'} | ${r.restoredByteForByte ? 'yes' : 'no (assignment intact)'} | ${l.fds} / ${l.fbs ?? '–'} / ${l.gem ?? '–'} | ${l.rssKiB} KiB |`);
    }
  }
  const per = [...recs.fuzz.map((r) => [r.suite, `${r.cases} fuzz cases, ${r.crashes} crashes`]), ...recs.bad.map((r) => [r.suite, `${r.inputs} bad inputs`])];
  if (per.length) {
    lines.push('', '| Suite | Tried |', '| --- | --- |');
    for (const [suite, what] of per) lines.push(`| ${cell(suite)} | ${what} |`);
  }
  return lines.join('\n');
}

/** The README with the section between the markers replaced; throws when the markers are missing. */
function replaceSection(readme, body) {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) {
    const e = new Error(`the README has no ${START} … ${END} section to rewrite: add both markers where the table goes`);
    e.code = 'EDF_NO_MARKERS';
    throw e;
  }
  const note = '<!-- Generated by scripts/robustness-table.js from a test run; edits here are overwritten. -->';
  return `${readme.slice(0, a + START.length)}\n${note}\n\n${body}\n\n${readme.slice(b)}`;
}

function runJest(dir, jestArgs) {
  const jest = require.resolve('jest/bin/jest', { paths: [ROOT] });
  const r = spawnSync(process.execPath, [jest, ...jestArgs], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, DIRECTFLIP_REPORT_DIR: dir } });
  return r.status === 0;
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  let dir = o.dir;
  let runFailed = false;
  if (!dir) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'directflip-report-'));
    runFailed = !runJest(dir, o.jest);
  } else if (!fs.existsSync(dir)) usage(`--dir ${dir} does not exist`);
  const recs = readRecords(dir);
  const s = summarize(recs);
  const body = render(recs, s);
  if (o.print) process.stdout.write(`${body}\n`);
  else {
    let readme;
    try {
      readme = replaceSection(fs.readFileSync(o.readme, 'utf8'), body);
    } catch (e) {
      process.stderr.write(`robustness-table: ${o.readme}: ${e.code === 'EDF_NO_MARKERS' ? e.message : `cannot read it (${e.code ?? e.message})`}\n`);
      process.exit(2);
    }
    if (runFailed) process.stderr.write('robustness-table: the test run failed, so the README was left as it was\n');
    else {
      const tmp = `${o.readme}.tmp-${process.pid}`;
      fs.writeFileSync(tmp, readme);
      fs.renameSync(tmp, o.readme);
      process.stdout.write(`robustness-table: ${path.relative(process.cwd(), o.readme) || o.readme} updated from ${dir}\n`);
    }
  }
  const p = problems(recs, s);
  if (runFailed) p.push('the jest run failed');
  for (const x of p) process.stderr.write(`robustness-table: ${x}\n`);
  process.exit(p.length ? 1 : 0);
}

if (require.main === module) main();
module.exports = { readRecords, summarize, render, replaceSection, problems };
