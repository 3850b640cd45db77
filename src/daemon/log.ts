/**
 * One line per event on stderr, with the journald priority prefix systemd turns into a log level
 * (sd-daemon(3)): `<3>` error, `<4>` warning, `<5>` notice, `<6>` info, `<7>` debug.
 * `fields` are key=value pairs written before the message (uid, pid …).
 */
export type Logger = (level: 'err' | 'warning' | 'notice' | 'info' | 'debug', domain: string | null, message: string, fields?: Record<string, string | number>) => void;

const PRIORITY = { err: 3, warning: 4, notice: 5, info: 6, debug: 7 } as const;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\' };

/**
 * Everything in a line comes from somewhere (a domain name is whatever the admin or libvirt
 * wrote): control characters, C1 controls and the Unicode line separators become escapes, so
 * no text can end the line and forge the next one, or drive the terminal that reads it.
 */
export function escapeLogText(s: string): string {
  return s.replace(/[\\\x00-\x1f\x7f-\x9f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    return NAMED[c] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
}

/** A field's value: escaped, and quoted when it would otherwise not read back as one value. */
export function logField(value: string): string {
  const e = escapeLogText(value);
  return e === '' || /[\s"=]/.test(e) ? `"${e.replace(/"/g, '\\"')}"` : e;
}

export function formatLogLine(level: Parameters<Logger>[0], domain: string | null, message: string, fields: Record<string, string | number> = {}): string {
  const all = domain !== null ? { domain, ...fields } : fields;
  const head = Object.entries(all).map(([k, v]) => `${k}=${logField(String(v))} `).join('');
  return `<${PRIORITY[level]}>${head}${escapeLogText(message)}\n`;
}

export function stderrLogger(write: (s: string) => void = (s) => process.stderr.write(s)): Logger {
  return (level, domain, message, fields) => write(formatLogLine(level, domain, message, fields));
}
