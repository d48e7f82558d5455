/**
 * Restrictions (IsEqualTo ... IsLessThanOrEqualTo, Exists, Contains, And/Or/Not) and sort orders
 * over any kind of store object. FindItem resolves paths to item properties, FindFolder to folder
 * properties; the evaluation rules are Exchange's for both.
 */
import { EwsError } from '../soap';
import { attr, child, children, type Element } from '../xml';

export type Value = string | number | boolean | undefined;

/** A property a restriction or sort can read: its getter and how to read a constant for it. */
export interface QueryProperty<T> {
  readonly get: (target: T) => Value;
  readonly constant: (raw: string) => Value;
}

/**
 * Finds the property a path element (FieldURI, IndexedFieldURI, ExtendedFieldURI) names; throws
 * ErrorUnsupportedPathForQuery (or ...ForSortGroup) echoing the path when it cannot.
 */
export type PathResolver<T> = (path: Element, purpose: 'query' | 'sort') => QueryProperty<T>;

function pathElement(holder: Element): Element {
  const path = children(holder).find((e) => e.localName === 'FieldURI' || e.localName === 'IndexedFieldURI' || e.localName === 'ExtendedFieldURI');
  if (!path) throw new EwsError('ErrorInvalidRestriction', 'The restriction names no property path.');
  return path;
}

export function compareValues(a: Value, b: Value): number | undefined {
  if (a === undefined || b === undefined) return undefined;
  if (typeof a === 'string' && typeof b === 'string') return a.localeCompare(b, 'en', { sensitivity: 'accent' });
  if (typeof a === 'boolean' || typeof b === 'boolean') return a === b ? 0 : Number(a) - Number(b);
  return (a as number) - (b as number);
}

const COMPARISONS: Record<string, (c: number) => boolean> = {
  IsEqualTo: (c) => c === 0,
  IsNotEqualTo: (c) => c !== 0,
  IsGreaterThan: (c) => c > 0,
  IsGreaterThanOrEqualTo: (c) => c >= 0,
  IsLessThan: (c) => c < 0,
  IsLessThanOrEqualTo: (c) => c <= 0,
};

function containsPredicate<T>(element: Element, property: QueryProperty<T>): (target: T) => boolean {
  const needle = attr(child(element, 'Constant'), 'Value') ?? '';
  const mode = attr(element, 'ContainmentMode') ?? 'FullString';
  const ignoreCase = (attr(element, 'ContainmentComparison') ?? 'Exact').includes('IgnoreCase');
  const norm = (s: string): string => (ignoreCase ? s.toLowerCase() : s);
  const n = norm(needle);
  return (target) => {
    const v = property.get(target);
    if (typeof v !== 'string') return false;
    // Multi-valued string properties (categories) are joined with NUL by their getters.
    return v
      .split('\u0000')
      .map(norm)
      .some((s) => (mode === 'Substring' ? s.includes(n) : mode === 'Prefixed' ? s.startsWith(n) : mode === 'PrefixOnWords' ? s.split(/\s+/).some((w) => w.startsWith(n)) : s === n));
  };
}

/** Compiles a restriction element into a predicate. */
export function readRestriction<T>(element: Element, resolve: PathResolver<T>): (target: T) => boolean {
  const name = element.localName ?? '';
  const comparison = COMPARISONS[name];
  if (comparison) {
    const property = resolve(pathElement(element), 'query');
    const operand = child(element, 'FieldURIOrConstant');
    const constantElement = operand ? child(operand, 'Constant') : undefined;
    if (operand && !constantElement) {
      const other = resolve(pathElement(operand), 'query');
      return (target) => {
        const c = compareValues(property.get(target), other.get(target));
        return c !== undefined && comparison(c);
      };
    }
    const value = property.constant(attr(constantElement, 'Value') ?? '');
    // IsNotEqualTo matches objects without the property, like Exchange.
    return (target) => {
      const c = compareValues(property.get(target), value);
      return c === undefined ? name === 'IsNotEqualTo' : comparison(c);
    };
  }
  switch (name) {
    case 'And':
    case 'Or': {
      const parts = children(element).map((e) => readRestriction(e, resolve));
      return name === 'And' ? (target) => parts.every((p) => p(target)) : (target) => parts.some((p) => p(target));
    }
    case 'Not': {
      const inner = children(element)[0];
      if (!inner) throw new EwsError('ErrorInvalidRestriction');
      const predicate = readRestriction(inner, resolve);
      return (target) => !predicate(target);
    }
    case 'Exists': {
      const property = resolve(pathElement(element), 'query');
      return (target) => {
        const v = property.get(target);
        return v !== undefined && v !== '';
      };
    }
    case 'Contains':
      return containsPredicate(element, resolve(pathElement(element), 'query'));
    default:
      throw new EwsError('ErrorInvalidRestriction', `The simulator does not support ${name} restrictions.`);
  }
}

/** The first child of a `<m:Restriction>` compiled, or undefined when there is none. */
export function optionalRestriction<T>(holder: Element | undefined, resolve: PathResolver<T>): ((target: T) => boolean) | undefined {
  const first = holder ? children(holder)[0] : undefined;
  return first ? readRestriction(first, resolve) : undefined;
}

/** A comparator for `<m:SortOrder>`; undefined when there are no FieldOrder elements. */
export function readSortOrder<T>(sortOrder: Element | undefined, resolve: PathResolver<T>): ((a: T, b: T) => number) | undefined {
  const orders = sortOrder ? children(sortOrder, 'FieldOrder') : [];
  if (orders.length === 0) return undefined;
  const keys = orders.map((order) => ({ get: resolve(pathElement(order), 'sort').get, descending: attr(order, 'Order') === 'Descending' }));
  return (a, b) => {
    for (const key of keys) {
      const c = compareValues(key.get(a), key.get(b)) ?? 0;
      if (c !== 0) return key.descending ? -c : c;
    }
    return 0;
  };
}

/** The error for a path the simulator cannot query or sort by, echoing the path as Exchange does. */
export function unsupportedPath(pathXml: string, purpose: 'query' | 'sort'): EwsError {
  return new EwsError(purpose === 'sort' ? 'ErrorUnsupportedPathForSortGroup' : 'ErrorUnsupportedPathForQuery', undefined, pathXml);
}
