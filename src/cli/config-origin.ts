import { resolve } from 'node:path';
import { last } from './options';
import type { ConfigSource } from '../config/host-config';
import { HOST_CONFIG_DIR } from '../config/host-config';

/** `--root DIR`: the one prefix every /etc, /run, /sys and /dev path hangs off (tests build DIR/etc/directflip/domains.d). */
export const ROOT_OPTION = {
  type: 'string',
  default: '/',
  coerce: (v: unknown) => resolve(String(last(v))),
  describe: `Root for /etc/directflip/domains.d (and, on the native host, /sys and /dev): tests and chroots`,
} as const;

export const ROOT_HELP =
  `A domain whose <metadata> has no <directflip> element is configured by <root>/${HOST_CONFIG_DIR}/<uuid>.xml or <name>.xml ` +
  '(the same element, for managers that write the domain XML themselves), validated the same way; the output says which place it came from.';

/** One line saying where the configuration came from, and which file, if any, it overrides. */
export function originLine(from: ConfigSource): string {
  if (from.origin === 'domains.d') return `config: from ${from.file} (the domain's <metadata> has none)\n`;
  if (from.origin === 'metadata') return `config: from the domain's <metadata>${from.ignored ? `; ${from.ignored} is ignored while the metadata has one` : ''}\n`;
  return '';
}
