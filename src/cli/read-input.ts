import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { MAX_INPUT_BYTES } from '../config';
import { CliError } from './output';

/**
 * Reads a file argument or `-` (stdin), bounded: one byte over the limit is enough for the config
 * parser to refuse it, and nothing larger is ever held in memory.
 */
export const STDIN = '/dev/stdin';

export function readInput(file: string): Buffer {
  const stdin = file === '-' || file === STDIN;
  const name = stdin ? 'standard input' : file;
  let fd = 0;
  try {
    if (!stdin) {
      fd = openSync(file, 'r');
      if (fstatSync(fd).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    }
    const chunks: Buffer[] = [];
    let total = 0;
    const buf = Buffer.alloc(64 * 1024);
    while (total <= MAX_INPUT_BYTES) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        // A non-blocking stdin (a pipe set up by some shells) reports EAGAIN between writes.
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        throw e;
      }
      if (n === 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
      total += n;
    }
    return Buffer.concat(chunks);
  } catch (e) {
    throw cannotRead(name, e);
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

function cannotRead(name: string, e: unknown): CliError {
  const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
  const fix =
    code === 'ENOENT' ? 'check the path, or pass - and pipe `virsh dumpxml DOMAIN` into it'
    : code === 'EACCES' ? 'run as a user who may read it (root for /etc/libvirt/qemu)'
    : code === 'EISDIR' ? 'name a domain XML file, not a directory'
    : 'check the file';
  return new CliError(`cannot read ${name} (${code}): ${fix}`, 1, { code });
}
