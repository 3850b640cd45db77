import { lstatSync, mkdirSync } from 'node:fs';

/**
 * The journal decides what the root daemon commits to the screen after a restart, and the pid
 * file who owns the card: a directory someone else owns, or may write, could hand the daemon any
 * record. Created 0700 if missing; refused otherwise, with the owner, the mode and the fix.
 */
export function trustedDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const me = process.geteuid?.() ?? 0;
  const who = me === 0 ? 'root' : `uid ${me} (this daemon's user)`;
  if (!st.isDirectory()) {
    throw Object.assign(new Error(`refusing to use the state directory ${dir}: it is not a directory (a symlink or a file); remove it, and the daemon recreates it owned by ${who}, mode 0700`), { code: 'EDF_STATE_UNTRUSTED' });
  }
  const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
  if (st.uid !== me || st.mode & 0o022) {
    throw Object.assign(
      new Error(`refusing to trust the state directory ${dir}: owned by uid ${st.uid}, mode ${mode}; it must be owned by ${who} and writable by nobody else: chown ${me} ${dir} && chmod go-w ${dir}`),
      { code: 'EDF_STATE_UNTRUSTED' },
    );
  }
  return dir;
}
