/**
 * Values in Bicep, as far as the Azure type check needs them: the Bicep reader in
 * dev/infra-check.ts finds declarations and spans; this turns a span into a small value tree.
 *
 * Understood: object and array literals, string literals (interpolated or not), integers,
 * true/false/null, `cond ? a : b` and `a ?? b` (each branch is checked), references to a
 * `param` (its declared type and @allowed values) or a `var` (its value), calls of well-known
 * functions by their result type (guid() is a string, empty() a bool, union() of objects an
 * object), comparisons and `!` (bool). Anything else (member access such as `plan.id`, other
 * functions, `for` expressions, spreads) is an `opaque` value: the type check accepts it where
 * a string, number or bool goes, and reports it where an object with named properties is
 * expected, because then it cannot see the properties.
 */
import {
  declarations,
  endOfValue,
  keyAt,
  matchingClose,
  skipSpaces,
  type Declaration,
  type ScannedFile,
  type Span,
} from './infra-check';

export type PrimitiveKind = 'string' | 'int' | 'bool' | 'object' | 'array';

export interface ObjectEntryValue {
  readonly key: string;
  /** The key is `'${...}'`: only a dictionary can take it. */
  readonly computedKey: boolean;
  readonly offset: number;
  readonly value: BicepValue;
}

export type BicepValue =
  | { readonly kind: 'object'; readonly offset: number; readonly entries: readonly ObjectEntryValue[]; readonly unreadable: readonly Unreadable[] }
  | { readonly kind: 'array'; readonly offset: number; readonly items: readonly BicepValue[] }
  | { readonly kind: 'string'; readonly offset: number; readonly value: string; readonly interpolated: boolean }
  | { readonly kind: 'int'; readonly offset: number; readonly value: number }
  | { readonly kind: 'bool'; readonly offset: number; readonly value: boolean }
  | { readonly kind: 'null'; readonly offset: number }
  /** Either branch may be the value (`?:` and `??`). */
  | { readonly kind: 'alternatives'; readonly offset: number; readonly branches: readonly BicepValue[] }
  /** A `param`: its type and, with @allowed, every value it can take. */
  | { readonly kind: 'param'; readonly offset: number; readonly name: string; readonly type: string; readonly allowed?: readonly BicepValue[] }
  /** A value whose primitive type is known but not its content (a function result). */
  | { readonly kind: 'typed'; readonly offset: number; readonly type: PrimitiveKind; readonly text: string }
  | { readonly kind: 'opaque'; readonly offset: number; readonly text: string; readonly why?: string };

export interface Unreadable {
  readonly offset: number;
  readonly text: string;
}

/** What a value can refer to in its file. */
export interface ValueScope {
  readonly file: ScannedFile;
  readonly params: ReadonlyMap<string, ParamInfo>;
  readonly vars: ReadonlyMap<string, Declaration>;
}

export interface ParamInfo {
  readonly name: string;
  readonly type: string;
  readonly hasDefault: boolean;
  readonly offset: number;
  /** Spans of the @allowed([...]) items, when the parameter has that decorator. */
  readonly allowed?: readonly Span[];
}

const STRING_FUNCTIONS = new Set([
  'guid', 'uniqueString', 'toLower', 'toUpper', 'subscriptionResourceId', 'resourceId', 'tenantResourceId', 'extensionResourceId',
  'managementGroupResourceId', 'format', 'replace', 'substring', 'trim', 'base64', 'base64ToString', 'string', 'uri', 'uriComponent',
  'uriComponentToString', 'newGuid', 'utcNow', 'join', 'padLeft', 'dataUri', 'dataUriToString',
]);
const BOOL_FUNCTIONS = new Set(['empty', 'contains', 'equals', 'startsWith', 'endsWith', 'bool', 'and', 'or', 'not']);
const INT_FUNCTIONS = new Set(['int', 'length', 'indexOf', 'lastIndexOf', 'min', 'max']);

