/**
 * A libvirt domain name as a file name in the run directory. libvirt allows almost any character
 * but `/`; the hook's POSIX sh shim must find the file with no tools, so the encoding is plain:
 * letters, digits, `.`, `_` and `-` stay, every other byte becomes `%XX`, and a leading `.` is
 * escaped so no name is hidden or is `.`/`..`.
 */
export function stateFileName(domain: string): string {
  if (!domain) throw new Error('empty domain name');
  const enc = [...Buffer.from(domain, 'utf8')]
    .map((b, i) => {
      const c = String.fromCharCode(b);
      return /[A-Za-z0-9_-]/.test(c) || (c === '.' && i > 0) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
  return `${enc}.json`;
}
