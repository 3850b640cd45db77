import { DOMParser } from '@xmldom/xmldom';
import type { Document, Element } from '@xmldom/xmldom';
import { ConfigError } from './errors';

interface Locator {
  lineNumber?: number;
  columnNumber?: number;
}

/**
 * xmldom recovers from most errors by default; a half-read domain XML must never become a config,
 * so every warning and error is fatal here.
 */
export function parseXml(text: string): Document {
  // xmldom wraps what onError throws in its own ParseError (which carries the locator), so keep
  // the first message here and rebuild one clean error from both.
  let first: string | undefined;
  let doc: Document;
  try {
    doc = new DOMParser({
      onError: (level: string, msg: string) => {
        first ??= `${level === 'fatalError' ? 'error' : level}: ${String(msg).split('\n')[0]}`;
        throw new Error(first);
      },
    }).parseFromString(text, 'text/xml');
  } catch (e) {
    const err = e as Error & { locator?: Locator };
    throw xmlError(first ?? err.message.split('\n')[0], err.locator);
  }
  if (!doc.documentElement) throw new ConfigError('EDF_XML', 'malformed XML: no root element');
  return doc;
}

function xmlError(message: string, loc?: Locator): ConfigError {
  return new ConfigError('EDF_XML', `malformed XML: ${message.replace(/^\[xmldom [^\]]*\]\s*/, '')}`, {
    ...(loc?.lineNumber ? { line: loc.lineNumber } : {}),
    ...(loc?.columnNumber !== undefined ? { column: loc.columnNumber } : {}),
  });
}

export function childElements(el: Element): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) if (n.nodeType === 1) out.push(n as Element);
  return out;
}

/** Children in no namespace with this local name: libvirt's own elements. */
export function plainChildren(el: Element, name: string): Element[] {
  return childElements(el).filter((c) => !c.namespaceURI && c.localName === name);
}

export function plainChild(el: Element, name: string): Element | undefined {
  return plainChildren(el, name)[0];
}

export function attr(el: Element, name: string): string | undefined {
  return el.hasAttribute(name) ? el.getAttribute(name) ?? undefined : undefined;
}

export function attributes(el: Element): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < el.attributes.length; i++) {
    const a = el.attributes.item(i);
    if (a && a.name !== 'xmlns' && a.prefix !== 'xmlns') out[a.name] = a.value;
  }
  return out;
}

export function lineOf(el: Element): number | undefined {
  return (el as unknown as { lineNumber?: number }).lineNumber;
}
