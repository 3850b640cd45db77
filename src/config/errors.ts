/**
 * Every configuration problem is one `ConfigError`: a stable `code` for programs, and the element
 * path, attribute, bad value and what is allowed for the admin who has to fix the XML.
 */
export type ConfigErrorCode =
  | 'EDF_TOO_LARGE'
  | 'EDF_DOCTYPE'
  | 'EDF_XML'
  | 'EDF_DOMAIN'
  | 'EDF_NAMESPACE'
  | 'EDF_DUPLICATE_ELEMENT'
  | 'EDF_UNKNOWN_ELEMENT'
  | 'EDF_UNKNOWN_ATTRIBUTE'
  | 'EDF_MISSING_ATTRIBUTE'
  | 'EDF_BAD_VALUE'
  | 'EDF_TEXT'
  | 'EDF_EMPTY'
  | 'EDF_PLANE_SOURCE'
  | 'EDF_MDEV_NOT_IN_DOMAIN'
  | 'EDF_DUPLICATE_CONNECTOR'
  | 'EDF_DUPLICATE_PLANE'
  /** A host-side file in /etc/directflip/domains.d: unreadable, unsafe, not ours, or a second one. */
  | 'EDF_HOST_CONFIG';

export interface ConfigErrorFields {
  /** Element path inside our metadata, e.g. `directflip/output[2]/plane[1]`, or a domain path. */
  path?: string;
  attribute?: string;
  value?: string;
  allowed?: string;
  line?: number;
  column?: number;
}

export class ConfigError extends Error implements ConfigErrorFields {
  readonly path?: string;
  readonly attribute?: string;
  readonly value?: string;
  readonly allowed?: string;
  readonly line?: number;
  readonly column?: number;

  constructor(
    readonly code: ConfigErrorCode,
    message: string,
    fields: ConfigErrorFields = {},
  ) {
    super(ConfigError.compose(message, fields));
    this.name = 'ConfigError';
    Object.assign(this, fields);
  }

  /** `path/@attr: "value" is …; allowed: …` — the whole story on one line. */
  private static compose(message: string, f: ConfigErrorFields): string {
    const where = f.path ? (f.attribute ? `${f.path}/@${f.attribute}` : f.path) : f.attribute ? `@${f.attribute}` : '';
    const at = f.line !== undefined ? ` (line ${f.line}${f.column !== undefined ? `, column ${f.column}` : ''})` : '';
    const value = f.value !== undefined ? `${JSON.stringify(f.value)} ` : '';
    const allowed = f.allowed ? `; allowed: ${f.allowed}` : '';
    return `${where ? `${where}: ` : ''}${value}${message}${allowed}${at}`;
  }

  toJSON(): Record<string, unknown> {
    const { code, message, path, attribute, value, allowed, line, column } = this;
    return Object.fromEntries(
      Object.entries({ code, message, path, attribute, value, allowed, line, column }).filter(([, v]) => v !== undefined),
    );
  }
}
