/**
 * FindItem: restrictions (comparisons, Exists, Contains, And/Or/Not), SortOrder, paging
 * (IndexedPageItemView, FractionalPageItemView, CalendarView) with TotalItemsInView and
 * IncludesLastItemInRange.
 */
import { itemXml } from '../item-xml';
import type { Item } from '../model';
import { folderIdElements, resolveFolder } from '../request-context';
import { EwsError } from '../soap';
import { attr, child, children, esc, parseBoolean, type Element } from '../xml';
import { readItemShape, responseMessages, type Operation } from './common';

type Value = string | number | boolean | undefined;
type Predicate = (item: Item) => boolean;

/** Property getters usable in restrictions and sort orders. Dates compare as epoch ms. */
const GETTERS: Record<string, (item: Item) => Value> = {
  'item:DateTimeReceived': (i) => i.dateTimeReceived.getTime(),
  'item:DateTimeCreated': (i) => i.dateTimeCreated.getTime(),
  'item:DateTimeSent': (i) => (i.kind === 'message' && i.dateTimeSent ? i.dateTimeSent : i.dateTimeCreated).getTime(),
  'item:LastModifiedTime': (i) => i.lastModifiedTime.getTime(),
  'item:Subject': (i) => i.subject,
  'item:ItemClass': (i) => i.itemClass,
  'item:Importance': (i) => i.importance,
  'item:Sensitivity': (i) => i.sensitivity,
  'item:HasAttachments': (i) => i.attachments.some((a) => !a.isInline),
  'item:Categories': (i) => i.categories.join('\u0000'),
  'item:Body': (i) => i.body.content,
  'item:Size': (i) => i.body.content.length + i.subject.length,
  'message:IsRead': (i) => (i.kind === 'message' ? i.isRead : undefined),
  'message:From': (i) => (i.kind === 'message' ? i.from?.address.toLowerCase() : undefined),
  'message:Sender': (i) => (i.kind === 'message' ? i.sender?.address.toLowerCase() : undefined),
  'message:InternetMessageId': (i) => i.internetMessageId,
  'message:IsDraft': (i) => (i.kind === 'message' ? i.isDraft : undefined),
  'calendar:Start': (i) => (i.kind === 'calendarItem' ? i.start.getTime() : undefined),
  'calendar:End': (i) => (i.kind === 'calendarItem' ? i.end.getTime() : undefined),
  'calendar:Location': (i) => (i.kind === 'calendarItem' ? i.location : undefined),
  'contacts:DisplayName': (i) => (i.kind === 'contact' ? i.displayName : undefined),
  'contacts:GivenName': (i) => (i.kind === 'contact' ? i.givenName : undefined),
  'contacts:Surname': (i) => (i.kind === 'contact' ? i.surname : undefined),
  'contacts:CompanyName': (i) => (i.kind === 'contact' ? i.companyName : undefined),
  'task:Status': (i) => (i.kind === 'task' ? i.status : undefined),
  'task:DueDate': (i) => (i.kind === 'task' ? i.dueDate?.getTime() : undefined),
};

const DATE_FIELDS = new Set(['item:DateTimeReceived', 'item:DateTimeCreated', 'item:DateTimeSent', 'item:LastModifiedTime', 'calendar:Start', 'calendar:End', 'task:DueDate']);
const BOOLEAN_FIELDS = new Set(['message:IsRead', 'item:HasAttachments', 'message:IsDraft']);
const NUMBER_FIELDS = new Set(['item:Size']);

function pathOf(element: Element): { uri: string; getter: (item: Item) => Value } {
  const path = children(element).find((e) => e.localName === 'FieldURI' || e.localName === 'IndexedFieldURI' || e.localName === 'ExtendedFieldURI');
  const uri = path ? (attr(path, 'FieldURI') ?? '') : '';
  const getter = GETTERS[uri];
  if (!getter) throw new EwsError('ErrorUnsupportedPathForQuery', undefined, `<t:FieldURI FieldURI="${esc(uri)}"/>`);
  return { uri, getter };
}

function constant(uri: string, raw: string): Value {
  if (DATE_FIELDS.has(uri)) {
    const time = new Date(raw).getTime();
    if (Number.isNaN(time)) throw new EwsError('ErrorInvalidValueForProperty', `'${raw}' is not a valid date.`);
    return time;
  }
  if (BOOLEAN_FIELDS.has(uri)) return parseBoolean(raw.trim().toLowerCase());
  if (NUMBER_FIELDS.has(uri)) return Number(raw);
  return raw;
}

