/**
 * XML helpers: escaping for string-built responses (fast) and namespace-aware navigation of
 * parsed requests (@xmldom/xmldom).
 */
import { DOMParser, type Document, type Element, type Node } from '@xmldom/xmldom';

export const NS = {
  soap: 'http://schemas.xmlsoap.org/soap/envelope/',
  soap12: 'http://www.w3.org/2003/05/soap-envelope',
  messages: 'http://schemas.microsoft.com/exchange/services/2006/messages',
  types: 'http://schemas.microsoft.com/exchange/services/2006/types',
  errors: 'http://schemas.microsoft.com/exchange/services/2006/errors',
} as const;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
// Characters XML 1.0 cannot carry at all; dropped rather than producing an unparsable response.
const INVALID_XML_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

/** Escapes text or attribute content. */
export function esc(value: string): string {
  if (!/[&<>"'\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.test(value)) return value;
  return value.replace(INVALID_XML_CHARS, '').replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** `<prefix:name>escaped text</prefix:name>`; empty string when value is undefined. */
export function el(name: string, value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  return `<${name}>${typeof value === 'string' ? esc(value) : String(value)}</${name}>`;
}

/** xs:dateTime as Exchange writes it: UTC, second precision, trailing Z. */
export function xmlDate(date: Date): string {
  const iso = date.toISOString();
  return iso.slice(0, 19) + 'Z';
}

export class XmlParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlParseError';
  }
}

/** Parses a request document; throws XmlParseError when it is not well-formed. */
export function parseXml(text: string): Document {
  const problems: string[] = [];
  let doc: Document;
  try {
    doc = new DOMParser({
      onError: (level, message) => {
        if (level !== 'warning') problems.push(message);
      },
    }).parseFromString(text, 'text/xml');
  } catch (error) {
    throw new XmlParseError(error instanceof Error ? error.message : String(error));
  }
  if (problems.length > 0 || !doc.documentElement) throw new XmlParseError(problems[0] ?? 'no root element');
  return doc;
}

function isElement(node: Node | null): node is Element {
  return !!node && node.nodeType === 1;
}

/** Child elements, optionally only those with the given local name (and namespace). */
export function children(parent: Element, localName?: string, namespace?: string): Element[] {
  const result: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (!isElement(node)) continue;
    if (localName !== undefined && node.localName !== localName) continue;
    if (namespace !== undefined && node.namespaceURI !== namespace) continue;
    result.push(node);
  }
  return result;
}

/** The first child element with the given local name (any EWS namespace). */
export function child(parent: Element, localName: string, namespace?: string): Element | undefined {
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (isElement(node) && node.localName === localName && (namespace === undefined || node.namespaceURI === namespace)) return node;
  }
  return undefined;
}

/** Text content of an element (trimmed), or undefined when absent. */
export function text(element: Element | undefined): string | undefined {
  if (!element) return undefined;
  return (element.textContent ?? '').trim();
}

/** Raw (untrimmed) text content, for bodies. */
export function rawText(element: Element | undefined): string | undefined {
  if (!element) return undefined;
  return element.textContent ?? '';
}

export function childText(parent: Element, localName: string): string | undefined {
  return text(child(parent, localName));
}

export function attr(element: Element | undefined, name: string): string | undefined {
  if (!element || !element.hasAttribute(name)) return undefined;
  return element.getAttribute(name) ?? undefined;
}

/** Follows a path of local names from `parent`. */
export function path(parent: Element, ...names: string[]): Element | undefined {
  let current: Element | undefined = parent;
  for (const name of names) {
    if (!current) return undefined;
    current = child(current, name);
  }
  return current;
}

export function parseBoolean(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return undefined;
}

export type { Document, Element };
