/**
 * A detail fit for status and the log: what QEMU or its bus said may hold a NUL (which no D-Bus
 * string may, so the Streams reply would be dropped) or a newline; cut to 500 characters.
 */
export function printable(s: string): string {
  const clean = s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return clean.length > 500 ? `${clean.slice(0, 500)}…` : clean;
}

/**
 * What `status` says of a console's stream once QEMU's display link closes: QEMU hanging up is the
 * guest going away; anything else (a message that broke the protocol, a handler that threw) ended
 * this stream alone. Either way the next step is the guest's next start (said first: the cut to
 * 500 characters keeps it).
 */
export function linkClosedDetail(err?: Error & { code?: string }): { state: 'stopped' | 'failed'; detail: string } {
  if (!err || err.code === 'EDF_PEER_CLOSED') return { state: 'stopped', detail: 'QEMU closed the display link (the guest stopped, or its QEMU exited): start the guest to show it again' };
  return { state: 'failed', detail: printable(`QEMU's display link was closed (this console's stream ended, the others go on; restart the guest to show it again): ${err.message}`) };
}
