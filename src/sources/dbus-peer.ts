import { EventEmitter } from 'node:events';
import { closeSync } from 'node:fs';
import { recvWithFds, sendWithFds, watchReadable } from '../kernel/native-socket';

/* eslint-disable @typescript-eslint/no-require-imports */
// dbus-next's marshalling, without its connection: it can neither adopt a socketpair nor count
// fds per message (design §1), so the transport and the framing are ours.
const DBusBuffer = require('dbus-next/lib/dbus-buffer');
const { marshallMessage, messageToJsFmt } = require('dbus-next/lib/marshall-compat');
const constants = require('dbus-next/lib/constants');
/* eslint-enable @typescript-eslint/no-require-imports */

export interface PeerMessage {
  type: number;
  flags: number;
  serial: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  signature?: string;
  body: unknown[];
  /** The fds this message carried (exactly the header's UNIX_FDS count); the receiver owns them. */
  fds: number[];
}

export const MESSAGE = { METHOD_CALL: 1, METHOD_RETURN: 2, ERROR: 3, SIGNAL: 4 } as const;
export const NO_REPLY_EXPECTED = 1;
const LE = 'l'.charCodeAt(0);

/**
 * A peer-to-peer D-Bus connection over a socketpair end, as QEMU's display listener link is:
 * no bus, no Hello. We are the client of the SASL exchange (QEMU is the server); AUTH EXTERNAL
 * without a uid is accepted whoever created the socketpair. Each message takes exactly the fds
 * its header announces — dbus-next hands every queued fd to the first message it parses.
 */
export class PeerLink extends EventEmitter {
  private rx = Buffer.alloc(0);
  private readonly fdQueue: number[] = [];
  private state: 'auth' | 'open' | 'closed' = 'auth';
  private stopWatch: (() => void) | null = null;
  private serial = 1;
  private authLines = '';
  private authDone!: { resolve: () => void; reject: (e: Error) => void };

  /**
   * `server` plays QEMU's side of the handshake: test harnesses that stand in for QEMU use it.
   */
  constructor(
    readonly fd: number,
    readonly role: 'client' | 'server' = 'client',
  ) {
    super();
  }

  /** Runs the handshake; resolves once BEGIN is sent (client) or received (server). */
  open(): Promise<void> {
    const p = new Promise<void>((resolve, reject) => (this.authDone = { resolve, reject }));
    this.stopWatch = watchReadable(this.fd, () => this.onReadable());
    if (this.role === 'client') this.write(Buffer.from('\0AUTH EXTERNAL\r\n'));
    return p;
  }

  private write(b: Buffer, fds: number[] = []): void {
    let off = 0;
    let first = true;
    while (off < b.length) {
      const n = sendWithFds(this.fd, b.subarray(off), first ? fds : []);
      if (n === 0) continue; // a full socket buffer: the peer drains it promptly
      off += n;
      first = false;
    }
  }

  private onReadable(): void {
    for (;;) {
      const r = recvWithFds(this.fd, 65536);
      if (!r) break;
      if (r.data.length === 0) return this.close(new Error('the peer closed the link'));
      this.rx = Buffer.concat([this.rx, r.data]);
      this.fdQueue.push(...r.fds);
    }
    if (this.state === 'auth') this.onAuthData();
    if (this.state === 'open') this.parseMessages();
  }

  private onAuthData(): void {
    this.authLines += this.rx.toString('latin1');
    this.rx = Buffer.alloc(0);
    let nl: number;
    while ((nl = this.authLines.indexOf('\r\n')) >= 0) {
      const line = this.authLines.slice(0, nl);
      this.authLines = this.authLines.slice(nl + 2);
      if (this.role === 'server') {
        if (line.replace(/^\0/, '').startsWith('AUTH EXTERNAL')) this.write(Buffer.from('OK 0123456789abcdef0123456789abcdef\r\n'));
        else if (line === 'NEGOTIATE_UNIX_FD') this.write(Buffer.from('AGREE_UNIX_FD\r\n'));
        else if (line === 'BEGIN') {
          this.state = 'open';
          this.rx = Buffer.from(this.authLines, 'latin1');
          this.authLines = '';
          this.authDone.resolve();
          return;
        } else this.write(Buffer.from('ERROR\r\n'));
        continue;
      }
      // dbus-daemon answers an EXTERNAL without initial response with an empty DATA challenge.
      if (line === 'DATA') this.write(Buffer.from('DATA\r\n'));
      else if (line.startsWith('OK ')) this.write(Buffer.from('NEGOTIATE_UNIX_FD\r\n'));
      else if (line === 'AGREE_UNIX_FD') {
        this.write(Buffer.from('BEGIN\r\n'));
        this.state = 'open';
        // Anything after the last auth line is already the first message.
        this.rx = Buffer.from(this.authLines, 'latin1');
        this.authLines = '';
        this.authDone.resolve();
        return;
      } else return this.close(new Error(`authentication refused: ${line}`));
    }
  }

