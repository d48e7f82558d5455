/**
 * Graph entities (typed with @microsoft/microsoft-graph-types) as the normalised items a change
 * record carries: the same shapes the EWS layer produces (shared/ews/types.ts), so a consumer
 * cannot tell which protocol read the item. Field by field:
 *   message.toRecipients → to, receivedDateTime → receivedAt, body (text) → bodyText, ...
 * Values that are not strings where Graph documents strings are dropped, not trusted.
 */
import type * as Graph from '@microsoft/microsoft-graph-types';
import { definedOnly } from '../ews/calendar-fields';
import type { AttachmentInfo, CalendarItemType, EmailAddress, EwsCalendarItem, EwsContact, EwsMessage, EwsTask, MeetingMessageInfo, MeetingMessageType, RecurrenceInfo } from '../ews/types';

export type GraphItemKind = 'message' | 'event' | 'contact' | 'todoTask';

/** The exact properties each kind's change record needs (sent as $select). */
export const SELECT: Readonly<Record<GraphItemKind, readonly string[]>> = {
  message: [
    'id', 'changeKey', 'parentFolderId', 'subject', 'categories', 'importance', 'createdDateTime', 'lastModifiedDateTime', 'body', 'hasAttachments',
    'from', 'sender', 'toRecipients', 'ccRecipients', 'bccRecipients', 'receivedDateTime', 'sentDateTime', 'isRead', 'internetMessageId', 'conversationId',
  ],
  event: [
    'id', 'changeKey', 'subject', 'categories', 'importance', 'createdDateTime', 'lastModifiedDateTime', 'body', 'hasAttachments',
    'start', 'end', 'isAllDay', 'location', 'organizer', 'attendees', 'type', 'seriesMasterId',
  ],
  contact: [
    'id', 'changeKey', 'parentFolderId', 'categories', 'createdDateTime', 'lastModifiedDateTime', 'personalNotes',
    'displayName', 'givenName', 'surname', 'companyName', 'jobTitle', 'emailAddresses', 'businessPhones', 'homePhones', 'mobilePhone',
  ],
  todoTask: ['id', 'title', 'body', 'importance', 'status', 'categories', 'createdDateTime', 'lastModifiedDateTime', 'dueDateTime', 'startDateTime', 'completedDateTime', 'hasAttachments'],
};

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function bool(value: unknown): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}

/** Graph's DateTimeOffset as the ISO form EWS items carry (UTC, milliseconds). */
function isoDate(value: unknown): string | undefined {
  const text = str(value);
  if (!text) return undefined;
  const time = Date.parse(text);
  return Number.isFinite(time) ? new Date(time).toISOString() : undefined;
}

/** dateTimeTimeZone; the source asks for UTC (Prefer: outlook.timezone="UTC"), so only UTC is read as such. */
function zonedDate(value: Graph.NullableOption<Graph.DateTimeTimeZone> | undefined): string | undefined {
  const dateTime = str(value?.dateTime);
  if (!dateTime) return undefined;
  const zone = str(value?.timeZone) ?? 'UTC';
  const hasOffset = /[zZ]|[+-]\d\d:\d\d$/.test(dateTime);
  return isoDate(hasOffset || !/^(utc|gmt|etc\/utc)$/i.test(zone) ? dateTime : `${dateTime}Z`);
}

function emailAddress(value: Graph.NullableOption<Graph.Recipient> | Graph.NullableOption<Graph.EmailAddress> | undefined): EmailAddress | undefined {
  const inner = value && 'emailAddress' in value ? value.emailAddress : (value as Graph.EmailAddress | null | undefined);
  const address = str(inner?.address);
  const name = str(inner?.name);
  return address === undefined && name === undefined ? undefined : { name, address };
}

function emailAddresses(list: unknown): EmailAddress[] {
  return Array.isArray(list) ? list.flatMap((entry) => emailAddress(entry as Graph.Recipient) ?? []) : [];
}

function importance(value: unknown): 'low' | 'normal' | 'high' | undefined {
  return value === 'low' || value === 'normal' || value === 'high' ? value : undefined;
}

