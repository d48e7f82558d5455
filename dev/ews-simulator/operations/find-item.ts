/**
 * FindItem: restrictions (comparisons, Exists, Contains, And/Or/Not; see restrictions.ts) on
 * FieldURIs and MAPI tags, SortOrder, paging
 * (IndexedPageItemView, FractionalPageItemView, CalendarView) with TotalItemsInView and
 * IncludesLastItemInRange.
 */
import { itemXml } from '../item-xml';
import { comparable, constantFor, itemProperty, itemSize, pathXml, readExtendedPath } from '../extended-properties';
import type { CalendarItem, EwsStore, Item } from '../model';
import { expandSeries, occurrenceView } from '../recurrence';
import { folderIdElements, resolveFolder } from '../request-context';
import { EwsError, messageXmlValues } from '../soap';
import { attr, child, parseBoolean } from '../xml';
import { readItemShape, responseMessages, type Operation } from './common';
import { optionalRestriction, readSortOrder, unsupportedPath, type PathResolver, type Value } from './restrictions';

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
  'item:Size': (i) => itemSize(i),
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

function fieldConstant(uri: string, raw: string): Value {
  if (DATE_FIELDS.has(uri)) {
    const time = new Date(raw).getTime();
    if (Number.isNaN(time)) throw new EwsError('ErrorInvalidValueForProperty', `'${raw}' is not a valid date.`);
    return time;
  }
  if (BOOLEAN_FIELDS.has(uri)) return parseBoolean(raw.trim().toLowerCase());
  if (NUMBER_FIELDS.has(uri)) return Number(raw);
  return raw;
}

/** Item properties by FieldURI or by MAPI tag (ExtendedFieldURI). */
function itemPaths(store: EwsStore): PathResolver<Item> {
  return (path, purpose) => {
    if (path.localName === 'ExtendedFieldURI') {
      // Exchange restricts and sorts on any MAPI property; an item without it simply lacks the value.
      const extended = readExtendedPath(path);
      return { get: (item) => comparable(itemProperty(item, extended, store), extended.type), constant: (raw) => constantFor(extended.type, raw) };
    }
    const uri = attr(path, 'FieldURI') ?? '';
    const getter = GETTERS[uri];
    if (!getter) throw unsupportedPath(pathXml(path), purpose);
    return { get: getter, constant: (raw) => fieldConstant(uri, raw) };
  };
}

/**
 * A CalendarView's items: single items overlapping the window, and for each recurring master the
 * occurrences and exceptions overlapping it (the master itself is never in a CalendarView).
 */
function expandForView(items: readonly Item[], start: number, end: number): CalendarItem[] {
  const result: CalendarItem[] = [];
  for (const item of items) {
    if (item.kind !== 'calendarItem') continue;
    if (!item.recurrence) {
      if (item.start.getTime() < end && item.end.getTime() > start) result.push(item);
      continue;
    }
    for (const occurrence of expandSeries(item, new Date(end))) {
      if (occurrence.start.getTime() < end && occurrence.end.getTime() > start) result.push(occurrenceView(item, occurrence));
    }
  }
  return result;
}

/** Exchange refuses calendar views longer than two years (ErrorCalendarViewRangeTooBig). */
const MAX_CALENDAR_VIEW_RANGE_IN_MS = 2 * 366 * 86_400_000;
/** Exchange's default EWSFindCountLimit throttling policy value. */
const FIND_COUNT_LIMIT = 1000;

/** Exchange's default view order: newest first. */
const NEWEST_FIRST = (a: Item, b: Item): number => b.dateTimeReceived.getTime() - a.dateTimeReceived.getTime();

export const findItem: Operation = (ctx, request) => {
  const shape = readItemShape(child(request, 'ItemShape'), 'find');
  const traversal = attr(request, 'Traversal') ?? 'Shallow';
  const paths = itemPaths(ctx.store);
  const restriction = optionalRestriction(child(request, 'Restriction'), paths);
  const sort = readSortOrder(child(request, 'SortOrder'), paths) ?? NEWEST_FIRST;
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
      if (end - start > MAX_CALENDAR_VIEW_RANGE_IN_MS) throw new EwsError('ErrorCalendarViewRangeTooBig', 'The specified view range exceeds the maximum range of two years.');
      const expanded = expandForView(items, start, end).sort((a, b) => a.start.getTime() - b.start.getTime());
      // EWSFindCountLimit: a view larger than the policy allows is refused, not cut.
      if (expanded.length > FIND_COUNT_LIMIT) throw new EwsError('ErrorExceededFindCountLimit', 'You have exceeded the maximum number of objects that can be returned for the find operation. Use paging to reduce the result size and try your request again.', messageXmlValues({ PolicyLimit: FIND_COUNT_LIMIT }));
      // MaxEntriesReturned cuts the view: the first entries, with IncludesLastItemInRange false.
      const max = Number(attr(calendar, 'MaxEntriesReturned') ?? Number.POSITIVE_INFINITY);
      const page = expanded.slice(0, max);
      return rootFolder(page, page.length, expanded.length, page.length === expanded.length, shape, ctx);
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