  private parseMessages(): void {
    while (this.rx.length >= 16) {
      if (this.rx[0] !== LE) return this.close(new Error('big-endian messages are not supported'));
      const bodyLen = this.rx.readUInt32LE(4);
      const fieldsLen = this.rx.readUInt32LE(12);
      const bodyStart = 16 + (((fieldsLen + 7) >> 3) << 3);
      const total = bodyStart + bodyLen;
      if (this.rx.length < total) return;
      const buf = this.rx.subarray(0, total);
      this.rx = this.rx.subarray(total);
      const head = new DBusBuffer(buf, 0, LE, [], {}).read('yyyyuua(yv)');
      const m: Record<string, unknown> = { type: head[1], flags: head[2], serial: head[5] };
      for (const [code, v] of head[6]) m[constants.headerTypeName[code]] = v[1][0];
      const fds = this.fdQueue.splice(0, Number(m.unixFd ?? 0));
      let body: unknown[] = [];
      if (bodyLen > 0 && m.signature) {
        const b = new DBusBuffer(buf, 0, LE, fds, {});
        b.pos = bodyStart;
        body = b.read(m.signature);
      }
      const msg = messageToJsFmt({ ...m, body }) as PeerMessage;
      msg.body = msg.body ?? [];
      msg.fds = fds;
      const waiter = msg.replySerial !== undefined ? this.pending.get(Number(msg.replySerial)) : undefined;
      if (waiter && (msg.type === MESSAGE.METHOD_RETURN || msg.type === MESSAGE.ERROR)) {
        this.pending.delete(Number(msg.replySerial));
        waiter(msg);
        continue;
      }
      this.emit('message', msg);
    }
  }

  send(m: Omit<PeerMessage, 'serial' | 'fds' | 'body'> & { body?: unknown[] }): number {
    const serial = this.serial++;
    const [buf, fds] = marshallMessage({ ...m, body: m.body ?? [], serial });
    this.write(buf, fds);
    return serial;
  }

  private readonly pending = new Map<number, (m: PeerMessage) => void>();

  /** A method call and its reply (or error), with a timeout: nothing here may hang. */
  call(m: Omit<PeerMessage, 'serial' | 'fds' | 'body' | 'type' | 'flags'> & { body?: unknown[] }, timeoutMs = 10_000): Promise<PeerMessage> {
    return new Promise((resolve, reject) => {
      const serial = this.send({ ...m, type: MESSAGE.METHOD_CALL, flags: 0 });
      const timer = setTimeout(() => {
        this.pending.delete(serial);
        reject(Object.assign(new Error(`${m.interface}.${m.member} got no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
      }, timeoutMs);
      this.pending.set(serial, (r) => {
        clearTimeout(timer);
        if (r.type === MESSAGE.ERROR) reject(Object.assign(new Error(`${r.errorName}: ${String(r.body[0] ?? '')}`), { dbusName: r.errorName }));
        else resolve(r);
      });
    });
  }

  reply(call: PeerMessage, signature = '', body: unknown[] = []): void {
    if (call.flags & NO_REPLY_EXPECTED) return;
    this.send({ type: MESSAGE.METHOD_RETURN, flags: NO_REPLY_EXPECTED, replySerial: call.serial, destination: call.sender, signature, body });
  }

  replyError(call: PeerMessage, name: string, text: string): void {
    if (call.flags & NO_REPLY_EXPECTED) return;
    this.send({ type: MESSAGE.ERROR, flags: NO_REPLY_EXPECTED, replySerial: call.serial, destination: call.sender, errorName: name, signature: 's', body: [text] });
  }

  close(err?: Error): void {
    if (this.state === 'closed') return;
    const wasAuth = this.state === 'auth';
    this.state = 'closed';
    this.stopWatch?.();
    for (const fd of this.fdQueue.splice(0)) closeSync(fd);
    try {
      closeSync(this.fd);
    } catch {
      // already closed by the peer side of a test
    }
    if (wasAuth && this.authDone) this.authDone.reject(err ?? new Error('closed during authentication'));
    this.emit('close', err);
  }
}
