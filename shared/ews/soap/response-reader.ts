/**
 * Turns the hot path's responses (SyncFolderItems, GetItem) into the plain shapes of types.ts,
 * with exactly the values item-mapping.ts gives for ews-javascript-api's objects (the
 * equivalence test in test/ews compares both, field by field). Dates become ISO strings with
 * Date.parse: EWS writes xs:dateTime in UTC, so no time-zone library is needed.
 */
import { EwsProtocolError } from '../errors';
import { calendarItemType, datePart, definedOnly, meetingMessageType, recurrenceInfo } from '../calendar-fields';
import type { AttachmentInfo, EmailAddress, EwsCalendarItem, EwsItem, EwsItemKind, ItemChange, ItemChangeType, MeetingMessageInfo, OccurrenceInfo, RecurrenceInfo, SyncFolderItemsResult } from '../types';
import { child, childrenNamed, childText, path, type XmlElement } from './xml-reader';

/** The first response message of an answer, with its class and code. */
export interface ResponseMessage {
  readonly element: XmlElement;
  readonly responseClass: 'Success' | 'Warning' | 'Error';
  readonly code: string;
  readonly message: string;
  /** MessageXml values, e.g. BackOffMilliseconds. */
  readonly details: Readonly<Record<string, string>>;
}

/** The response messages of `<operation>Response`; EwsProtocolError when the envelope has another shape. */
export function responseMessages(envelope: XmlElement, operation: string): ResponseMessage[] {
  const messages = path(envelope, 'Body', `${operation}Response`, 'ResponseMessages');
  if (envelope.name !== 'Envelope' || !messages) throw new EwsProtocolError(`${operation}: the EWS response has no ${operation}Response`);
  return messages.children.map(readResponseMessage);
}

function readResponseMessage(element: XmlElement): ResponseMessage {
  const responseClass = element.attributes.ResponseClass;
  const code = childText(element, 'ResponseCode')?.trim() || (responseClass === 'Success' ? 'NoError' : 'ErrorInternalServerError');
  const details: Record<string, string> = {};
  for (const value of childrenNamed(child(element, 'MessageXml'), 'Value')) {
    if (value.attributes.Name !== undefined) details[value.attributes.Name] = value.text;
  }
  return {
    element,
    responseClass: responseClass === 'Warning' || responseClass === 'Error' ? responseClass : 'Success',
    code,
    message: childText(element, 'MessageText') ?? '',
    details,
  };
}

const ITEM_KINDS: Readonly<Record<string, EwsItemKind>> = {
  Message: 'message',
  MeetingMessage: 'meetingMessage',
  MeetingRequest: 'meetingMessage',
  MeetingResponse: 'meetingMessage',
  MeetingCancellation: 'meetingMessage',
  CalendarItem: 'calendarItem',
  Contact: 'contact',
  Task: 'task',
};

/** The item kind of an item element name (Message, CalendarItem, ...); other item types are 'item'. */
export function itemKindOf(elementName: string): EwsItemKind {
  return ITEM_KINDS[elementName] ?? 'item';
}

const CHANGE_TYPES: Readonly<Record<string, ItemChangeType>> = { Create: 'create', Update: 'update', Delete: 'delete', ReadFlagChange: 'readFlagChange' };

/**
 * The changes of a SyncFolderItems response message. Like ews-javascript-api, changes are grouped
 * by type in the order each type first appears (document order within a type), so both paths yield
 * the same records in the same order.
 */
export function readSyncFolderItems(message: ResponseMessage): SyncFolderItemsResult {
  const groups = new Map<ItemChangeType, ItemChange[]>();
  for (const element of child(message.element, 'Changes')?.children ?? []) {
    const type = CHANGE_TYPES[element.name];
    if (!type) continue;
    let group = groups.get(type);
    if (!group) groups.set(type, (group = []));
    group.push(readChange(type, element));
  }
  const syncState = childText(message.element, 'SyncState');
  if (syncState === undefined) throw new EwsProtocolError('SyncFolderItems: the response has no SyncState');
  return {
    syncState,
    includesLastItemInRange: isTrue(childText(message.element, 'IncludesLastItemInRange')),
    changes: [...groups.values()].flat(),
  };
}

