import { SaxesParser } from 'saxes';
import type { SaxesTagNS } from 'saxes';
import { ConfigError } from './errors';

/**
 * The document as directflip reads it: elements with their namespace, attributes and the line of
 * their start tag, and text (character data and CDATA). Comments and processing instructions
 * carry nothing we read, so they are dropped.
 */
export interface XmlAttr {
  /** As written, `prefix:local` or `local`. */
  name: string;
  prefix: string;
  local: string;
  /** '' for an attribute without a prefix (attributes never take the default namespace). */
  uri: string;
  value: string;
}

export interface XmlElement {
  kind: 'element';
  name: string;
  prefix: string;
  local: string;
  uri: string;
  attrs: XmlAttr[];
  children: XmlNode[];
  line: number;
}

export interface XmlText {
  kind: 'text';
  text: string;
}

export type XmlNode = XmlElement | XmlText;

/**
 * saxes is a conforming, namespace-aware XML 1.0 parser: it refuses exactly what libxml2 (and so
 * libvirt) refuses as not well-formed — NUL, `&#x0;`, characters outside the Char production,
 * undefined entities — and never expands a DTD. A DOCTYPE is refused from its own event, so the
 * text `<!DOCTYPE` in a comment or CDATA is only text. Stops at the first error.
 */
export const MAX_DEPTH = 256;

/**
 * Which parts of the tree a reader needs: 'keep' an element and all below it, keep only its
 * 'shell' (name, namespace, attributes, line), 'skip' it, or 'choose' again for each child. Every
 * part is still parsed, so well-formedness is checked everywhere; what is skipped costs no memory.
 */
export type Interest = 'keep' | 'shell' | 'skip' | 'choose';
export type InterestRule = (ancestors: readonly XmlElement[], el: XmlElement) => Interest;

