/**
 * How fast hostile input is refused (issue: "a billion-laughs document and a 5 MiB document are
 * refused in well under a second"), against parsing a normal domain XML. Run after `npm run
 * build`: node dist/bench/config-limits.js
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parseDomainXml } from '../src/config';

const REPO = join(__dirname, '..', '..');
const laughs = readFileSync(join(REPO, 'test', 'fixtures', 'config', 'bad-billion-laughs.xml'), 'utf8');
const big = `<domain><name>x</name><description>${'x'.repeat(5 * 1024 * 1024)}</description></domain>`;
const normal = readFileSync(join(REPO, 'examples', 'gvt-kiosk-hdmi.xml'), 'utf8');

function time(label: string, input: string, runs = 50): void {
  const ms: number[] = [];
  let outcome = 'accepted';
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    try {
      parseDomainXml(input);
    } catch (e) {
      outcome = e instanceof ConfigError ? e.code : String(e);
    }
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  console.log(`${label.padEnd(28)} ${outcome.padEnd(16)} median ${ms[runs >> 1].toFixed(3)} ms   max ${ms[runs - 1].toFixed(3)} ms`);
}

time('billion laughs', laughs);
time('5 MiB document', big);
time('example domain (baseline)', normal);
