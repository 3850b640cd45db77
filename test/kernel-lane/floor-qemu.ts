/**
 * QEMU's side of the listener link for the floor test, in its own process as QEMU is, so that
 * what the test counts as ours is the daemon's alone: the SASL server, then ScanoutDMABUF calls
 * (prepared bytes, a fresh serial each) with a guest buffer's fd, one at a time, each sent when
 * the previous one's reply has come, in blocks the parent starts (so the C floor can run between
 * them on an idle link). Written in plain JavaScript against the addon (no bundle in the child).
 * It reports, per call, when it was sent and when its reply was whole (CLOCK_MONOTONIC ns).
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';

const CHILD = `'use strict';
const a = require(process.env.DF_ADDON);
const LINK = 3, BUFS = [4, 5];
const calls = [Buffer.from(process.env.DF_CALL0, 'base64'), Buffer.from(process.env.DF_CALL1, 'base64')];
let rx = Buffer.alloc(0), open = false, i = 0, left = 0, sent = 0n;
const out = [];
const pad8 = (n) => (n + 7) & ~7;
const send = (b, fds) => { if (a.sendWithFds(LINK, b, fds) !== b.length) throw new Error('short send'); };
const next = () => {
  const m = calls[i % 2];
  m.writeUInt32LE(1000 + i, 8);
  sent = process.hrtime.bigint();
  send(m, [BUFS[i % 2]]);
};
const auth = () => {
  let nl;
  while ((nl = rx.indexOf('\\r\\n')) >= 0) {
    const line = rx.subarray(0, nl).toString('latin1').replace(/^\\0/, '');
    rx = rx.subarray(nl + 2);
    if (line.startsWith('AUTH EXTERNAL')) send(Buffer.from('OK 0123456789abcdef0123456789abcdef\\r\\n'), []);
    else if (line === 'NEGOTIATE_UNIX_FD') send(Buffer.from('AGREE_UNIX_FD\\r\\n'), []);
    else if (line === 'BEGIN') { open = true; process.stdout.write('open\\n'); return; }
    else send(Buffer.from('ERROR\\r\\n'), []);
  }
};
const replies = () => {
  while (rx.length >= 16) {
    const total = pad8(16 + rx.readUInt32LE(12)) + rx.readUInt32LE(4);
    if (rx.length < total) return;
    const type = rx[1];
    rx = rx.subarray(total);
    if (type === 3) throw new Error('the listener answered ScanoutDMABUF with an error');
    if (type !== 2) continue;
    out.push([String(sent), String(process.hrtime.bigint())]);
    i++;
    if (--left > 0) next();
    else process.stdout.write('block\\n');
  }
};
a.watchFd(LINK, () => {
  for (;;) {
    const r = a.recvWithFds(LINK, 65536);
    if (!r) break;
    if (!r.data.length) { process.stdout.write(JSON.stringify(out) + '\\n'); process.exit(0); }
    rx = Buffer.concat([rx, r.data]);
  }
  if (!open) auth();
  if (open) replies();
}, (e) => { process.stderr.write(String(e) + '\\n'); process.exit(1); });
process.stdin.on('data', (d) => {
  for (const n of String(d).trim().split(/\\s+/)) { left = Number(n); if (left > 0) next(); }
});
`;

export interface FloorQemu {
  /** Runs `n` calls, one after another; resolves once the last reply has come. */
  block(n: number): Promise<void>;
  /** Per call: [sent, reply whole], CLOCK_MONOTONIC ns; after the link has closed. */
  done(): Promise<[bigint, bigint][]>;
  child: ChildProcess;
}

/**
 * `link`: QEMU's end of the socketpair; `bufs`: the two guest buffers' dma-buf fds; `calls`:
 * ScanoutDMABUF for each, marshalled (the child sets each serial); `addon`: the native addon's path.
 */
export function floorQemu(link: number, bufs: [number, number], calls: [Buffer, Buffer], addon: string): Promise<FloorQemu> {
  const child = spawn(process.execPath, ['-e', CHILD], {
    stdio: ['pipe', 'pipe', 'inherit', link, bufs[0], bufs[1]],
    env: { ...process.env, DF_ADDON: addon, DF_CALL0: calls[0].toString('base64'), DF_CALL1: calls[1].toString('base64') },
  });
  let text = '';
  const waiting: { what: string; resolve: () => void }[] = [];
  const exited = new Promise<number>((res) => child.once('exit', (code) => res(code ?? -1)));
  child.stdout!.on('data', (d: Buffer) => {
    text += d.toString();
    let nl: number;
    while ((nl = text.indexOf('\n')) >= 0) {
      const line = text.slice(0, nl);
      text = text.slice(nl + 1);
      if (waiting[0]?.what === line) waiting.shift()!.resolve();
      else if (line.startsWith('[')) results = JSON.parse(line) as [string, string][];
    }
  });
  let results: [string, string][] | null = null;
  const expect = (what: string) => new Promise<void>((resolve, reject) => {
    waiting.push({ what, resolve });
    void exited.then((code) => reject(new Error(`QEMU's stand-in exited ${code} while the test waited for "${what}"`)));
  });
  const opened = expect('open');
  return opened.then(() => ({
    child,
    block: (n) => {
      const p = expect('block');
      child.stdin!.write(`${n}\n`);
      return p;
    },
    done: async () => {
      const code = await exited;
      if (code !== 0 || !results) throw new Error(`QEMU's stand-in exited ${code} without its results`);
      return results.map(([s, r]) => [BigInt(s), BigInt(r)]);
    },
  }));
}