function readChange(type: ItemChangeType, element: XmlElement): ItemChange {
  if (type === 'create' || type === 'update') {
    const item = element.children[0];
    const id = child(item, 'ItemId');
    if (!item || !id?.attributes.Id) throw new EwsProtocolError(`SyncFolderItems: a ${element.name} change has no item id`);
    return { type, itemId: id.attributes.Id, changeKey: id.attributes.ChangeKey || undefined, itemKind: itemKindOf(item.name), isRead: undefined };
  }
  const id = child(element, 'ItemId')?.attributes.Id;
  if (!id) throw new EwsProtocolError(`SyncFolderItems: a ${element.name} change has no item id`);
  return { type, itemId: id, changeKey: undefined, itemKind: undefined, isRead: type === 'readFlagChange' ? isTrue(childText(element, 'IsRead')) : undefined };
}

function isTrue(value: string | undefined): boolean {
  return value?.trim().toLowerCase() === 'true' || value?.trim() === '1';
}

function optionalBoolean(value: string | undefined): boolean | undefined {
  return value === undefined ? undefined : isTrue(value);
}

function optionalNumber(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}

/** xs:dateTime as an ISO string (UTC); a value without a zone is read as UTC, like a service without a time zone. */
const EWS_UTC_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

function isoDate(value: string | undefined): string | undefined {
  if (!value) return undefined;
  // How Exchange writes dates (UTC, whole seconds): the ISO form only gains milliseconds, once the value is known valid.
  if (EWS_UTC_DATE.test(value)) {
    const time = Date.parse(value);
    if (Number.isFinite(time) && time > 0 && new Date(time).getUTCDate() === Number(value.slice(8, 10))) return `${value.slice(0, 19)}.000Z`;
  }
  const trimmed = value.trim();
  const time = Date.parse(/(Z|[+-]\d\d:\d\d)$/i.test(trimmed) || !trimmed.includes('T') ? trimmed : `${trimmed}Z`);
  return Number.isFinite(time) && time > 0 ? new Date(time).toISOString() : undefined;
}

/** An item's properties by element name (the first of each), so each field is one lookup, not a scan. */
type Fields = Readonly<Record<string, XmlElement | undefined>>;

function fieldsOf(item: XmlElement): Fields {
  const fields: Record<string, XmlElement> = Object.create(null) as Record<string, XmlElement>;
  for (const property of item.children) fields[property.name] ??= property;
  return fields;
}

function field(fields: Fields, name: string): XmlElement | undefined {
  return fields[name];
}

function fieldText(fields: Fields, name: string): string | undefined {
  return fields[name]?.text;
}

function mailbox(element: XmlElement | undefined): EmailAddress | undefined {
  if (!element) return undefined;
  const address = childText(element, 'EmailAddress') || undefined;
  const name = childText(element, 'Name') || undefined;
  return address === undefined && name === undefined ? undefined : { name, address };
}

/** A single-address element (From, Sender, Organizer) holding one Mailbox. */
function singleAddress(item: Fields, name: string): EmailAddress | undefined {
  return mailbox(child(field(item, name), 'Mailbox'));
}

function addressList(item: Fields, name: string): EmailAddress[] {
  return childrenNamed(field(item, name), 'Mailbox').flatMap((entry) => mailbox(entry) ?? []);
}

function attendeeList(item: Fields, name: string): EmailAddress[] {
  return childrenNamed(field(item, name), 'Attendee').flatMap((entry) => mailbox(child(entry, 'Mailbox')) ?? []);
}

function importance(value: string | undefined): 'low' | 'normal' | 'high' | undefined {
  if (value === 'Low') return 'low';
  if (value === 'High') return 'high';
  if (value === 'Normal') return 'normal';
  return undefined;
}

function attachment(element: XmlElement): AttachmentInfo {
  return {
    id: child(element, 'AttachmentId')?.attributes.Id || undefined,
    kind: element.name === 'FileAttachment' ? 'file' : 'item',
    name: childText(element, 'Name') || undefined,
    contentType: childText(element, 'ContentType') || undefined,
    sizeInBytes: optionalNumber(childText(element, 'Size')) || undefined,
    isInline: optionalBoolean(childText(element, 'IsInline')) ?? false,
    contentId: childText(element, 'ContentId') || undefined,
  };
}

