'use strict';
// dist/hook.js: runs the hook's bundle (dist/hook-bundle.js) with the V8 code cache the build
// wrote beside it (dist/hook-bundle.cache), so a start compiles almost nothing: about 10 ms of
// the hook's ~15 ms of its own start-up on `prepare` (npm run bench, "start-up" rows). The cache
// is used only for the very bundle it was made from (its SHA-256 heads the file; V8 itself checks
// only the length), and a cache V8 rejects (another node) costs only the compile it would have
// saved. Node 20 has no module.enableCompileCache; this is what v8-compile-cache does.
const { readFileSync, writeFileSync } = require('node:fs');
const { createHash } = require('node:crypto');
const { join } = require('node:path');
const Module = require('node:module');
const vm = require('node:vm');

const bundle = join(__dirname, 'hook-bundle.js');
const cacheFile = join(__dirname, 'hook-bundle.cache');
let source;
try {
  source = readFileSync(bundle, 'utf8');
} catch (e) {
  process.stderr.write(`directflip: ${bundle} is missing (${e.code}): run \`npm run build\` in ${join(__dirname, '..')}\n`);
  // The shim's contract: reconnect, stopped and release never fail.
  process.exit(['reconnect', 'stopped', 'release'].includes(process.argv[3]) ? 0 : 1);
}
const digest = createHash('sha256').update(source).digest();
let cachedData;
try {
  const c = readFileSync(cacheFile);
  if (c.length > 32 && c.subarray(0, 32).equals(digest)) cachedData = c.subarray(32);
} catch {
  // no cache: compiled as usual
}
const script = new vm.Script(Module.wrap(source), { filename: bundle, cachedData });
// Only the build asks for a cache (scripts/bundle-hook.js), after a run that compiled what a
// prepare needs; libvirt's environment never carries this.
if (process.env.DIRECTFLIP_HOOK_WRITE_CODE_CACHE === '1') {
  process.once('exit', () => writeFileSync(cacheFile, Buffer.concat([digest, script.createCachedData()])));
}
const m = new Module(bundle, module);
m.filename = bundle;
m.paths = Module._nodeModulePaths(__dirname);
script.runInThisContext().call(m.exports, m.exports, (id) => m.require(id), m, bundle, __dirname);
