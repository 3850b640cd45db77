import { closeSync, linkSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * One daemon per state directory. Node has no flock(2), so: a pid file made with link(2), which
 * either creates it whole or fails with EEXIST. An existing file whose pid is alive (and is a
 * node process) is another daemon; a dead one's file is stale and replaced. Taken before the
 * daemon reads, cleans or writes anything else in the directory.
 */
export class RunLock {
  private constructor(readonly file: string) {}

  static acquire(runDir: string): RunLock {
    const file = join(runDir, 'directflipd.pid');
    const mine = `${file}.tmp-${process.pid}`;
    const fd = openSync(mine, 'w', 0o644);
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    try {
      // Two tries: a stale file is removed once; losing that race to another starting daemon
      // then reads as that daemon holding the lock.
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          linkSync(mine, file);
          return new RunLock(file);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
        const holder = readPid(file);
        if (holder !== null && holder !== process.pid && alive(holder)) throw locked(runDir, file, holder);
        if (attempt === 0) rmSync(file, { force: true }); // stale: its daemon is gone
      }
      throw locked(runDir, file, readPid(file));
    } finally {
      rmSync(mine, { force: true });
    }
  }

  /** Only our own file: a stale-lock takeover by a later daemon must not lose its lock. */
  release(): void {
    if (readPid(this.file) === process.pid) rmSync(this.file, { force: true });
  }
}

function locked(runDir: string, file: string, holder: number | null): Error {
  return Object.assign(
    new Error(`another directflipd (pid ${holder ?? 'unknown'}) is running on the state in ${runDir} (its lock is ${file}); stop it first (systemctl stop directflipd), or give this one another --root`),
    { code: 'EDF_LOCKED', pid: holder },
  );
}

function readPid(file: string): number | null {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** A live process that is node (pids are reused; a stale file may name an unrelated process). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /node|directflip/.test(cmd);
  } catch {
    return true; // no /proc: trust kill(0)
  }
}