function baseProperties(item: Fields) {
  const id = field(item, 'ItemId');
  const body = field(item, 'Body');
  const bodyIsHtml = body?.attributes.BodyType === 'HTML';
  const categories = field(item, 'Categories');
  return {
    id: id?.attributes.Id ?? '',
    changeKey: id?.attributes.ChangeKey || undefined,
    parentFolderId: field(item, 'ParentFolderId')?.attributes.Id,
    itemClass: fieldText(item, 'ItemClass') || undefined,
    // ews-javascript-api reads an empty element as null: an empty subject is "no subject" on both paths.
    subject: fieldText(item, 'Subject') || undefined,
    categories: categories ? childrenNamed(categories, 'String').map((entry) => entry.text) : [],
    importance: importance(fieldText(item, 'Importance')),
    createdAt: isoDate(fieldText(item, 'DateTimeCreated')),
    lastModifiedAt: isoDate(fieldText(item, 'LastModifiedTime')),
    bodyText: body && !bodyIsHtml ? body.text : undefined,
    bodyHtml: body && bodyIsHtml ? body.text : undefined,
    hasAttachments: optionalBoolean(fieldText(item, 'HasAttachments')) ?? false,
    attachments: (field(item, 'Attachments')?.children ?? []).filter((entry) => entry.name === 'FileAttachment' || entry.name === 'ItemAttachment').map(attachment),
  };
}

function occurrence(element: XmlElement | undefined): OccurrenceInfo | undefined {
  const id = child(element, 'ItemId')?.attributes.Id;
  if (!element || !id) return undefined;
  return { itemId: id, start: isoDate(childText(element, 'Start')), end: isoDate(childText(element, 'End')), originalStart: isoDate(childText(element, 'OriginalStart')) };
}

const RANGE_ELEMENTS = new Set(['NoEndRecurrence', 'EndDateRecurrence', 'NumberedRecurrence']);

function recurrence(element: XmlElement | undefined): RecurrenceInfo | undefined {
  if (!element) return undefined;
  const pattern = element.children.find((entry) => !RANGE_ELEMENTS.has(entry.name));
  const range = element.children.find((entry) => RANGE_ELEMENTS.has(entry.name));
  const days = childText(pattern, 'DaysOfWeek');
  return recurrenceInfo({
    patternElement: pattern?.name,
    interval: optionalNumber(childText(pattern, 'Interval')),
    daysOfWeek: days ? days.trim().split(/\s+/) : [],
    dayOfMonth: optionalNumber(childText(pattern, 'DayOfMonth')),
    month: childText(pattern, 'Month')?.trim(),
    dayOfWeekIndex: childText(pattern, 'DayOfWeekIndex')?.trim(),
    firstDayOfWeek: childText(pattern, 'FirstDayOfWeek')?.trim(),
    rangeElement: range?.name,
    startDate: datePart(childText(range, 'StartDate')),
    endDate: datePart(childText(range, 'EndDate')),
    numberOfOccurrences: optionalNumber(childText(range, 'NumberOfOccurrences')),
  });
}

/** The series facts of a calendar item; only what the server said (single items carry just their type). */
function seriesFields(item: Fields): Partial<EwsCalendarItem> {
  const modified = childrenNamed(field(item, 'ModifiedOccurrences'), 'Occurrence').flatMap((entry) => occurrence(entry) ?? []);
  const deleted = childrenNamed(field(item, 'DeletedOccurrences'), 'DeletedOccurrence').flatMap((entry) => {
    const originalStart = isoDate(childText(entry, 'Start'));
    return originalStart ? [{ originalStart }] : [];
  });
  return definedOnly({
    calendarItemType: calendarItemType(fieldText(item, 'CalendarItemType')?.trim()),
    originalStart: isoDate(fieldText(item, 'OriginalStart')),
    recurrence: recurrence(field(item, 'Recurrence')),
    firstOccurrence: occurrence(field(item, 'FirstOccurrence')),
    lastOccurrence: occurrence(field(item, 'LastOccurrence')),
    modifiedOccurrences: modified.length > 0 ? modified : undefined,
    deletedOccurrences: deleted.length > 0 ? deleted : undefined,
  });
}