function categories(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((c): c is string => typeof c === 'string') : [];
}

/** Text or HTML body, into the field EWS would fill for that format. */
function body(value: Graph.NullableOption<Graph.ItemBody> | undefined): { bodyText: string | undefined; bodyHtml: string | undefined } {
  if (!value || typeof value.content !== 'string') return { bodyText: undefined, bodyHtml: undefined };
  return value.contentType === 'html' ? { bodyText: undefined, bodyHtml: value.content } : { bodyText: value.content, bodyHtml: undefined };
}

export function attachmentInfo(value: Graph.Attachment & { '@odata.type'?: string; contentId?: string | null }): AttachmentInfo {
  const type = value['@odata.type'] ?? '';
  return {
    id: str(value.id),
    kind: type.endsWith('itemAttachment') ? 'item' : 'file',
    name: str(value.name),
    contentType: str(value.contentType),
    sizeInBytes: typeof value.size === 'number' ? value.size : undefined,
    isInline: value.isInline === true,
    contentId: str(value.contentId),
  };
}

const EVENT_TYPES: Readonly<Record<string, CalendarItemType>> = { singleInstance: 'Single', occurrence: 'Occurrence', exception: 'Exception', seriesMaster: 'RecurringMaster' };

// Graph spells "meetingTenativelyAccepted"; records spell it correctly, as the EWS path does.
const MEETING_MESSAGE_TYPES: Readonly<Record<string, MeetingMessageType>> = {
  meetingRequest: 'meetingRequest',
  meetingCancelled: 'meetingCancelled',
  meetingAccepted: 'meetingAccepted',
  meetingTenativelyAccepted: 'meetingTentativelyAccepted',
  meetingDeclined: 'meetingDeclined',
};

const MEETING_CLASSES: Readonly<Record<string, string>> = {
  meetingCancelled: 'IPM.Schedule.Meeting.Canceled',
  meetingAccepted: 'IPM.Schedule.Meeting.Resp.Pos',
  meetingTenativelyAccepted: 'IPM.Schedule.Meeting.Resp.Tent',
  meetingDeclined: 'IPM.Schedule.Meeting.Resp.Neg',
};

const GRAPH_RESPONSE_TO_EWS: Readonly<Record<string, string>> = { none: 'Unknown', organizer: 'Organizer', tentativelyAccepted: 'Tentative', accepted: 'Accept', declined: 'Decline', notResponded: 'NoResponseReceived' };

/** Graph's patternedRecurrence is the record's shape already; only known values pass, and Graph's "no end date" (0001-01-01) is dropped. */
function recurrence(value: Graph.NullableOption<Graph.PatternedRecurrence> | undefined): RecurrenceInfo | undefined {
  const pattern = value?.pattern;
  const range = value?.range;
  const patternTypes: readonly string[] = ['daily', 'weekly', 'absoluteMonthly', 'relativeMonthly', 'absoluteYearly', 'relativeYearly'];
  const rangeTypes: readonly string[] = ['endDate', 'noEnd', 'numbered'];
  const startDate = str(range?.startDate);
  if (!pattern || !range || !startDate || !patternTypes.includes(pattern.type ?? '') || !rangeTypes.includes(range.type ?? '')) return undefined;
  const days = Array.isArray(pattern.daysOfWeek) ? pattern.daysOfWeek.filter((d): d is Graph.DayOfWeek => typeof d === 'string') : [];
  const endDate = str(range.endDate);
  return {
    pattern: definedOnly({
      type: pattern.type as RecurrenceInfo['pattern']['type'],
      interval: typeof pattern.interval === 'number' ? pattern.interval : 1,
      daysOfWeek: days.length > 0 ? days : undefined,
      dayOfMonth: typeof pattern.dayOfMonth === 'number' && pattern.dayOfMonth > 0 ? pattern.dayOfMonth : undefined,
      month: typeof pattern.month === 'number' && pattern.month > 0 ? pattern.month : undefined,
      index: pattern.type?.startsWith('relative') ? str(pattern.index) : undefined,
      firstDayOfWeek: pattern.type === 'weekly' ? str(pattern.firstDayOfWeek) : undefined,
    }),
    range: definedOnly({
      type: range.type as RecurrenceInfo['range']['type'],
      startDate,
      endDate: range.type === 'endDate' && endDate && !endDate.startsWith('0001') ? endDate : undefined,
      numberOfOccurrences: range.type === 'numbered' && typeof range.numberOfOccurrences === 'number' ? range.numberOfOccurrences : undefined,
    }),
  };
}

