import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import type { Picture } from './picture';
import { renderSvg } from './picture';

/** Written whole or not at all (a temporary file renamed over FILE). */
export function writePicture(file: string, p: Picture): void {
  const tmp = `${file}.directflip-tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeSync(fd, renderSvg(p));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw Object.assign(new Error(`cannot write the picture to ${file} (${code}): ${code === 'ENOENT' ? 'its directory does not exist' : 'choose a file you may write'}`), { code });
  }
}