const MEETING_ELEMENTS = new Set(['MeetingRequest', 'MeetingResponse', 'MeetingCancellation', 'MeetingMessage']);

function meetingFields(elementName: string, item: Fields): MeetingMessageInfo | undefined {
  if (!MEETING_ELEMENTS.has(elementName)) return undefined;
  const responseType = fieldText(item, 'ResponseType')?.trim() || undefined;
  return {
    messageType: meetingMessageType(elementName as 'MeetingRequest', responseType),
    responseType,
    associatedCalendarItemId: field(item, 'AssociatedCalendarItemId')?.attributes.Id || undefined,
    start: isoDate(fieldText(item, 'Start')),
    end: isoDate(fieldText(item, 'End')),
    location: fieldText(item, 'Location') || undefined,
  };
}

/** One item element of a GetItem answer as a plain EwsItem. */
export function readItem(element: XmlElement): EwsItem {
  const kind = itemKindOf(element.name);
  const item = fieldsOf(element);
  if (kind === 'message' || kind === 'meetingMessage') {
    // Plain mail (the hot path's bulk) skips the meeting reader entirely.
    const meeting = kind === 'meetingMessage' ? meetingFields(element.name, item) : undefined;
    return {
      kind,
      ...baseProperties(item),
      from: singleAddress(item, 'From'),
      sender: singleAddress(item, 'Sender'),
      to: addressList(item, 'ToRecipients'),
      cc: addressList(item, 'CcRecipients'),
      bcc: addressList(item, 'BccRecipients'),
      receivedAt: isoDate(fieldText(item, 'DateTimeReceived')),
      sentAt: isoDate(fieldText(item, 'DateTimeSent')),
      isRead: optionalBoolean(fieldText(item, 'IsRead')),
      internetMessageId: fieldText(item, 'InternetMessageId') || undefined,
      conversationId: field(item, 'ConversationId')?.attributes.Id,
      ...(meeting ? { meeting } : {}),
    };
  }
  if (kind === 'calendarItem') {
    return {
      kind,
      ...baseProperties(item),
      start: isoDate(fieldText(item, 'Start')),
      end: isoDate(fieldText(item, 'End')),
      isAllDay: optionalBoolean(fieldText(item, 'IsAllDayEvent')),
      location: fieldText(item, 'Location') || undefined,
      organizer: singleAddress(item, 'Organizer'),
      requiredAttendees: attendeeList(item, 'RequiredAttendees'),
      optionalAttendees: attendeeList(item, 'OptionalAttendees'),
      ...seriesFields(item),
    };
  }
  if (kind === 'contact') {
    return {
      kind,
      ...baseProperties(item),
      displayName: fieldText(item, 'DisplayName') || undefined,
      givenName: fieldText(item, 'GivenName') || undefined,
      surname: fieldText(item, 'Surname') || undefined,
      companyName: fieldText(item, 'CompanyName') || undefined,
      jobTitle: fieldText(item, 'JobTitle') || undefined,
      emailAddresses: childrenNamed(field(item, 'EmailAddresses'), 'Entry').map((entry) => ({ key: entry.attributes.Key ?? '', address: entry.text || undefined, name: entry.attributes.Name || undefined })),
      phoneNumbers: childrenNamed(field(item, 'PhoneNumbers'), 'Entry')
        .filter((entry) => entry.text !== '')
        .map((entry) => ({ key: entry.attributes.Key ?? '', number: entry.text })),
    };
  }
  if (kind === 'task') {
    return {
      kind,
      ...baseProperties(item),
      dueDate: isoDate(fieldText(item, 'DueDate')),
      startDate: isoDate(fieldText(item, 'StartDate')),
      completedAt: isoDate(fieldText(item, 'CompleteDate')),
      status: fieldText(item, 'Status') || undefined,
      percentComplete: optionalNumber(fieldText(item, 'PercentComplete')),
    };
  }
  return { kind: 'item', ...baseProperties(item) };
}
