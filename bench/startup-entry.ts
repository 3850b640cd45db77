/**
 * The hook's entry (src/hook/main.ts) shaped for a V8 startup snapshot, for bench/startup.ts to
 * try: every module is loaded while the snapshot is built, and only the per-call work (stdin,
 * the D-Bus call) runs when node starts from it. Node 20 passes the arguments as argv[1…] then.
 * Bundled by esbuild and built with `node --build-snapshot`; never shipped. stdin is read whole
 * (read-bounded's SharedArrayBuffer does not exist while a snapshot is built): fine for a measurement.
 */
import { startupSnapshot } from 'node:v8';
import { readFileSync } from 'node:fs';
import { runHook } from '../src/hook/hook';

startupSnapshot.setDeserializeMainFunction(() => {
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => (process.stderr.write as (...a: unknown[]) => boolean)(chunk, ...rest)) as typeof process.stdout.write;
  const argv = process.argv.slice(1);
  const failStatus = ['reconnect', 'stopped', 'release'].includes(argv[1]) ? 0 : 1;
  let stdin: Buffer;
  try {
    stdin = readFileSync(0);
  } catch {
    stdin = Buffer.alloc(0);
  }
  runHook(argv, stdin, {
    busAddress: process.env.DIRECTFLIP_BUS_ADDRESS || undefined,
    timeoutMs: 10_000,
    say: (line) => process.stderr.write(`${line}\n`),
  }).then(
    (code) => process.exit(code),
    () => process.exit(failStatus),
  );
});