/** The eventMessage properties, when Graph sent them (it does for a message read without $select, or with a cast). */
function meetingFields(value: Graph.EventMessage & Graph.EventMessageResponse): MeetingMessageInfo | undefined {
  const messageType = MEETING_MESSAGE_TYPES[value.meetingMessageType ?? ''];
  if (!messageType) return undefined;
  return {
    messageType,
    responseType: GRAPH_RESPONSE_TO_EWS[value.responseType ?? ''],
    associatedCalendarItemId: str(value.event?.id),
    start: zonedDate(value.startDateTime),
    end: zonedDate(value.endDateTime),
    location: str(value.location?.displayName),
  };
}

type WithOdata<T> = T & { readonly '@odata.type'?: string; readonly '@odata.etag'?: string };

/** What messages, events and To Do tasks map alike (the same keys in the same place of each item). */
function sharedFields(
  value: { categories?: unknown; importance?: unknown; createdDateTime?: unknown; lastModifiedDateTime?: unknown; body?: Graph.NullableOption<Graph.ItemBody>; hasAttachments?: Graph.NullableOption<boolean> },
  attachments: readonly AttachmentInfo[],
) {
  return {
    categories: categories(value.categories),
    importance: importance(value.importance),
    createdAt: isoDate(value.createdDateTime),
    lastModifiedAt: isoDate(value.lastModifiedDateTime),
    ...body(value.body),
    hasAttachments: value.hasAttachments === true,
    attachments: [...attachments],
  };
}

export function messageItem(value: WithOdata<Graph.Message & Graph.EventMessage & Graph.EventMessageResponse>, attachments: readonly AttachmentInfo[] = []): EwsMessage {
  // eventMessage, eventMessageRequest and eventMessageResponse (responses are meeting messages too, as in EWS).
  const meeting = /^#microsoft\.graph\.eventMessage(?:Request|Response)?$/.test(value['@odata.type'] ?? '');
  const meetingClass = MEETING_CLASSES[value.meetingMessageType ?? ''] ?? 'IPM.Schedule.Meeting.Request';
  return {
    kind: meeting ? 'meetingMessage' : 'message',
    id: value.id ?? '',
    changeKey: str(value.changeKey),
    parentFolderId: str(value.parentFolderId),
    itemClass: meeting ? meetingClass : 'IPM.Note',
    subject: typeof value.subject === 'string' ? value.subject : undefined,
    ...sharedFields(value, attachments),
    from: emailAddress(value.from),
    sender: emailAddress(value.sender),
    to: emailAddresses(value.toRecipients),
    cc: emailAddresses(value.ccRecipients),
    bcc: emailAddresses(value.bccRecipients),
    receivedAt: isoDate(value.receivedDateTime),
    sentAt: isoDate(value.sentDateTime),
    isRead: bool(value.isRead),
    internetMessageId: str(value.internetMessageId),
    conversationId: str(value.conversationId),
    ...definedOnly({ meeting: meeting ? meetingFields(value) : undefined }),
  };
}

