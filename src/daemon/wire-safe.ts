/**
 * D-Bus strings may not hold NUL (the wire format is NUL-terminated), and a string that cannot be
 * marshalled makes dbus-next drop the whole reply, leaving the caller to time out. Text that
 * reaches a reply can come from QEMU or a guest (a stream's detail, a domain's description), so
 * every string in a reply body is made sendable here: NUL becomes U+FFFD, as invalid UTF-8 does.
 */
export function sendable<T>(v: T): T {
  if (typeof v === 'string') return (v.includes('\0') ? v.replace(/\0/g, '\uFFFD') : v) as T;
  if (Array.isArray(v)) return v.map((x: unknown) => sendable(x)) as T;
  return v;
}
