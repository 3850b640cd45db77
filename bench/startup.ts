/**
 * What was tried to cut the hook's own share of `prepare` (issue 16 item 3), each the whole
 * process, daemon running, interleaved with `node -e 0` and with the shipped bundle in the same
 * rounds: no bundle (tsc's output, many files), the bundle (what ships: esbuild, one file),
 * minified, with the V8 code cache the build writes (what ships since issue 16: dist/hook.js,
 * scripts/hook-loader.js; node 20 has no module.enableCompileCache), and from a V8 startup
 * snapshot (node --build-snapshot).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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

function build(dir: string): Variant[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  const out: Variant[] = [
    { name: 'no bundle (tsc output, one file per module)', argv: [join(REPO_ROOT, 'dist', 'src', 'hook', 'main.js')] },
    { name: 'bundle (esbuild, one file), no code cache', argv: [join(REPO_ROOT, 'dist', 'hook-bundle.js')] },
  ];
  const common = { bundle: true, platform: 'node' as const, target: 'node20', external: ['x11', 'usocket'], logLevel: 'silent' as const };
  let t0 = performance.now();
  esbuild.buildSync({ ...common, entryPoints: [join(REPO_ROOT, 'dist', 'src', 'hook', 'main.js')], outfile: join(dir, 'hook.min.js'), minify: true });
  out.push({ name: 'bundle, minified', argv: [join(dir, 'hook.min.js')], built: `${(performance.now() - t0).toFixed(0)} ms` });
  out.push({ name: 'bundle + V8 code cache (dist/hook.js: what ships)', argv: [join(REPO_ROOT, 'dist', 'hook.js')] });
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
  const run = (v: Variant) => () => {
    const r = spawnSync(process.execPath, [...v.argv, name, 'prepare', 'begin', '-'], { input: xml, encoding: 'utf8', env: { PATH: '/usr/bin:/bin', ...env } });
    if (r.status !== 0) throw new Error(`${v.name}: prepare failed (${r.status}): ${r.stderr}`);
  };
  // One unmeasured round: the page cache warm for all alike.
  for (const v of usable) run(v)();
  const cache = join(REPO_ROOT, 'dist', 'hook-bundle.cache');
  const cacheBytes = existsSync(cache) ? readFileSync(cache).length : 0;
  const all = interleaved(rounds, [() => spawnSync(process.execPath, ['-e', '0']), ...usable.map(run)]);
  const node = median(all[0]);
  const samples: Record<string, number[]> = { 'node -e 0': all[0] };
  const plain = median(all[1 + usable.findIndex((v) => v.argv[0]?.endsWith(join('dist', 'hook-bundle.js')))]);
  const rows = variants.map((v) => {
    const k = usable.indexOf(v);
    if (k < 0) return row({ row: `hook prepare start-up, ${v.name}`, budget: 'report', measured: NaN, baseline: plain, unit: 'ms', baselineWhat: 'the bundle without a code cache, median', note: v.built }, null);
    samples[v.name] = all[1 + k];
    const m = median(all[1 + k]);
    const extra = v.name.includes('+ V8 code cache') ? `; cache ${(cacheBytes / 1024).toFixed(0)} KiB` : '';
    return row({ row: `hook prepare start-up, ${v.name}, median`, budget: 'report', measured: m, baseline: plain, unit: 'ms', baselineWhat: 'the bundle without a code cache, median', note: `our share beyond node -e 0 (${node.toFixed(1)} ms): ${(m - node).toFixed(1)} ms${v.built ? `; built in ${v.built}` : ''}${extra}` }, null);
  });
  return { rows, samples };
}
