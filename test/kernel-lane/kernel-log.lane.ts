/**
 * Runs last: the guest kernel said nothing alarming while every other test ran (no WARN_ON splat,
 * oops or BUG from the patched modules or anything else). The whole log goes to the host as
 * artifacts/kernel-lane/dmesg.txt either way.
 */
import { execFileSync } from 'node:child_process';
import { emitFile } from './guest';

const ALARMING = /WARNING:|BUG:|Oops|general protection fault|Call Trace:|kernel BUG|list_del corruption|refcount_t:|UBSAN:|KASAN:|blocked for more than/;

describe('guest kernel log', () => {
  test('no warning, oops or BUG was logged during the run', () => {
    const log = execFileSync('dmesg', { encoding: 'utf8', maxBuffer: 16 << 20 });
    emitFile('dmesg.txt', Buffer.from(log));
    const bad = log.split('\n').filter((l) => ALARMING.test(l));
    if (bad.length) throw new Error(`${bad.length} alarming line(s) in the kernel log (see dmesg.txt):\n${bad.slice(0, 20).join('\n')}`);
  });
});
