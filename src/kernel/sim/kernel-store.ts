import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { SavedKernel } from './kms-persist';

/**
 * Where a simulated kernel lives between processes: `<dir>/state.json`, written whole to a
 * temporary file, fsynced and renamed, so a process killed mid-write leaves the previous state.
 */
export class KernelStore {
  readonly file: string;

  constructor(readonly dir: string) {
    this.file = join(dir, 'state.json');
  }

  /** The saved kernel, or null when none was saved (a fresh boot). Refuses a live owner. */
  load(): SavedKernel | null {
    if (!existsSync(this.file)) return null;
    let saved: SavedKernel;
    try {
      saved = JSON.parse(readFileSync(this.file, 'utf8')) as SavedKernel;
    } catch (e) {
      throw this.bad(`it is not JSON (${(e as Error).message})`);
    }
    const ok = saved && typeof saved === 'object' && saved.format === 'directflip-sim-kernel/1' && typeof saved.profile === 'string' &&
      Number.isInteger(saved.pid) && Number.isInteger(saved.openFiles) &&
      [saved.props, saved.blobs, saved.deadFbs, saved.connectors, saved.mdevs].every(Array.isArray);
    if (!ok) throw this.bad('it is not a simulated kernel state of this version');
    if (saved.pid && saved.pid !== process.pid && alive(saved.pid)) {
      throw Object.assign(new Error(`the simulated kernel in ${this.dir} belongs to running process ${saved.pid} (a daemon on the same --root?): stop it first, or use another --root`), { code: 'EBUSY' });
    }
    return saved;
  }

  save(s: SavedKernel): void {
    mkdirSync(this.dir, { recursive: true });
    const tmp = `${this.file}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(s));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
  }

  private bad(why: string): Error {
    return Object.assign(new Error(`${this.file} cannot be resumed: ${why}; remove ${this.dir} to boot the simulated host afresh`), { code: 'EDF_HOST' });
  }
}

/** A process that still runs: signal 0 reaches it and it is not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