function compare(a: Value, b: Value): number | undefined {
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

export function readRestriction(element: Element): Predicate {
  const name = element.localName ?? '';
  const comparison = COMPARISONS[name];
  if (comparison) {
    const { uri, getter } = pathOf(element);
    const operand = child(element, 'FieldURIOrConstant');
    const constantElement = operand ? child(operand, 'Constant') : undefined;
    if (operand && !constantElement) {
      const other = pathOf(operand).getter;
      return (item) => {
        const c = compare(getter(item), other(item));
        return c !== undefined && comparison(c);
      };
    }
    const value = constant(uri, attr(constantElement, 'Value') ?? '');
    // IsNotEqualTo matches items without the property, like Exchange.
    return (item) => {
      const c = compare(getter(item), value);
      return c === undefined ? name === 'IsNotEqualTo' : comparison(c);
    };
  }
  switch (name) {
    case 'And':
    case 'Or': {
      const parts = children(element).map(readRestriction);
      return name === 'And' ? (item) => parts.every((p) => p(item)) : (item) => parts.some((p) => p(item));
    }
    case 'Not': {
      const inner = children(element)[0];
      if (!inner) throw new EwsError('ErrorInvalidRestriction');
      const predicate = readRestriction(inner);
      return (item) => !predicate(item);
    }
    case 'Exists': {
      const { getter } = pathOf(element);
      return (item) => {
        const v = getter(item);
        return v !== undefined && v !== '';
      };
    }
    case 'Contains': {
      const { getter } = pathOf(element);
      const needle = attr(child(element, 'Constant'), 'Value') ?? '';
      const mode = attr(element, 'ContainmentMode') ?? 'FullString';
      const ignoreCase = (attr(element, 'ContainmentComparison') ?? 'Exact').includes('IgnoreCase');
      const norm = (s: string): string => (ignoreCase ? s.toLowerCase() : s);
      const n = norm(needle);
      return (item) => {
        const v = getter(item);
        if (typeof v !== 'string') return false;
        const values = v.split('\u0000').map(norm);
        return values.some((s) =>
          mode === 'Substring' ? s.includes(n) : mode === 'Prefixed' ? s.startsWith(n) : mode === 'PrefixOnWords' ? s.split(/\s+/).some((w) => w.startsWith(n)) : s === n,
        );
      };
    }
    default:
      throw new EwsError('ErrorInvalidRestriction', `The simulator does not support ${name} restrictions.`);
  }
}

function readSort(sortOrder: Element | undefined): (a: Item, b: Item) => number {
  const orders = sortOrder ? children(sortOrder, 'FieldOrder') : [];
  if (orders.length === 0) {
    // Exchange's default view order: newest first.
    return (a, b) => b.dateTimeReceived.getTime() - a.dateTimeReceived.getTime();
  }
  const keys = orders.map((order) => ({ getter: pathOf(order).getter, descending: attr(order, 'Order') === 'Descending' }));
  return (a, b) => {
    for (const key of keys) {
      const c = compare(key.getter(a), key.getter(b)) ?? 0;
      if (c !== 0) return key.descending ? -c : c;
    }
    return 0;
  };
}

export const findItem: Operation = (ctx, request) => {
  const shape = readItemShape(child(request, 'ItemShape'), 'find');
  const traversal = attr(request, 'Traversal') ?? 'Shallow';
  const restrictionElement = child(request, 'Restriction');
  const restriction = restrictionElement && children(restrictionElement)[0] ? readRestriction(children(restrictionElement)[0]!) : undefined;
  const sort = readSort(child(request, 'SortOrder'));
  const indexed = child(request, 'IndexedPageItemView');
  const fractional = child(request, 'FractionalPageItemView');
  const calendar = child(request, 'CalendarView');
  const parents = folderIdElements(child(request, 'ParentFolderIds'));
  return responseMessages('FindItemResponseMessage', parents, (id) => {
    const folder = resolveFolder(ctx, id);
    if (traversal === 'Associated') return rootFolder([], 0, 0, true, shape, ctx);
    let items = ctx.store.folderItems(folder);
    if (calendar) {
      const start = new Date(attr(calendar, 'StartDate') ?? '').getTime();
      const end = new Date(attr(calendar, 'EndDate') ?? '').getTime();
      if (Number.isNaN(start) || Number.isNaN(end) || end < start) throw new EwsError('ErrorCalendarEndDateIsEarlierThanStartDate');
      items = items
        .filter((i) => i.kind === 'calendarItem' && i.start.getTime() < end && i.end.getTime() > start)
        .sort((a, b) => (a as { start: Date }).start.getTime() - (b as { start: Date }).start.getTime());
      const max = Number(attr(calendar, 'MaxEntriesReturned') ?? Number.POSITIVE_INFINITY);
      if (items.length > max) throw new EwsError('ErrorCalendarExpansionMaxEntriesReturned', 'The maximum number of calendar entries was exceeded.');
      return rootFolder(items, items.length, items.length, true, shape, ctx);
    }
    if (restriction) items = items.filter(restriction);
    items = items.slice().sort(sort);
    const total = items.length;
    let offset = 0;
    let max = total;
    if (indexed) {
      max = Number(attr(indexed, 'MaxEntriesReturned') ?? total);
      const requested = Number(attr(indexed, 'Offset') ?? '0');
      if (!Number.isInteger(requested) || requested < 0 || !Number.isInteger(max) || max < 1) throw new EwsError('ErrorInvalidIndexedPagingParameters');
      offset = attr(indexed, 'BasePoint') === 'End' ? Math.max(0, total - requested - max) : requested;
    } else if (fractional) {
      const numerator = Number(attr(fractional, 'Numerator') ?? '0');
      const denominator = Number(attr(fractional, 'Denominator') ?? '1');
      if (!(denominator > 0) || numerator < 0 || numerator > denominator) throw new EwsError('ErrorInvalidIndexedPagingParameters');
      offset = Math.floor((numerator / denominator) * total);
      max = Number(attr(fractional, 'MaxEntriesReturned') ?? total);
    }
    const page = items.slice(offset, offset + max);
    const next = offset + page.length;
    return rootFolder(page, next, total, next >= total, shape, ctx);
  });
};

function rootFolder(items: Item[], nextOffset: number, total: number, last: boolean, shape: ReturnType<typeof readItemShape>, ctx: Parameters<Operation>[0]): string {
  let out = `<m:RootFolder IndexedPagingOffset="${nextOffset}" TotalItemsInView="${total}" IncludesLastItemInRange="${last}"><t:Items>`;
  for (const item of items) out += itemXml(item, shape, ctx.store);
  return out + '</t:Items></m:RootFolder>';
}