/** Params (with @allowed) and vars of a file. */
export function valueScope(file: ScannedFile): ValueScope {
  const params = new Map<string, ParamInfo>();
  for (const match of file.skeleton.matchAll(/^[ \t]*param\s+([A-Za-z_]\w*)\s+([\w.]+(?:\[\])?)[ \t]*(=)?/gm)) {
    params.set(match[1], { name: match[1], type: match[2], hasDefault: match[3] !== undefined, offset: match.index ?? 0 });
  }
  // @allowed([...]) applies to the next `param`, past any other decorators.
  for (const match of file.skeleton.matchAll(/@allowed\s*\(/g)) {
    const paren = (match.index ?? 0) + match[0].length - 1;
    const close = matchingClose(file, paren);
    const bracket = skipSpaces(file, paren + 1);
    if (file.skeleton[bracket] !== '[') continue;
    const items = arrayItemSpans(file, bracket);
    let i = skipSpaces(file, close + 1);
    while (file.skeleton[i] === '@') {
      const name = /^@[\w.]+/.exec(file.skeleton.slice(i, i + 100));
      i += name ? name[0].length : 1;
      i = skipSpaces(file, i, false);
      if (file.skeleton[i] === '(') i = matchingClose(file, i) + 1;
      i = skipSpaces(file, i);
    }
    const param = /^param\s+([A-Za-z_]\w*)/.exec(file.skeleton.slice(i, i + 200));
    const info = param ? params.get(param[1]) : undefined;
    if (info) params.set(info.name, { ...info, allowed: items });
  }
  const vars = new Map(declarations(file, 'var').map((d) => [d.symbol, d]));
  return { file, params, vars };
}

/** Spans of the items of the array literal whose '[' is at `open` (newline- or comma-separated). */
export function arrayItemSpans(file: ScannedFile, open: number): Span[] {
  const close = matchingClose(file, open);
  const spans: Span[] = [];
  let i = open + 1;
  while (i < close) {
    while (i < close && /[\s,]/.test(file.skeleton[i])) i++;
    if (i >= close) break;
    const end = endOfValue(file, i, close);
    spans.push({ start: i, end });
    i = end === i ? i + 1 : end;
  }
  return spans;
}

/** Index of the first depth-0 occurrence of one of `tokens` in [start, end), or -1. */
function findTopLevel(file: ScannedFile, start: number, end: number, test: (i: number) => number): { at: number; length: number } | undefined {
  let depth = 0;
  for (let i = start; i < end; i++) {
    const ch = file.skeleton[i];
    if (ch === '{' || ch === '[' || ch === '(') depth++;
    else if (ch === '}' || ch === ']' || ch === ')') depth--;
    else if (depth === 0) {
      const length = test(i);
      if (length > 0) return { at: i, length };
    }
  }
  return undefined;
}

function trimmed(file: ScannedFile, span: Span): Span {
  let start = span.start;
  let end = span.end;
  while (start < end && /\s/.test(file.skeleton[start])) start++;
  while (end > start && /\s/.test(file.skeleton[end - 1])) end--;
  return { start, end };
}

/** Parses the value in `span`; `depth` guards against var cycles. */
export function parseValue(scope: ValueScope, span: Span, depth = 0): BicepValue {
  const file = scope.file;
  const { start, end } = trimmed(file, span);
  const code = file.skeleton.slice(start, end);
  const text = file.text.slice(start, end);
  const ch = code[0];
  if (start >= end) return { kind: 'opaque', offset: start, text: '', why: 'no value' };

  // Lowest precedence first: ?: and ?? split the expression into alternatives.
  const question = findTopLevel(file, start, end, (i) => {
    const c = file.skeleton[i];
    if (c !== '?') return 0;
    const prev = file.skeleton[i - 1];
    const next = file.skeleton[i + 1];
    if (next === '?') return 2; // ??
    if (prev === '?' || next === '.' || next === '[') return 0; // second half of ??, or .? / [?
    return 1;
  });
  if (question) {
    if (question.length === 2) {
      return {
        kind: 'alternatives',
        offset: start,
        branches: [parseValue(scope, { start, end: question.at }, depth), parseValue(scope, { start: question.at + 2, end }, depth)],
      };
    }
    // The ':' that closes this '?', skipping nested ternaries.
    let nested = 0;
    const colon = findTopLevel(file, question.at + 1, end, (i) => {
      const c = file.skeleton[i];
      if (c === '?' && file.skeleton[i + 1] !== '?' && file.skeleton[i - 1] !== '?' && file.skeleton[i + 1] !== '.') nested++;
      if (c === ':' && file.skeleton[i + 1] !== ':' && file.skeleton[i - 1] !== ':') {
        if (nested === 0) return 1;
        nested--;
      }
      return 0;
    });
    if (colon) {
      return {
        kind: 'alternatives',
        offset: start,
        branches: [parseValue(scope, { start: question.at + 1, end: colon.at }, depth), parseValue(scope, { start: colon.at + 1, end }, depth)],
      };
    }
    return { kind: 'opaque', offset: start, text, why: 'a ? without its :' };
  }

  if (ch === '{' && matchingClose(file, start) === end - 1) return parseObject(scope, start, depth);
  if (ch === '[' && matchingClose(file, start) === end - 1) {
    if (/^\[\s*for\b/.test(code)) return { kind: 'opaque', offset: start, text, why: 'a for expression' };
    return { kind: 'array', offset: start, items: arrayItemSpans(file, start).map((s) => parseValue(scope, s, depth)) };
  }
  const literal = file.strings.get(start);
  if (literal && literal.end === end) return { kind: 'string', offset: start, value: literal.value, interpolated: literal.interpolated };
  if (/^-?\d+$/.test(code)) return { kind: 'int', offset: start, value: Number(code) };
  if (code === 'true' || code === 'false') return { kind: 'bool', offset: start, value: code === 'true' };
  if (code === 'null') return { kind: 'null', offset: start };
  if (/^!(?!=)/.test(code) || findTopLevel(file, start, end, (i) => (/^(==|!=|=~|!~|<=|>=|&&|\|\|)/.test(file.skeleton.slice(i, i + 2)) ? 2 : /^[<>]/.test(file.skeleton[i]) ? 1 : 0))) {
    return { kind: 'typed', offset: start, type: 'bool', text };
  }
  if (/^[A-Za-z_]\w*$/.test(code)) {
    const param = scope.params.get(code);
    if (param) {
      const allowed = param.allowed?.map((s) => parseValue(scope, s, depth + 1));
      return { kind: 'param', offset: start, name: code, type: param.type, allowed };
    }
    const variable = scope.vars.get(code);
    if (variable && depth < 8) return parseValue(scope, variable.value, depth + 1);
    return { kind: 'opaque', offset: start, text };
  }
  const call = /^([A-Za-z_]\w*)\s*\(/.exec(code);
  if (call && matchingClose(file, start + call[0].length - 1) === end - 1) {
    const name = call[1];
    if (STRING_FUNCTIONS.has(name)) return { kind: 'typed', offset: start, type: 'string', text };
    if (BOOL_FUNCTIONS.has(name)) return { kind: 'typed', offset: start, type: 'bool', text };
    if (INT_FUNCTIONS.has(name)) return { kind: 'typed', offset: start, type: 'int', text };
    if (name === 'union') {
      const args = callArguments(file, start + call[0].length - 1).map((s) => parseValue(scope, s, depth));
      if (args.every((a) => a.kind === 'object')) {
        return {
          kind: 'object',
          offset: start,
          entries: args.flatMap((a) => (a.kind === 'object' ? a.entries : [])),
          unreadable: args.flatMap((a) => (a.kind === 'object' ? a.unreadable : [])),
        };
      }
      return { kind: 'typed', offset: start, type: 'object', text };
    }
  }
  return { kind: 'opaque', offset: start, text };
}

function callArguments(file: ScannedFile, open: number): Span[] {
  const close = matchingClose(file, open);
  const spans: Span[] = [];
  let i = open + 1;
  while (i < close) {
    const end = endOfValue(file, i, close, true);
    if (file.skeleton.slice(i, end).trim() !== '') spans.push({ start: i, end });
    i = end + 1;
  }
  return spans;
}

/**
 * The object literal at `open`. Nested `resource` declarations (and their decorators) are
 * not entries: the reader reads them as resources. Any other statement it cannot read as
 * `key: value` (a spread `...x`, something malformed) is kept as unreadable.
 */
export function parseObject(scope: ValueScope, open: number, depth = 0): BicepValue & { kind: 'object' } {
  const file = scope.file;
  const close = matchingClose(file, open);
  const entries: ObjectEntryValue[] = [];
  const unreadable: Unreadable[] = [];
  let i = open + 1;
  while (i < close) {
    while (i < close && /[\s,]/.test(file.skeleton[i])) i++;
    if (i >= close) break;
    const rest = file.skeleton.slice(i, i + 300);
    if (/^(@[\w.]+\s*(\([^)]*\))?\s*)*resource\s+[A-Za-z_]\w*\s+'/.test(rest)) {
      // A nested resource: skip to the end of its body.
      const bodyOpen = file.skeleton.indexOf('{', i);
      i = bodyOpen < 0 || bodyOpen > close ? close : matchingClose(file, bodyOpen) + 1;
      continue;
    }
    const read = keyAt(file, i);
    const colon = skipSpaces(file, read?.end ?? i, false);
    const valueEnd = (from: number): number => endOfValue(file, from, close);
    if (read && file.skeleton[colon] === ':') {
      const valueStart = skipSpaces(file, colon + 1, false);
      const end = valueEnd(valueStart);
      entries.push({ key: read.key, computedKey: read.computed, offset: i, value: parseValue(scope, { start: valueStart, end }, depth) });
      i = end === valueStart ? end + 1 : end;
    } else {
      const end = valueEnd(i);
      unreadable.push({ offset: i, text: file.text.slice(i, Math.max(end, i + 1)).trim().slice(0, 60) });
      i = end === i ? i + 1 : end;
    }
  }
  return { kind: 'object', offset: open, entries, unreadable };
}
