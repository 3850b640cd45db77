import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// A throwing fd callback used to become napi_fatal_exception: one bad message from QEMU ended the
// root daemon and blanked every guest. It runs in a child so that a crash fails here, not jest.
const r = spawnSync(process.execPath, [join(__dirname, 'poll-child.js')], { encoding: 'utf8', timeout: 20_000 });
const out = r.status === 0 ? JSON.parse(r.stdout) : {};

test('exceptions thrown from JS fd callbacks do not end the process', () => {
  expect(r.signal).toBeNull();
  expect(r.status).toBe(0);
  expect(out.alive).toBe(true);
});

test('a socket callback that throws hands its error, code intact, to the error callback, every time', () => {
  expect(out.socketCalls).toBe(2);
  expect(out.socketErrors).toEqual([
    { message: 'socket callback failed', code: 'EDF_TEST' },
    { message: 'socket callback failed', code: 'EDF_TEST' },
  ]);
});

test('a DRM event callback that throws reports to its error callback, and the watcher keeps delivering', () => {
  expect(out.drmEvents).toBe(1);
  expect(out.drmCalls).toBe(2);
  expect(out.drmErrors).toEqual(['event handler failed', 'event handler failed']);
});

test('when the error callback throws as well, the error is written to stderr once, and nothing more happens', () => {
  expect(out.handlerThrew).toBe(1);
  expect(r.stderr).toBe('directflip native: a callback for fd watcher (socket) threw and nobody took the error: Error: unguarded\n');
});
