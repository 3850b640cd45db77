/**
 * One line per event on stderr, with the journald priority prefix systemd turns into a log level
 * (sd-daemon(3)): `<3>` error, `<4>` warning, `<5>` notice, `<6>` info, `<7>` debug.
 */
export type Logger = (level: 'err' | 'warning' | 'notice' | 'info' | 'debug', domain: string | null, message: string) => void;

const PRIORITY = { err: 3, warning: 4, notice: 5, info: 6, debug: 7 } as const;

export function stderrLogger(write: (s: string) => void = (s) => process.stderr.write(s)): Logger {
  return (level, domain, message) => write(`<${PRIORITY[level]}>${domain !== null ? `domain=${domain} ` : ''}${message.replace(/\n/g, ' ')}\n`);
}
