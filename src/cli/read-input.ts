import { closeSync, fstatSync, openSync } from 'node:fs';
import { readBounded } from '../config/read-bounded';
import { CliError } from './output';

/**
 * Reads a file argument or `-` (stdin) the way the hook reads its stdin: at most the limit plus
 * one byte is held, larger input is counted so the parser's "too large" names its real size, and
 * endless input (/dev/zero) stops at a bounded count.
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
    return readBounded(fd);
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
