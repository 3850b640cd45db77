'use strict';
// Runs in its own process: a JS exception inside an fd callback must not end it. Prints one
// JSON object with what each watcher saw; a crash shows as a signal or a non-zero exit.
const fs = require('node:fs');
const { loadAddon } = require('../../dist/src/kernel/native.js');

const a = loadAddon();
const out = { socketErrors: [], socketCalls: 0, drmErrors: [], drmCalls: 0, handlerThrew: 0 };
const write = (fd) => a.sendWithFds(fd, Buffer.from('x'), []);

// A socket watcher whose callback throws, with an error callback: the error goes there.
const [s1, s2] = a.socketPair();
const w1 = a.watchFd(s1, () => {
  out.socketCalls++;
  a.recvWithFds(s1, 16);
  throw Object.assign(new Error('socket callback failed'), { code: 'EDF_TEST' });
}, (e) => out.socketErrors.push({ message: e.message, code: e.code }));

// A socket watcher whose callback and error callback both throw: still not the process's end.
const [s3, s4] = a.socketPair();
const w2 = a.watchFd(s3, () => {
  a.recvWithFds(s3, 16);
  throw new Error('unguarded');
}, () => {
  out.handlerThrew++;
  throw new Error('the error handler threw as well');
});

// A DRM event watcher over a pipe carrying one well-formed flip event; its callback throws.
const [r, w] = (() => {
  const fifo = `/tmp/df-poll-${process.pid}`;
  require('node:child_process').execFileSync('mkfifo', [fifo]);
  const rd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const wr = fs.openSync(fifo, 'w');
  fs.unlinkSync(fifo);
  return [rd, wr];
})();
const stopDrm = a.drmWatchEvents(r, '/dev/dri/card-test', (events) => {
  out.drmCalls++;
  out.drmEvents = events.length;
  throw new Error('event handler failed');
}, (e) => out.drmErrors.push(e.message));
const ev = Buffer.alloc(32);
ev.writeUInt32LE(2, 0); // DRM_EVENT_FLIP_COMPLETE
ev.writeUInt32LE(32, 4);
ev.writeBigUInt64LE(7n, 8);

write(s2);
write(s4);
fs.writeSync(w, ev);
setTimeout(() => {
  // A second round: the watchers still work after their callbacks threw.
  write(s2);
  fs.writeSync(w, ev);
  setTimeout(() => {
    Promise.resolve().then(() => {
      out.alive = true;
      w1.stop();
      w2.stop();
      stopDrm();
      process.stdout.write(JSON.stringify(out));
    });
  }, 50);
}, 50);
