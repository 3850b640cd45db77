/**
 * One line of the peer link's SASL exchange and what it asks of us: a line to send back, the
 * link now open, or a refusal. The client side is what dbus-daemon and QEMU accept (AUTH
 * EXTERNAL, then unix fds); the server side is QEMU's, for the harnesses that play it.
 */
export interface AuthStep {
  send?: string;
  open?: boolean;
  refused?: boolean;
}

export function authStep(role: 'client' | 'server', line: string): AuthStep {
  if (role === 'server') {
    if (line.replace(/^\0/, '').startsWith('AUTH EXTERNAL')) return { send: 'OK 0123456789abcdef0123456789abcdef\r\n' };
    if (line === 'NEGOTIATE_UNIX_FD') return { send: 'AGREE_UNIX_FD\r\n' };
    if (line === 'BEGIN') return { open: true };
    return { send: 'ERROR\r\n' };
  }
  // dbus-daemon answers an EXTERNAL without initial response with an empty DATA challenge.
  if (line === 'DATA') return { send: 'DATA\r\n' };
  if (line.startsWith('OK ')) return { send: 'NEGOTIATE_UNIX_FD\r\n' };
  if (line === 'AGREE_UNIX_FD') return { send: 'BEGIN\r\n', open: true };
  return { refused: true };
}
