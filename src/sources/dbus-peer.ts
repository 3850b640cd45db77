import { EventEmitter } from 'node:events';
import { closeSync } from 'node:fs';
import { FD_WRITABLE, recvWithFds, sendWithFds, watchFd } from '../kernel/native-socket';
import type { FdWatcher } from '../kernel/native-socket';

import { messageLength, PeerProtocolError, quoted, readBody, readBodyDirect, readHeader } from './dbus-wire';
import { authStep } from './peer-auth';
import { PendingCalls } from './peer-calls';
import { marshalBasic } from './wire-write';
import type { Outgoing } from './wire-write';

/* eslint-disable @typescript-eslint/no-require-imports */
// dbus-next's marshalling, without its connection: it can neither adopt a socketpair nor count
// fds per message (design §1), so the transport and the framing are ours.
const { marshallMessage, messageToJsFmt } = require('dbus-next/lib/marshall-compat') as { marshallMessage: (m: object) => [Buffer, number[]]; messageToJsFmt: (m: object) => unknown };
/* eslint-enable @typescript-eslint/no-require-imports */

export { MAX_MESSAGE, PeerProtocolError } from './dbus-wire';

/** A message on the link: the header fields wire-write marshals, with its serial, body and fds. */
export interface PeerMessage extends Outgoing {
  serial: number;
  body: unknown[];
  /** The fds this message carried (exactly the header's UNIX_FDS count); the receiver owns them. */
  fds: number[];
}

const NO_BODY: unknown[] = [];

export const MESSAGE = { METHOD_CALL: 1, METHOD_RETURN: 2, ERROR: 3, SIGNAL: 4 } as const;
export const NO_REPLY_EXPECTED = 1;

/** The peer hung up: the end of the stream, not a fault of its messages. */
export class PeerClosed extends Error {
  readonly code = 'EDF_PEER_CLOSED';
}

/**
 * A peer-to-peer D-Bus connection over a socketpair end, as QEMU's display listener link is:
 * no bus, no Hello. We are the client of the SASL exchange (QEMU is the server); AUTH EXTERNAL
 * without a uid is accepted whoever created the socketpair. Each message takes exactly the fds
 * its header announces — dbus-next hands every queued fd to the first message it parses.
 *
 * The peer is hostile input (QEMU faces the guest): a message that breaks the wire protocol, or
 * anything thrown while handling what arrived, closes this link with the error ('close' carries
 * it; `code` says which) and never leaves the fd callback.
 */
/** Messages kept for a listener not attached yet (QEMU sends a few as soon as the link is up). */
const MAX_HELD = 64;
/** More fds than any honest run of messages carries before they are parsed. */
const MAX_QUEUED_FDS = 1024;

