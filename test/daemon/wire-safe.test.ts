import * as dbus from 'dbus-next';
import { sendable } from '../../src/daemon/wire-safe';

// dbus-next's own marshaller: what bus.send runs after the handler has returned.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { marshallMessage } = require('dbus-next/lib/marshall-compat.js') as { marshallMessage: (m: unknown) => Buffer };

// dbus-next's types say replySerial is a string; its marshaller needs the number it is on the wire.
const reply = (signature: string, body: unknown[]) => new dbus.Message({ type: dbus.MessageType.METHOD_RETURN, replySerial: 1 as unknown as string, destination: ':1.1', signature, body, serial: 2 });

describe('reply bodies are always sendable', () => {
  const streams = [['vm\0x', 'console 0', 'primary', 'failed', 'QEMU said "\0\0"', 1, 2, 3, 4n]];

  test('a NUL anywhere in a Streams row makes dbus-next refuse the whole reply', () => {
    expect(() => marshallMessage(reply('a(sssssuuut)', [streams]))).toThrow(/null byte/);
  });

  test('sendable() fixes every string at any depth and leaves the rest alone', () => {
    const fixed = sendable([streams]);
    expect(() => marshallMessage(reply('a(sssssuuut)', fixed))).not.toThrow();
    expect(fixed).toEqual([[['vm\uFFFDx', 'console 0', 'primary', 'failed', 'QEMU said "\uFFFD\uFFFD"', 1, 2, 3, 4n]]]);
    expect(sendable('plain')).toBe('plain');
  });
});
