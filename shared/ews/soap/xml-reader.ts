/**
 * Reads an EWS response into a small element tree with saxes (a maintained streaming SAX
 * parser). The tree keeps only what the hot-path readers need: local names (the prefix is
 * dropped; EWS answers use one namespace per prefix and we read known shapes only), attributes
 * and text. It is far lighter than a DOM, which is where ews-javascript-api spent its time.
 *
 * The server is not trusted: a DOCTYPE (and so any entity declaration) is refused, only XML's
 * five predefined entities and character references are expanded (saxes refuses others), and
 * the document's size, depth and element count are bounded.
 */
import type * as Saxes from 'saxes';

// Required on the first read, not when the function files load (cold start, docs/sync.md): the push
// callback and Autodiscover import this module but parse only when a request comes.
let saxes: typeof Saxes | undefined;
const saxesModule = (): typeof Saxes => (saxes ??= require('saxes') as typeof Saxes);

export interface XmlElement {
  /** Local name: `t:Message` → `Message`. */
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: XmlElement[];
  /** The element's own text (concatenated text and CDATA children). */
  text: string;
}

export interface XmlReadLimits {
  /** Longest document accepted, in UTF-16 characters. Default 64 Mi. */
  readonly maxChars: number;
  /** Deepest nesting accepted. Default 64 (EWS answers nest about 12 deep). */
  readonly maxDepth: number;
  /** Most elements accepted in one document. Default 2,000,000. */
  readonly maxElements: number;
}

export const DEFAULT_XML_READ_LIMITS: XmlReadLimits = { maxChars: 64 * 1024 * 1024, maxDepth: 64, maxElements: 2_000_000 };

/** The document was not well-formed, used a refused construct, or exceeded a limit. */
export class XmlReadError extends Error {
  readonly code = 'XmlReadError';
  constructor(message: string) {
    super(message);
    this.name = 'XmlReadError';
  }
}

// Most elements have no attributes: they share one frozen empty record (fewer allocations, less GC).
const NO_ATTRIBUTES: Record<string, string> = Object.freeze({}) as Record<string, string>;

function localName(qualified: string): string {
  const colon = qualified.indexOf(':');
  return colon < 0 ? qualified : qualified.slice(colon + 1);
}

/** Parses `xml` into its root element. Throws XmlReadError. */
export function readXml(xml: string, limits: XmlReadLimits = DEFAULT_XML_READ_LIMITS): XmlElement {
  if (xml.length > limits.maxChars) throw new XmlReadError(`The response is ${xml.length} characters; at most ${limits.maxChars} are read.`);
  const parser = new (saxesModule().SaxesParser)({ position: false });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let elements = 0;
  let failure: XmlReadError | undefined;
  const fail = (message: string): never => {
    failure ??= new XmlReadError(message);
    throw failure;
  };
  parser.on('doctype', () => fail('The response carries a DOCTYPE; documents with DTDs or entity declarations are refused.'));
  parser.on('processinginstruction', () => fail('The response carries a processing instruction.'));
  parser.on('opentag', (tag) => {
    if (++elements > limits.maxElements) fail(`The response has more than ${limits.maxElements} elements.`);
    if (stack.length >= limits.maxDepth) fail(`The response nests deeper than ${limits.maxDepth} elements.`);
    let attributes: Record<string, string> = NO_ATTRIBUTES;
    for (const name in tag.attributes) {
      if (name === 'xmlns' || name.startsWith('xmlns:')) continue;
      if (attributes === NO_ATTRIBUTES) attributes = {};
      attributes[localName(name)] = tag.attributes[name] as string;
    }
    const element: XmlElement = { name: localName(tag.name), attributes, children: [], text: '' };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(element);
    else root = element;
    stack.push(element);
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  const onText = (text: string): void => {
    const current = stack[stack.length - 1];
    if (current) current.text += text;
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  try {
    parser.write(xml).close();
  } catch (error) {
    if (failure) throw failure;
    throw new XmlReadError(`The response is not well-formed XML: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!root) throw new XmlReadError('The response has no root element.');
  return root;
}

/** The first child named `name`, if any. */
export function child(element: XmlElement | undefined, name: string): XmlElement | undefined {
  if (!element) return undefined;
  for (const candidate of element.children) if (candidate.name === name) return candidate;
  return undefined;
}

/** Every child named `name`. */
export function childrenNamed(element: XmlElement | undefined, name: string): XmlElement[] {
  return element ? element.children.filter((candidate) => candidate.name === name) : [];
}

/** The element at a path of child names, e.g. path(envelope, 'Body', 'GetItemResponse'). */
export function path(element: XmlElement | undefined, ...names: readonly string[]): XmlElement | undefined {
  let current = element;
  for (const name of names) current = child(current, name);
  return current;
}

/** Text of the child named `name`; undefined when the child is absent. */
export function childText(element: XmlElement | undefined, name: string): string | undefined {
  return child(element, name)?.text;
}