export class PeerLink extends EventEmitter {
  /** Received bytes not yet parsed, in the chunks they came in (joined once a message is whole). */
  private readonly rxChunks: Buffer[] = [];
  private rxLen = 0;
  private readonly fdQueue: number[] = [];
  /** Bytes the socket would not take yet: sent when it is writable again, in order. */
  private tx: { buf: Buffer; fds: number[] }[] = [];
  private state: 'auth' | 'open' | 'closed' = 'auth';
  private watcher: FdWatcher | null = null;
  /** Calls that came before anyone listened (QEMU calls as soon as the link is up). */
  private held: PeerMessage[] = [];
  private serial = 1;
  /** Where outgoing messages are marshalled (see send). */
  private readonly scratch = Buffer.alloc(64 * 1024);
  private readonly outFds: number[] = [];
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
    this.on('newListener', (event: string) => {
      if (event === 'message' && this.held.length) setImmediate(() => this.guarded(() => this.held.splice(0).forEach((m) => this.dispatch(m))));
    });
  }

  /** Runs the handshake; resolves once BEGIN is sent (client) or received (server). */
  open(): Promise<void> {
    const p = new Promise<void>((resolve, reject) => (this.authDone = { resolve, reject }));
    this.watcher = watchFd(this.fd, (mask) => this.guarded(() => (mask & FD_WRITABLE ? this.flush() : this.onReadable())), (e) => this.close(e));
    if (this.role === 'client') this.write(Buffer.from('\0AUTH EXTERNAL\r\n'));
    return p;
  }

  private guarded(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      // Not the peer's fault but ours (EDF_PEER_HANDLER): still only this link ends.
      this.close(e instanceof PeerProtocolError ? e : Object.assign(new Error(`handling what the peer sent failed: ${(e as Error).message}`), { code: 'EDF_PEER_HANDLER', cause: e }));
    }
  }

  private write(buf: Buffer, fds: number[] = []): void {
    this.tx.push({ buf, fds });
    if (this.tx.length === 1) this.flush();
  }

  /** Sends what the socket takes; a full socket buffer waits for writability, never spins. */
  private flush(): void {
    while (this.tx.length && this.state !== 'closed') {
      const head = this.tx[0];
      let n: number;
      try {
        n = sendWithFds(this.fd, head.buf, head.fds);
      } catch (e) {
        // The peer went away (EPIPE, ECONNRESET): that ends the link, never the caller of a
        // reply, which may be a timer or a flip event with no one to catch it.
        return this.close(new PeerClosed(`the peer is gone: ${(e as Error).message}`));
      }
      if (n === 0) return this.watcher?.wantWritable(true);
      head.fds = []; // they went with the first byte
      head.buf = head.buf.subarray(n);
      if (!head.buf.length) this.tx.shift();
    }
    this.watcher?.wantWritable(false);
  }

  private takeRx(): Buffer {
    const all = this.rxChunks.length === 1 ? this.rxChunks[0] : Buffer.concat(this.rxChunks);
    this.rxChunks.length = 0;
    this.rxLen = 0;
    return all;
  }

  private keepRx(b: Buffer): void {
    this.rxChunks.length = 0;
    if (b.length) this.rxChunks.push(b);
    this.rxLen = b.length;
  }

  private onReadable(): void {
    let hungUp = false;
    for (;;) {
      const r = recvWithFds(this.fd, 65536);
      if (!r) break;
      // What came before the hang-up is still read: the peer's last messages count.
      if (r.data.length === 0) {
        hungUp = true;
        break;
      }
      this.rxChunks.push(r.data);
      this.rxLen += r.data.length;
      for (let i = 0; i < r.fds.length; i++) this.fdQueue.push(r.fds[i]);
      // Fds arrive with the first byte of their message; a peer that sends far more than its
      // messages claim is trying to exhaust ours.
      if (this.fdQueue.length > MAX_QUEUED_FDS) return this.close(new Error(`the peer sent more than ${MAX_QUEUED_FDS} file descriptors ahead of its messages`));
    }
    if (this.state === 'auth') this.onAuthData();
    if (this.state === 'open') this.parseMessages();
    if (hungUp) this.close(new PeerClosed('the peer closed the link'));
  }

  private onAuthData(): void {
    this.authLines += this.takeRx().toString('latin1');
    if (this.authLines.length > 16384) return this.close(new Error('the authentication exchange is too long'));
    let nl: number;
    while ((nl = this.authLines.indexOf('\r\n')) >= 0) {
      const line = this.authLines.slice(0, nl);
      this.authLines = this.authLines.slice(nl + 2);
      const step = authStep(this.role, line);
      if (step.refused) return this.close(new Error(`authentication refused: ${quoted(line)}`));
      if (step.send) this.write(Buffer.from(step.send));
      if (step.open) {
        this.state = 'open';
        // Anything after the last auth line is already the first message.
        this.keepRx(Buffer.from(this.authLines, 'latin1'));
        this.authLines = '';
        this.authDone.resolve();
        return;
      }
    }
  }

  private parseMessages(): void {
    while (this.rxLen >= 16 && this.state === 'open') {
      if (this.rxChunks[0].length < 16) this.keepRx(this.takeRx());
      const total = messageLength(this.rxChunks[0]);
      if (this.rxLen < total) return;
      const all = this.takeRx();
      if (all.length > total) this.keepRx(all.subarray(total));
      this.dispatch(this.decode(all.subarray(0, total)));
    }
  }

  /** One whole message; its fds are closed here when it cannot be read. */
  private decode(buf: Buffer): PeerMessage {
    const h = readHeader(buf);
    const fds = this.fdQueue.splice(0, h.unixFds);
    try {
      // Fds ride on their message's first byte: by its last byte they have all arrived.
      if (fds.length < h.unixFds) throw new PeerProtocolError(`a message announces ${h.unixFds} file descriptors but came with ${fds.length}`);
      const direct = readBodyDirect(buf, h, fds);
      let msg: PeerMessage;
      if (direct) {
        // The header's fields object becomes the message (the same keys, in the same order).
        const f = h.fields;
        f.type = h.type;
        f.flags = h.flags;
        f.serial = h.serial;
        f.body = direct;
        msg = f as unknown as PeerMessage;
      } else msg = messageToJsFmt({ ...h.fields, type: h.type, flags: h.flags, serial: h.serial, body: readBody(buf, h, fds) }) as PeerMessage;
      msg.signature ??= '';
      msg.body = msg.body ?? [];
      msg.fds = fds;
      return msg;
    } catch (e) {
      for (const fd of fds) closeQuietly(fd);
      throw e instanceof PeerProtocolError ? e : new PeerProtocolError(`a message could not be read: ${(e as Error).message}`);
    }
  }

  private dispatch(msg: PeerMessage): void {
    if (msg.replySerial !== undefined && (msg.type === MESSAGE.METHOD_RETURN || msg.type === MESSAGE.ERROR) && this.calls.answer(msg)) return;
    if (!this.listenerCount('message')) {
      this.held.push(msg);
      // Held messages may be whole frames: a peer that floods before anyone listens is cut off.
      if (this.held.length > MAX_HELD) throw new PeerProtocolError(`the peer sent more than ${MAX_HELD} messages before the link was being read`);
      return;
    }
    try {
      this.emit('message', msg);
    } catch (e) {
      for (const fd of msg.fds) closeQuietly(fd);
      throw e;
    }
  }

  /** Queues a message; on a closed link it goes nowhere (a late reply is not an error). */
  send(m: Omit<PeerMessage, 'serial' | 'fds' | 'body'> & { body?: unknown[] }): number {
    const serial = this.serial++;
    if (this.state === 'closed') return serial;
    // The frame path's messages are written straight into a reused buffer and, when nothing
    // waits before them, sent from it: only what the socket does not take is copied.
    this.outFds.length = 0;
    const n = marshalBasic(m, serial, m.body ?? NO_BODY, this.scratch, this.outFds);
    if (n < 0) {
      const [buf, fds] = marshallMessage({ ...m, body: m.body ?? [], serial });
      this.write(buf, fds);
    } else if (this.tx.length) this.write(Buffer.from(this.scratch.subarray(0, n)), [...this.outFds]);
    else this.sendNow(n);
    return serial;
  }

  /** The first `n` bytes of the scratch buffer, with `outFds`, on an idle socket. */
  private sendNow(n: number): void {
    let sent: number;
    try {
      sent = sendWithFds(this.fd, this.scratch.subarray(0, n), this.outFds);
    } catch (e) {
      return this.close(new PeerClosed(`the peer is gone: ${(e as Error).message}`));
    }
    if (sent < n) this.write(Buffer.from(this.scratch.subarray(sent, n)), sent ? [] : [...this.outFds]);
  }

  /** Calls waiting for their reply; a closed link fails them at once. */
  private readonly calls = new PendingCalls();

  /** A method call and its reply (or error), with a timeout: nothing here may hang. */
  call(m: Omit<PeerMessage, 'serial' | 'fds' | 'body' | 'type' | 'flags'> & { body?: unknown[] }, timeoutMs = 10_000): Promise<PeerMessage> {
    if (this.state === 'closed') return Promise.reject(new PeerClosed(`${m.interface}.${m.member}: the link is closed`));
    // Waiting first: a send that finds the peer gone closes the link, which fails this call.
    const answer = this.calls.wait(this.serial, m.interface, m.member, timeoutMs);
    this.send({ ...m, type: MESSAGE.METHOD_CALL, flags: 0 });
    return answer;
  }

  reply(call: PeerMessage, signature = '', body: unknown[] = []): void {
    if (call.flags & NO_REPLY_EXPECTED) return;
    this.send({ type: MESSAGE.METHOD_RETURN, flags: NO_REPLY_EXPECTED, replySerial: call.serial, destination: call.sender, signature, body });
  }

  replyError(call: PeerMessage, name: string, text: string): void {
    if (call.flags & NO_REPLY_EXPECTED) return;
    // The text often quotes what the peer sent: a NUL in it would make the reply unsendable.
    const safe = text.includes('\0') ? text.replace(/\0/g, '\uFFFD') : text;
    this.send({ type: MESSAGE.ERROR, flags: NO_REPLY_EXPECTED, replySerial: call.serial, destination: call.sender, errorName: name, signature: 's', body: [safe] });
  }

  close(err?: Error): void {
    if (this.state === 'closed') return;
    const wasAuth = this.state === 'auth';
    this.state = 'closed';
    this.watcher?.stop();
    this.watcher = null;
    this.tx = [];
    for (const fd of [...this.fdQueue.splice(0), ...this.held.splice(0).flatMap((m) => m.fds)]) closeQuietly(fd);
    try {
      closeSync(this.fd);
    } catch {
      // already closed by the peer side of a test
    }
    if (wasAuth && this.authDone) this.authDone.reject(err ?? new Error('closed during authentication'));
    this.calls.failAll(() => new PeerClosed(`the link closed before the answer came${err ? `: ${err.message}` : ''}`));
    this.emit('close', err);
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // closed already
  }
}
