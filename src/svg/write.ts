import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, lstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import type { Picture } from './picture';
import { renderSvg } from './picture';

/**
 * Written whole or not at all (a temporary file renamed over FILE). The rename would replace
 * whatever FILE is, so only a regular file or nothing is replaced: a symbolic link, a directory,
 * a device (`/dev/null` as root) or a FIFO is refused. The temporary name is random and created
 * exclusively, so a link planted there is never followed.
 */
export function writePicture(file: string, p: Picture): void {
  const st = lstatSync(file, { throwIfNoEntry: false });
  if (st && !st.isFile()) {
    const what = st.isSymbolicLink() ? 'a symbolic link' : st.isDirectory() ? 'a directory' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'not a regular file';
    const code = st.isDirectory() ? 'EISDIR' : 'EEXIST';
    throw Object.assign(new Error(`cannot write the picture to ${file}: it is ${what}, which the picture would replace; name a new or regular file (for a link, the file it points to)`), { code });
  }
  const tmp = `${file}.directflip-tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  let made = false;
  try {
    const fd = openSync(tmp, 'wx', 0o644);
    made = true;
    try {
      writeSync(fd, renderSvg(p));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    if (made) rmSync(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw Object.assign(new Error(`cannot write the picture to ${file} (${code}): ${code === 'ENOENT' ? 'its directory does not exist' : 'choose a file you may write'}`), { code });
  }
}
