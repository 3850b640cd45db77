/**
 * What was tried to cut the hook's own share of `prepare` (issue 16 item 3), each the whole
 * process, daemon running, interleaved with `node -e 0` and with the shipped bundle in the same
 * rounds: no bundle (tsc's output, many files), the bundle (what ships: esbuild, one file),
 * minified, with a V8 code cache (vm.Script cachedData, what v8-compile-cache does; node 20 has
 * no module.enableCompileCache), and from a V8 startup snapshot (node --build-snapshot).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../src/demo/processes';
import { interleaved } from './hook';
import type { Row } from './table';
import { median, row } from './table';

interface Variant {
  name: string;
  argv: string[];
  /** What it took to make (ms), or why it could not be made. */
  built?: string;
}

// What v8-compile-cache does, in a dozen lines: compile the bundle with the cache V8 wrote last
// time, and write a fresh one (with every function compiled by then) when there was none.
const LOADER = `'use strict';
const fs = require('fs'), vm = require('vm'), path = require('path'), Module = require('module');
const file = process.env.DF_BUNDLE, cacheFile = process.env.DF_CACHE;
let cached; try { cached = fs.readFileSync(cacheFile); } catch {}
const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), { filename: file, cachedData: cached });
if (!cached || script.cachedDataRejected) process.once('exit', () => fs.writeFileSync(cacheFile, script.createCachedData()));
const m = new Module(file, null); m.filename = file; m.paths = Module._nodeModulePaths(path.dirname(file));
script.runInThisContext().call(m.exports, m.exports, (id) => m.require(id), m, file, path.dirname(file));
`;

function build(dir: string): Variant[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  const bundle = join(REPO_ROOT, 'dist', 'hook.js');
  const out: Variant[] = [
    { name: 'no bundle (tsc output, one file per module)', argv: [join(REPO_ROOT, 'dist', 'src', 'hook', 'main.js')] },
    { name: 'bundle (esbuild, one file: what ships)', argv: [bundle] },
  ];
  const common = { bundle: true, platform: 'node' as const, target: 'node20', external: ['x11', 'usocket'], logLevel: 'silent' as const };
  let t0 = performance.now();
  esbuild.buildSync({ ...common, entryPoints: [join(REPO_ROOT, 'dist', 'src', 'hook', 'main.js')], outfile: join(dir, 'hook.min.js'), minify: true });
  out.push({ name: 'bundle, minified', argv: [join(dir, 'hook.min.js')], built: `${(performance.now() - t0).toFixed(0)} ms` });
  writeFileSync(join(dir, 'loader.js'), LOADER);
  out.push({ name: 'bundle + V8 code cache (vm.Script cachedData)', argv: [join(dir, 'loader.js')] });
  t0 = performance.now();
  try {
    esbuild.buildSync({ ...common, entryPoints: [join(REPO_ROOT, 'bench', 'startup-entry.ts')], outfile: join(dir, 'snap-entry.js'), tsconfig: join(REPO_ROOT, 'tsconfig.json') });
    const r = spawnSync(process.execPath, ['--snapshot-blob', join(dir, 'hook.blob'), '--build-snapshot', join(dir, 'snap-entry.js')], { encoding: 'utf8', cwd: dir });
    if (r.status !== 0 || !existsSync(join(dir, 'hook.blob'))) throw new Error((r.stderr || `exit ${r.status}`).trim().split('\n').slice(-1)[0]);
    out.push({ name: 'V8 startup snapshot (node --build-snapshot)', argv: ['--snapshot-blob', join(dir, 'hook.blob')], built: `${(performance.now() - t0).toFixed(0)} ms` });
  } catch (e) {
    out.push({ name: 'V8 startup snapshot (node --build-snapshot)', argv: [], built: `could not be built: ${(e as Error).message}` });
  }
  return out;
}

/** `env`/`name`/`xml`: a prepare the running daemon accepts. */
export function startupAttempts(dir: string, rounds: number, name: string, xml: string, env: Record<string, string>): { rows: Row[]; samples: Record<string, number[]> } {
  const variants = build(dir);
  const usable = variants.filter((v) => v.argv.length);
  const cacheEnv = { DF_BUNDLE: join(REPO_ROOT, 'dist', 'hook.js'), DF_CACHE: join(dir, 'hook.js.cache') };
  const run = (v: Variant) => () => {
    const r = spawnSync(process.execPath, [...v.argv, name, 'prepare', 'begin', '-'], { input: xml, encoding: 'utf8', env: { PATH: '/usr/bin:/bin', ...env, ...cacheEnv } });
    if (r.status !== 0) throw new Error(`${v.name}: prepare failed (${r.status}): ${r.stderr}`);
  };
  // One unmeasured round: the code cache is written, the page cache warm for all alike.
  for (const v of usable) run(v)();
  const cacheBytes = existsSync(cacheEnv.DF_CACHE) ? readFileSync(cacheEnv.DF_CACHE).length : 0;
  const all = interleaved(rounds, [() => spawnSync(process.execPath, ['-e', '0']), ...usable.map(run)]);
  const node = median(all[0]);
  const samples: Record<string, number[]> = { 'node -e 0': all[0] };
  const shipped = median(all[1 + usable.findIndex((v) => v.argv[0]?.endsWith(join('dist', 'hook.js')))]);
  const rows = variants.map((v) => {
    const k = usable.indexOf(v);
    if (k < 0) return row({ row: `hook prepare start-up, ${v.name}`, budget: 'report', measured: NaN, baseline: shipped, unit: 'ms', baselineWhat: 'the shipped bundle, median', note: v.built }, null);
    samples[v.name] = all[1 + k];
    const m = median(all[1 + k]);
    const extra = v.name.includes('code cache') ? `; cache ${(cacheBytes / 1024).toFixed(0)} KiB` : '';
    return row({ row: `hook prepare start-up, ${v.name}, median`, budget: 'report', measured: m, baseline: shipped, unit: 'ms', baselineWhat: 'the shipped bundle, median', note: `our share beyond node -e 0 (${node.toFixed(1)} ms): ${(m - node).toFixed(1)} ms${v.built ? `; built in ${v.built}` : ''}${extra}` }, null);
  });
  return { rows, samples };
}
