#!/usr/bin/env node
'use strict';
// Runs jest and closes with the one line CI reads: "N passed, N failed".
// Extra arguments go to jest (e.g. `npm test -- test/config`).
// The suites report the faults they injected, the hostile inputs and fuzz cases they tried into
// DIRECTFLIP_REPORT_DIR (a fresh directory unless given); the robustness summary is printed from
// them, and a crash, a leak or a fault not survived fails the run even if every assertion passed.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'directflip-jest-'));
const out = path.join(work, 'results.json');
const reportDir = process.env.DIRECTFLIP_REPORT_DIR || path.join(work, 'report');
fs.mkdirSync(reportDir, { recursive: true });
const jest = require.resolve('jest/bin/jest');
const r = spawnSync(process.execPath, [jest, '--json', `--outputFile=${out}`, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, DIRECTFLIP_REPORT_DIR: reportDir },
});
let passed = 0;
let failed = 0;
let suitesFailed = 0;
try {
  const res = JSON.parse(fs.readFileSync(out, 'utf8'));
  passed = res.numPassedTests;
  failed = res.numFailedTests;
  suitesFailed = res.numFailedTestSuites;
  for (const s of res.testResults) {
    if (s.status !== 'passed') {
      process.stdout.write(`FAILED suite ${path.relative(process.cwd(), s.name)}\n`);
      for (const t of s.assertionResults) if (t.status === 'failed') process.stdout.write(`  ✗ ${t.fullName}\n`);
      if (s.assertionResults.length === 0 && s.message) process.stdout.write(`  ${s.message.split('\n').slice(0, 8).join('\n  ')}\n`);
    }
  }
} catch (e) {
  process.stdout.write(`jest wrote no results (${e.message})\n`);
  failed = Math.max(failed, 1);
}
// The robustness records: summed and checked by the same script that writes the README's table.
// A run of a few suites may write none; that is no failure.
const records = fs.readdirSync(reportDir).filter((f) => f.endsWith('.json'));
const table = records.length ? spawnSync(process.execPath, [path.join(__dirname, 'robustness-table.js'), '--dir', reportDir, '--print'], { encoding: 'utf8' }) : null;
if (table) process.stdout.write(`\nRobustness (${records.length} records in ${reportDir}):\n${table.stdout}${table.stderr}`);
if (table && table.status !== 0) {
  process.stdout.write('robustness check FAILED: a crash, a leak or a fault not survived is reported above\n');
  failed = Math.max(failed, 1);
}
// A suite that fails to load has no failed tests; count it so the line never hides it.
if (suitesFailed > 0 && failed === 0) failed = suitesFailed;
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(r.status === 0 && failed === 0 ? 0 : 1);
