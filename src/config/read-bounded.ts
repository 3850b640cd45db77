import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { markCutShort, MAX_COUNTED_BYTES, MAX_INPUT_BYTES } from './limits';

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Reads a domain XML from `fd` (the hook's stdin, a file, a pipe) holding at most one byte past
 * the limit in memory. Past the limit it goes on draining and counting, so a writer (libvirt, the
 * shim) never blocks and the error can name the real size, but stops at MAX_COUNTED_BYTES so
 * endless input ends. The returned head of an oversized input carries its size for checkSize.
 */
export function readBounded(fd: number): Buffer {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(1024 * 1024);
  let kept = 0;
  let total = 0;
  while (total < MAX_COUNTED_BYTES) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // A non-blocking stdin (a pipe set up by some shells) reports EAGAIN between writes: wait, don't spin.
      if (code === 'EAGAIN') {
        Atomics.wait(pause, 0, 0, 5);
        continue;
      }
      if (code === 'EOF') break;
      throw e;
    }
    if (n === 0) break;
    total += n;
    const keep = Math.min(n, MAX_INPUT_BYTES + 1 - kept);
    if (keep > 0) {
      chunks.push(Buffer.from(buf.subarray(0, keep)));
      kept += keep;
    }
    // A regular file knows its size: no need to read the rest of it.
    if (total > MAX_INPUT_BYTES && fileSize(fd) !== null) return markCutShort(Buffer.concat(chunks), Math.max(total, fileSize(fd)!), true);
  }
  const data = Buffer.concat(chunks);
  if (total <= MAX_INPUT_BYTES) return data;
  return markCutShort(data, total, total < MAX_COUNTED_BYTES);
}

/**
 * A named file, read as readBounded reads an fd; errors carry their errno code. O_NONBLOCK so a FIFO
 * nobody writes to cannot hang the command in open(): readBounded waits on EAGAIN while a writer
 * is there, and a FIFO that ends before any byte had no writer (ENODATA).
 */
export function readFileBounded(file: string): Buffer {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    const data = readBounded(fd);
    if (st.isFIFO() && data.length === 0) throw Object.assign(new Error('a FIFO nothing was written to'), { code: 'ENODATA' });
    return data;
  } finally {
    closeSync(fd);
  }
}

function fileSize(fd: number): number | null {
  try {
    const st = fstatSync(fd);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}