export function parseXml(text: string, interest: InterestRule = () => 'keep'): XmlElement {
  const parser = new SaxesParser({ xmlns: true, position: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let startLine = 1;
  let lastClosed: XmlElement | undefined;
  parser.on('error', (e) => {
    throw xmlError(explain(e.message, text, parser.position, stack, lastClosed), parser.line, parser.column);
  });
  parser.on('doctype', (d) => {
    // The event comes at the closing '>': count back to the line the declaration began on.
    const line = parser.line - (d.match(/\n/g)?.length ?? 0);
    throw new ConfigError('EDF_DOCTYPE', '<!DOCTYPE> declarations are refused: a libvirt domain XML has none, and entities could expand without bound; remove the declaration', { line });
  });
  parser.on('opentagstart', (tag) => {
    startLine = parser.line;
    // libxml2's own default, and saxes resolves each prefix by walking the open elements.
    if (stack.length >= MAX_DEPTH) {
      throw new ConfigError('EDF_XML', `malformed XML: <${tag.name}> nests deeper than ${MAX_DEPTH} elements, libxml2's limit for a document`, { line: parser.line, column: parser.column });
    }
  });
  // What each open element's children get: its own interest, or 'skip' below a shell or a skip.
  const modes: Interest[] = [];
  parser.on('opentag', (tag: SaxesTagNS) => {
    const parentMode = modes.length ? modes[modes.length - 1] : 'choose';
    const el: XmlElement = { kind: 'element', name: tag.name, prefix: tag.prefix, local: tag.local, uri: tag.uri, attrs: [], children: [], line: startLine };
    const mode: Interest = parentMode === 'choose' ? interest(stack, el) : parentMode;
    if (mode !== 'skip') {
      el.attrs = Object.values(tag.attributes).map((a) => ({ name: a.name, prefix: a.prefix, local: a.local, uri: a.uri, value: a.value }));
      if (stack.length) stack[stack.length - 1].children.push(el);
      else root = el;
    }
    stack.push(el);
    modes.push(mode === 'shell' ? 'skip' : mode);
  });
  parser.on('closetag', () => {
    lastClosed = stack.pop();
    modes.pop();
  });
  const onText = (t: string) => {
    if (modes.length && modes[modes.length - 1] !== 'skip') stack[stack.length - 1].children.push({ kind: 'text', text: t });
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  try {
    parser.write(text).close();
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    // saxes reports its own errors through the handler above; anything else is still bad XML.
    throw xmlError(explain((e as Error).message, text, parser.position, stack), parser.line, parser.column);
  }
  if (!root) throw new ConfigError('EDF_XML', 'malformed XML: no root element');
  return root;
}

interface Explained {
  message: string;
  line?: number;
  column?: number;
}

/** saxes's messages, completed with the names and lines it leaves out. */
function explain(message: string, text: string, at: number, open: readonly XmlElement[], closed?: XmlElement): Explained {
  const m = message.replace(/^\d+:\d+: /, '').replace(/\.$/, '');
  // saxes reads an entity name up to the next ';', so a bare '&' surfaces later, as another error.
  if (/entity|^unclosed tag/.test(m)) {
    const bad = badReference(text, at);
    if (bad) return bad;
  }
  if (m === 'unexpected close tag' && closed) {
    const tag = /^<\/[^\s>]*/.exec(text.slice(Math.max(0, text.lastIndexOf('</', at - 1)), at))?.[0] ?? 'a close tag';
    return { message: `${tag}> does not close <${closed.name}> (opened on line ${closed.line})` };
  }
  if (m === 'disallowed character') {
    const c = text.codePointAt(Math.max(0, at - 1)) ?? 0;
    if (!isXmlChar(c)) return { message: `character U+${c.toString(16).toUpperCase().padStart(4, '0')} is not allowed in XML 1.0 (libvirt refuses it too)` };
    return { message: `the character ${JSON.stringify(String.fromCodePoint(c))} is not allowed here${c === 0x3c ? ' (write &lt; inside a value)' : ''}` };
  }
  const unclosed = /^unclosed tag: (.*)$/.exec(m);
  if (unclosed) {
    const el = [...open].reverse().find((e) => e.name === unclosed[1]);
    return { message: `<${unclosed[1]}>${el ? ` (opened on line ${el.line})` : ''} is never closed` };
  }
  return { message: m };
}

const PREDEFINED = ['amp', 'lt', 'gt', 'apos', 'quot'];

/** The first '&' before `upTo`, outside comments, CDATA and PIs, that is not a reference XML defines. */
function badReference(text: string, upTo: number): Explained | null {
  const re = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>|&/g;
  for (let m = re.exec(text); m && m.index < upTo; m = re.exec(text)) {
    if (m[0] !== '&') continue;
    const ref = /^&(#[0-9]+|#x[0-9a-fA-F]+|[^\s&;<>"']+)?(;?)/.exec(text.slice(m.index, m.index + 64))!;
    const [whole, name = '', semi] = ref;
    const where = position(text, m.index);
    if (!name || !semi) return { message: `a bare & (write &amp; for the character itself)`, ...where };
    if (name.startsWith('#')) {
      const code = name[1] === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      if (!isXmlChar(code)) return { message: `${whole} is not a character XML 1.0 allows`, ...where };
    } else if (!PREDEFINED.includes(name)) {
      return { message: `undefined entity ${whole} (a domain XML has only &amp; &lt; &gt; &apos; &quot; and character references)`, ...where };
    }
  }
  return null;
}

/** XML 1.0's Char production. */
function isXmlChar(c: number): boolean {
  return c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

function position(text: string, index: number): { line: number; column: number } {
  const before = text.slice(0, index);
  const nl = before.lastIndexOf('\n');
  return { line: (before.match(/\n/g)?.length ?? 0) + 1, column: index - nl };
}

/** The line and column are saxes's unless the explanation found a better place. */
function xmlError(e: Explained, line: number, column: number): ConfigError {
  return new ConfigError('EDF_XML', `malformed XML: ${e.message}`, { line: e.line ?? line, column: e.column ?? column });
}

export function childElements(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => c.kind === 'element');
}

/** Children in no namespace with this local name: libvirt's own elements. */
export function plainChildren(el: XmlElement, name: string): XmlElement[] {
  return childElements(el).filter((c) => !c.uri && c.local === name);
}

export function plainChild(el: XmlElement, name: string): XmlElement | undefined {
  return plainChildren(el, name)[0];
}

/** An attribute by the name it is written with (libvirt's attributes have no prefix). */
export function attr(el: XmlElement, name: string): string | undefined {
  return el.attrs.find((a) => a.name === name)?.value;
}

/** Namespace declarations are not attributes of the element. */
export function isNamespaceDeclaration(a: XmlAttr): boolean {
  return a.name === 'xmlns' || a.prefix === 'xmlns';
}

export function attributes(el: XmlElement): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of el.attrs) if (!isNamespaceDeclaration(a)) out[a.name] = a.value;
  return out;
}

/** All text below `el`, in document order; iterative, as a hostile document may nest a million deep. */
export function textContent(el: XmlElement): string {
  const out: string[] = [];
  const todo: XmlNode[] = [...el.children].reverse();
  for (let n = todo.pop(); n; n = todo.pop()) {
    if (n.kind === 'text') out.push(n.text);
    else for (let i = n.children.length - 1; i >= 0; i--) todo.push(n.children[i]);
  }
  return out.join('');
}
