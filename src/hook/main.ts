/**
 * The hook's own entry, bundled to dist/hook.js and run by hooks/qemu as `node dist/hook.js DOMAIN OP SUBOP EXTRA`
 * with the domain XML on stdin. It loads only the config parser and the D-Bus client.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_INPUT_BYTES } from '../config/limits';
import { runHook } from './hook';

// For migrate and restore libvirt takes stdout as the new domain XML: nothing may reach it.
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => (process.stderr.write as (...a: unknown[]) => boolean)(chunk, ...rest)) as typeof process.stdout.write;

function readStdin(): Buffer {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  let total = 0;
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue;
      if (code === 'EOF') break;
      throw e;
    }
    if (n === 0) break;
    total += n;
    // Keep one byte past the limit so the parser reports the size; drain the rest so libvirt's write never blocks.
    if (total <= MAX_INPUT_BYTES + 1) chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).subarray(0, MAX_INPUT_BYTES + 1);
}

/** The shim's trace, from the node side: the argv and a digest of the stdin this process read. */
function trace(xml: Buffer): void {
  const dir = join(process.env.DIRECTFLIP_RUN_DIR || '/run/directflip', 'hook-trace');
  if (!existsSync(dir)) return;
  const line = `${(Date.now() / 1000).toFixed(3)} node ${process.argv.slice(2).join(' ')} sha256=${createHash('sha256').update(xml).digest('hex')} bytes=${xml.length}\n`;
  try {
    appendFileSync(join(dir, 'events'), line, { mode: 0o600 });
  } catch {
    // a trace must never change what the hook does
  }
}

const stdin = readStdin();
trace(stdin);
const timeout = Number(process.env.DIRECTFLIP_TIMEOUT_MS) > 0 ? Number(process.env.DIRECTFLIP_TIMEOUT_MS) : 10_000;
runHook(process.argv.slice(2), stdin, {
  busAddress: process.env.DIRECTFLIP_BUS_ADDRESS || undefined,
  timeoutMs: timeout,
  say: (line) => process.stderr.write(`${line}\n`),
}).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`directflip: hook failed: ${(e as Error).message}\n`);
    // A failing reconnect kills the VM, and stopped/release failures are ignored anyway.
    process.exit(['reconnect', 'stopped', 'release'].includes(process.argv[3]) ? 0 : 1);
  },
);
