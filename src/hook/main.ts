/**
 * The hook's own entry, bundled to dist/hook.js and run by hooks/qemu as `node dist/hook.js DOMAIN OP SUBOP EXTRA`
 * with the domain XML on stdin. It loads only the config parser and the D-Bus client.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { readBounded } from '../config/read-bounded';
import { runHook } from './hook';

// For migrate and restore libvirt takes stdout as the new domain XML: nothing may reach it.
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => (process.stderr.write as (...a: unknown[]) => boolean)(chunk, ...rest));

/** The shim's trace, from the node side: the argv and a digest of the stdin this process read. */
function trace(xml: Buffer): void {
  const dir = join(process.env.DIRECTFLIP_RUN_DIR || join(process.env.DIRECTFLIP_ROOT || '/', 'run/directflip'), 'hook-trace');
  if (!existsSync(dir)) return;
  const line = `${(Date.now() / 1000).toFixed(3)} node ${process.argv.slice(2).join(' ')} sha256=${createHash('sha256').update(xml).digest('hex')} bytes=${xml.length}\n`;
  try {
    appendFileSync(join(dir, 'events'), line, { mode: 0o600 });
  } catch {
    // a trace must never change what the hook does
  }
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));
// A failing reconnect kills the VM, and stopped/release failures are ignored anyway.
const failStatus = ['reconnect', 'stopped', 'release'].includes(process.argv[3]) ? 0 : 1;
// Whatever escapes (an error event of the bus connection after the call settled, say) ends the
// hook with the status the contract allows, never node's own crash status.
process.on('uncaughtException', (e) => {
  process.stderr.write(`directflip: hook failed: ${messageOf(e)}\n`);
  process.exit(failStatus);
});

// Drains all of stdin (so the writer never blocks), keeping at most the limit plus one byte.
let stdin: Buffer;
try {
  stdin = readBounded(0);
} catch (e) {
  // An unreadable stdin is an empty document: runHook refuses it where a document matters.
  process.stderr.write(`directflip: cannot read the domain XML on stdin (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})\n`);
  stdin = Buffer.alloc(0);
}
trace(stdin);
const timeout = Number(process.env.DIRECTFLIP_TIMEOUT_MS) > 0 ? Number(process.env.DIRECTFLIP_TIMEOUT_MS) : 10_000;
runHook(process.argv.slice(2), stdin, {
  busAddress: process.env.DIRECTFLIP_BUS_ADDRESS || undefined,
  timeoutMs: timeout,
  root: process.env.DIRECTFLIP_ROOT || '/',
  say: (line) => process.stderr.write(`${line}\n`),
}).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`directflip: hook failed: ${messageOf(e)}\n`);
    process.exit(failStatus);
  },
);
