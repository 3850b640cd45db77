import { readBounded, readFileBounded } from '../config/read-bounded';
import { CliError } from './output';

/**
 * Reads a file argument or `-` (stdin) the way the hook reads its stdin: at most the limit plus
 * one byte is held, larger input is counted so the parser's "too large" names its real size, and
 * endless input (/dev/zero) stops at a bounded count.
 */
export const STDIN = '/dev/stdin';

export function readInput(file: string): Buffer {
  const stdin = file === '-' || file === STDIN;
  try {
    return stdin ? readBounded(0) : readFileBounded(file);
  } catch (e) {
    throw cannotRead(stdin ? 'standard input' : file, e);
  }
}

function cannotRead(name: string, e: unknown): CliError {
  const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
  const fix =
    code === 'ENOENT' ? 'check the path, or pass - and pipe `virsh dumpxml DOMAIN` into it'
    : code === 'EACCES' ? 'run as a user who may read it (root for /etc/libvirt/qemu)'
    : code === 'EISDIR' ? 'name a domain XML file, not a directory'
    : code === 'ENODATA' ? 'it is a FIFO and nothing was writing to it; name a regular file, or pipe `virsh dumpxml DOMAIN` into -'
    : 'check the file';
  return new CliError(`cannot read ${name} (${code}): ${fix}`, 1, { code });
}