export function eventItem(value: WithOdata<Graph.Event>, attachments: readonly AttachmentInfo[] = []): EwsCalendarItem {
  const attendees = Array.isArray(value.attendees) ? value.attendees : [];
  return {
    kind: 'calendarItem',
    id: value.id ?? '',
    changeKey: str(value.changeKey),
    parentFolderId: undefined,
    itemClass: 'IPM.Appointment',
    subject: typeof value.subject === 'string' ? value.subject : undefined,
    ...sharedFields(value, attachments),
    start: zonedDate(value.start),
    end: zonedDate(value.end),
    isAllDay: bool(value.isAllDay),
    location: str(value.location?.displayName),
    organizer: emailAddress(value.organizer),
    requiredAttendees: attendees.filter((a) => a.type === 'required' || a.type === undefined).flatMap((a) => emailAddress(a) ?? []),
    optionalAttendees: attendees.filter((a) => a.type === 'optional').flatMap((a) => emailAddress(a) ?? []),
    // Graph's calendarView delta lists occurrences and exceptions as events of their own (with
    // seriesMasterId), not the master's lists of modified and deleted occurrences EWS gives.
    ...definedOnly({
      calendarItemType: EVENT_TYPES[value.type ?? ''],
      originalStart: isoDate(value.originalStart),
      recurrence: recurrence(value.recurrence),
      seriesMasterId: str(value.seriesMasterId),
    }),
  };
}

/** Phone keys as EWS names them (PhoneNumberKey), so both protocols key a number the same way. */
function phoneNumbers(value: Graph.Contact): { key: string; number: string }[] {
  const numbers: { key: string; number: string }[] = [];
  const add = (keys: readonly string[], list: unknown) => {
    if (!Array.isArray(list)) return;
    list.filter((n): n is string => typeof n === 'string' && n.length > 0).slice(0, keys.length).forEach((number, index) => numbers.push({ key: keys[index]!, number }));
  };
  add(['BusinessPhone', 'BusinessPhone2'], value.businessPhones);
  add(['HomePhone', 'HomePhone2'], value.homePhones);
  add(['MobilePhone'], value.mobilePhone ? [value.mobilePhone] : []);
  return numbers;
}

export function contactItem(value: WithOdata<Graph.Contact>): EwsContact {
  const emails = Array.isArray(value.emailAddresses) ? value.emailAddresses.slice(0, 3) : [];
  return {
    kind: 'contact',
    id: value.id ?? '',
    changeKey: str(value.changeKey),
    parentFolderId: str(value.parentFolderId),
    itemClass: 'IPM.Contact',
    subject: str(value.displayName),
    categories: categories(value.categories),
    importance: 'normal',
    createdAt: isoDate(value.createdDateTime),
    lastModifiedAt: isoDate(value.lastModifiedDateTime),
    bodyText: str(value.personalNotes),
    bodyHtml: undefined,
    hasAttachments: false,
    attachments: [],
    displayName: str(value.displayName),
    givenName: str(value.givenName),
    surname: str(value.surname),
    companyName: str(value.companyName),
    jobTitle: str(value.jobTitle),
    emailAddresses: emails.map((entry, index) => ({ key: `EmailAddress${index + 1}`, address: str(entry.address), name: str(entry.name) })),
    phoneNumbers: phoneNumbers(value),
  };
}

const TASK_STATUS: Readonly<Record<string, string>> = {
  notStarted: 'NotStarted',
  inProgress: 'InProgress',
  completed: 'Completed',
  waitingOnOthers: 'WaitingOnOthers',
  deferred: 'Deferred',
};

/** A To Do task has no changeKey: its ETag plays that part (it changes with every edit). */
export function todoTaskItem(value: WithOdata<Graph.TodoTask>, attachments: readonly AttachmentInfo[] = []): EwsTask {
  const status = typeof value.status === 'string' ? TASK_STATUS[value.status] : undefined;
  return {
    kind: 'task',
    id: value.id ?? '',
    changeKey: str(value['@odata.etag']),
    parentFolderId: undefined,
    itemClass: 'IPM.Task',
    subject: typeof value.title === 'string' ? value.title : undefined,
    ...sharedFields(value, attachments),
    dueDate: zonedDate(value.dueDateTime),
    startDate: zonedDate(value.startDateTime),
    completedAt: zonedDate(value.completedDateTime),
    status,
    percentComplete: status === 'Completed' ? 100 : status === 'NotStarted' ? 0 : undefined,
  };
}
