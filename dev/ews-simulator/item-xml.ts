/**
 * Item and folder serialization by response shape. Each item kind has one table of
 * (FieldURI, writer) entries in the order of the schema's sequences (types.xsd), so any subset
 * the shape selects is emitted in a schema-valid order.
 */
import { encodeChangeKey, decodeId } from './ids';
import { expandSeries, occurrenceView, recurrenceXml } from './recurrence';
import { extendedPropertiesXml, folderProperty, itemProperty, itemSize, type ExtendedPath } from './extended-properties';
import { buildMime } from './mime';
import type { AttachedMessage, Attachment, Attendee, CalendarItem, EmailAddress, EwsStore, Folder, Item, MeetingInfo, Message } from './model';
import { el, esc, xmlDate } from './xml';
import { permissionSetXml } from './folder-permissions';

export type BaseShape = 'IdOnly' | 'Default' | 'AllProperties';
/** Where the items go: GetItem/CreateItem return bodies; FindItem/SyncFolderItems never do. */
export type ShapeContext = 'get' | 'find';

export interface ItemShape {
  readonly base: BaseShape;
  /** FieldURIs asked for in AdditionalProperties (e.g. "item:Body", "message:IsRead"). */
  readonly additional: ReadonlySet<string>;
  readonly bodyType: 'Best' | 'HTML' | 'Text';
  readonly includeMimeContent: boolean;
  readonly context: ShapeContext;
  /** MAPI properties asked for by tag in AdditionalProperties (ExtendedFieldURI). */
  readonly extended?: readonly ExtendedPath[];
}

export const ID_ONLY: ItemShape = { base: 'IdOnly', additional: new Set(), bodyType: 'Best', includeMimeContent: false, context: 'get' };

interface FieldWriter {
  readonly uri: string;
  /** Fields FindItem/SyncFolderItems cannot return. */
  readonly getOnly?: boolean;
  write(item: Item, shape: ItemShape, store: EwsStore): string;
}

function itemIdOf(item: Item): string {
  return `<t:ItemId Id="${item.id}" ChangeKey="${itemChangeKey(item)}"/>`;
}

export function itemChangeKey(item: Item): string {
  return encodeChangeKey(decodeId(item.id)?.number ?? 0, item.version);
}

export function folderChangeKey(folder: Folder): string {
  return encodeChangeKey(decodeId(folder.id)?.number ?? 0, folder.version);
}

export function folderIdXml(folder: Folder, name = 't:FolderId'): string {
  return `<${name} Id="${folder.id}" ChangeKey="${folderChangeKey(folder)}"/>`;
}

export function mailboxXml(address: EmailAddress, store?: EwsStore, name = 't:Mailbox'): string {
  const internal = store?.getMailbox(address.address);
  const mailboxType = address.mailboxType ?? (store ? (internal ? 'Mailbox' : 'OneOff') : undefined);
  return (
    `<${name}>` +
    el('t:Name', address.name ?? internal?.displayName ?? address.address) +
    el('t:EmailAddress', address.address) +
    el('t:RoutingType', address.routingType ?? 'SMTP') +
    el('t:MailboxType', mailboxType) +
    `</${name}>`
  );
}

function recipients(name: string, list: readonly EmailAddress[], store: EwsStore): string {
  if (list.length === 0) return '';
  let out = `<t:${name}>`;
  for (const r of list) out += mailboxXml(r, store);
  return out + `</t:${name}>`;
}

function attendees(name: string, list: readonly Attendee[], store: EwsStore): string {
  if (list.length === 0) return '';
  let out = `<t:${name}>`;
  for (const a of list) out += `<t:Attendee>${mailboxXml(a.mailbox, store)}${el('t:ResponseType', a.responseType ?? 'Unknown')}</t:Attendee>`;
  return out + `</t:${name}>`;
}

function displayNames(list: readonly EmailAddress[]): string {
  return list.map((r) => r.name ?? r.address).join('; ');
}

export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|h[1-6]|li|tr)>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .trim();
}

export function textToHtml(text: string): string {
  const escaped = text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r?\n/g, '<br>\r\n');
  return `<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body><div>${escaped}</div></body></html>`;
}

function bodyXml(item: Item, shape: ItemShape): string {
  const wanted = shape.bodyType === 'Best' ? item.body.type : shape.bodyType;
  let content = item.body.content;
  if (wanted !== item.body.type) content = wanted === 'Text' ? htmlToText(content) : textToHtml(content);
  return `<t:Body BodyType="${wanted}" IsTruncated="false">${esc(content)}</t:Body>`;
}

/** An attached message as EWS shows it inside ItemAttachment (no ItemId: it is in no folder). */
function attachedMessageXml(message: AttachedMessage, store: EwsStore): string {
  return (
    '<t:Message>' +
    el('t:ItemClass', 'IPM.Note') +
    el('t:Subject', message.subject) +
    `<t:Body BodyType="${message.body.type}" IsTruncated="false">${esc(message.body.content)}</t:Body>` +
    (message.dateTimeSent ? el('t:DateTimeSent', xmlDate(message.dateTimeSent)) : '') +
    recipients('ToRecipients', message.toRecipients, store) +
    recipients('CcRecipients', message.ccRecipients, store) +
    (message.from ? `<t:From>${mailboxXml(message.from, store)}</t:From>` : '') +
    el('t:InternetMessageId', message.internetMessageId) +
    '</t:Message>'
  );
}

export function attachmentMetadataXml(attachment: Attachment, withContent: boolean, store?: EwsStore): string {
  if (attachment.attachedMessage) {
    return (
      '<t:ItemAttachment>' +
      `<t:AttachmentId Id="${attachment.id}"/>` +
      el('t:Name', attachment.name) +
      el('t:ContentType', attachment.contentType) +
      el('t:Size', attachment.content.byteLength) +
      el('t:LastModifiedTime', xmlDate(attachment.lastModifiedTime)) +
      el('t:IsInline', attachment.isInline) +
      (withContent && store ? attachedMessageXml(attachment.attachedMessage, store) : '') +
      '</t:ItemAttachment>'
    );
  }
  return (
    '<t:FileAttachment>' +
    `<t:AttachmentId Id="${attachment.id}"/>` +
    el('t:Name', attachment.name) +
    el('t:ContentType', attachment.contentType) +
    el('t:ContentId', attachment.contentId) +
    el('t:Size', attachment.content.byteLength) +
    el('t:LastModifiedTime', xmlDate(attachment.lastModifiedTime)) +
    el('t:IsInline', attachment.isInline) +
    el('t:IsContactPhoto', false) +
    (withContent ? `<t:Content>${Buffer.from(attachment.content).toString('base64')}</t:Content>` : '') +
    '</t:FileAttachment>'
  );
}

const EXTENDED_PROPERTIES = 'item:ExtendedProperty';

const w = (uri: string, write: FieldWriter['write'], getOnly = false): FieldWriter => ({ uri, write, getOnly });

/** ItemType's own fields, in schema order, split around where the kind-specific ones... (they all come after). */
const ITEM_FIELDS: readonly FieldWriter[] = [
  w('item:MimeContent', (item, _shape, store) => `<t:MimeContent CharacterSet="UTF-8">${Buffer.from(buildMime(item, store)).toString('base64')}</t:MimeContent>`, true),
  w('item:ItemId', (item) => itemIdOf(item)),
  w('item:ParentFolderId', (item, _s, store) => {
    const folder = store.findFolderById(item.folderId);
    return folder ? folderIdXml(folder, 't:ParentFolderId') : '';
  }),
  w('item:ItemClass', (item) => el('t:ItemClass', item.itemClass)),
  w('item:Subject', (item) => el('t:Subject', item.subject)),
  w('item:Sensitivity', (item) => el('t:Sensitivity', item.sensitivity)),
  w('item:Body', (item, shape) => bodyXml(item, shape), true),
  w(
    'item:Attachments',
    (item) => (item.attachments.length ? `<t:Attachments>${item.attachments.map((a) => attachmentMetadataXml(a, false)).join('')}</t:Attachments>` : ''),
    true,
  ),
  w('item:DateTimeReceived', (item) => el('t:DateTimeReceived', xmlDate(item.dateTimeReceived))),
  w('item:Size', (item) => el('t:Size', itemSize(item))),
  w('item:Categories', (item) => (item.categories.length ? `<t:Categories>${item.categories.map((c) => el('t:String', c)).join('')}</t:Categories>` : '')),
  w('item:Importance', (item) => el('t:Importance', item.importance)),
  w('item:InReplyTo', (item) => el('t:InReplyTo', item.inReplyTo)),
  w('item:IsSubmitted', () => el('t:IsSubmitted', false)),
  w('item:IsDraft', (item) => el('t:IsDraft', item.kind === 'message' ? item.isDraft : false)),
  w('item:IsFromMe', (item) => el('t:IsFromMe', item.kind === 'message' && item.from?.address.toLowerCase() === item.mailbox)),
  w('item:IsResend', () => el('t:IsResend', false)),
  w('item:IsUnmodified', (item) => el('t:IsUnmodified', item.version === 1)),
  w('item:DateTimeSent', (item) => el('t:DateTimeSent', xmlDate((item.kind === 'message' && item.dateTimeSent) || item.dateTimeCreated))),
  w('item:DateTimeCreated', (item) => el('t:DateTimeCreated', xmlDate(item.dateTimeCreated))),
  w('item:ReminderIsSet', () => el('t:ReminderIsSet', false)),
  w('item:DisplayCc', (item) => el('t:DisplayCc', item.kind === 'message' ? displayNames(item.ccRecipients) : '')),
  w('item:DisplayTo', (item) =>
    el('t:DisplayTo', item.kind === 'message' ? displayNames(item.toRecipients) : item.kind === 'calendarItem' ? displayNames(item.requiredAttendees.map((a) => a.mailbox)) : ''),
  ),
  w('item:HasAttachments', (item) => el('t:HasAttachments', item.attachments.some((a) => !a.isInline))),
  // Not a FieldURI: stands for the ExtendedFieldURIs of the shape, at their place in ItemType's sequence.
  w(EXTENDED_PROPERTIES, (item, shape, store) => extendedPropertiesXml(shape.extended ?? [], (path) => itemProperty(item, path, store))),
  w('item:Culture', () => el('t:Culture', 'en-US')),
  w('item:LastModifiedTime', (item) => el('t:LastModifiedTime', xmlDate(item.lastModifiedTime))),
  w('item:IsAssociated', () => el('t:IsAssociated', false)),
];

const MESSAGE_FIELDS: readonly FieldWriter[] = [
  w('message:Sender', (item, _s, store) => ((item as Message).sender ? `<t:Sender>${mailboxXml((item as Message).sender!, store)}</t:Sender>` : '')),
  w('message:ToRecipients', (item, _s, store) => recipients('ToRecipients', (item as Message).toRecipients, store), true),
  w('message:CcRecipients', (item, _s, store) => recipients('CcRecipients', (item as Message).ccRecipients, store), true),
  w('message:BccRecipients', (item, _s, store) => recipients('BccRecipients', (item as Message).bccRecipients, store), true),
  w('message:IsReadReceiptRequested', (item) => el('t:IsReadReceiptRequested', (item as Message).isReadReceiptRequested)),
  w('message:IsDeliveryReceiptRequested', (item) => el('t:IsDeliveryReceiptRequested', (item as Message).isDeliveryReceiptRequested)),
  w('message:ConversationTopic', (item) => el('t:ConversationTopic', item.subject.replace(/^((re|fw|fwd|aw|wg):\s*)+/i, ''))),
  w('message:From', (item, _s, store) => ((item as Message).from ? `<t:From>${mailboxXml((item as Message).from!, store)}</t:From>` : '')),
  w('message:InternetMessageId', (item) => el('t:InternetMessageId', item.internetMessageId)),
  w('message:IsRead', (item) => el('t:IsRead', (item as Message).isRead)),
  w('message:ReplyTo', (item, _s, store) => recipients('ReplyTo', (item as Message).replyTo, store), true),
];

const CALENDAR_FIELDS: readonly FieldWriter[] = [
  w('calendar:UID', (item) => (item.kind === 'calendarItem' ? el('t:UID', item.uid) : '')),
  w('calendar:Start', (item) => (item.kind === 'calendarItem' ? el('t:Start', xmlDate(item.start)) : '')),
  w('calendar:End', (item) => (item.kind === 'calendarItem' ? el('t:End', xmlDate(item.end)) : '')),
  w('calendar:OriginalStart', (item) => (item.kind === 'calendarItem' && item.occurrenceOf ? el('t:OriginalStart', xmlDate(item.occurrenceOf.originalStart)) : '')),
  w('calendar:IsAllDayEvent', (item) => (item.kind === 'calendarItem' ? el('t:IsAllDayEvent', item.isAllDayEvent) : '')),
  w('calendar:LegacyFreeBusyStatus', (item) => (item.kind === 'calendarItem' ? el('t:LegacyFreeBusyStatus', item.legacyFreeBusyStatus) : '')),
  w('calendar:Location', (item) => (item.kind === 'calendarItem' ? el('t:Location', item.location) : '')),
  w('calendar:IsMeeting', (item) => (item.kind === 'calendarItem' ? el('t:IsMeeting', item.requiredAttendees.length + item.optionalAttendees.length > 0) : '')),
  w('calendar:IsCancelled', (item) => (item.kind === 'calendarItem' ? el('t:IsCancelled', item.isCancelled) : '')),
  w('calendar:IsRecurring', (item) => (item.kind === 'calendarItem' ? el('t:IsRecurring', isRecurring(item)) : '')),
  w('calendar:CalendarItemType', (item) => (item.kind === 'calendarItem' ? el('t:CalendarItemType', calendarItemType(item)) : '')),
  w('calendar:MyResponseType', (item) =>
    item.kind === 'calendarItem' ? el('t:MyResponseType', item.myResponseType ?? (!item.organizer || item.organizer.address.toLowerCase() === item.mailbox ? 'Organizer' : 'NoResponseReceived')) : '',
  ),
  w('calendar:Organizer', (item, _s, store) => (item.kind === 'calendarItem' && item.organizer ? `<t:Organizer>${mailboxXml(item.organizer, store)}</t:Organizer>` : '')),
  w('calendar:RequiredAttendees', (item, _s, store) => (item.kind === 'calendarItem' ? attendees('RequiredAttendees', item.requiredAttendees, store) : ''), true),
  w('calendar:OptionalAttendees', (item, _s, store) => (item.kind === 'calendarItem' ? attendees('OptionalAttendees', item.optionalAttendees, store) : ''), true),
  w('calendar:Duration', (item) => (item.kind === 'calendarItem' ? el('t:Duration', isoDuration(item.end.getTime() - item.start.getTime())) : '')),
  // FindItem cannot return the series properties, as in Exchange.
  w('calendar:Recurrence', (item) => (item.kind === 'calendarItem' && item.recurrence ? recurrenceXml(item.recurrence) : ''), true),
  w('calendar:FirstOccurrence', (item) => seriesEnd(item, 'first'), true),
  w('calendar:LastOccurrence', (item) => seriesEnd(item, 'last'), true),
  w('calendar:ModifiedOccurrences', (item) => modifiedOccurrencesXml(item), true),
  w('calendar:DeletedOccurrences', (item) =>
    item.kind === 'calendarItem' && item.deletedOccurrences?.length ? `<t:DeletedOccurrences>${item.deletedOccurrences.map((d) => `<t:DeletedOccurrence>${el('t:Start', xmlDate(d))}</t:DeletedOccurrence>`).join('')}</t:DeletedOccurrences>` : '', true),
];

function calendarItemType(item: CalendarItem): string {
  if (item.occurrenceOf) return item.occurrenceOf.isException ? 'Exception' : 'Occurrence';
  return item.recurrence ? 'RecurringMaster' : 'Single';
}

/**
 * Exchange's documented quirk (IsRecurring reference): false on the organizer's own recurring
 * master, true on an attendee's master, on occurrences and on exceptions, false on single items.
 */
function isRecurring(item: CalendarItem): boolean {
  if (item.occurrenceOf) return true;
  if (!item.recurrence) return false;
  return !!item.organizer && item.organizer.address.toLowerCase() !== item.mailbox;
}

function occurrenceInfoXml(name: string, view: CalendarItem): string {
  return `<t:${name}><t:ItemId Id="${view.id}" ChangeKey="${encodeChangeKey(0, view.version)}"/>${el('t:Start', xmlDate(view.start))}${el('t:End', xmlDate(view.end))}${el('t:OriginalStart', xmlDate(view.occurrenceOf!.originalStart))}</t:${name}>`;
}

function seriesEnd(item: Item, which: 'first' | 'last'): string {
  if (item.kind !== 'calendarItem' || !item.recurrence) return '';
  // A series without an end has no last occurrence.
  if (which === 'last' && item.recurrence.range.kind === 'NoEnd') return '';
  const occurrences = expandSeries(item);
  const occurrence = which === 'first' ? occurrences[0] : occurrences[occurrences.length - 1];
  return occurrence ? occurrenceInfoXml(which === 'first' ? 'FirstOccurrence' : 'LastOccurrence', occurrenceView(item, occurrence)) : '';
}

function modifiedOccurrencesXml(item: Item): string {
  if (item.kind !== 'calendarItem' || !item.modifiedOccurrences?.length) return '';
  const exceptions = expandSeries(item).filter((o) => o.override);
  return exceptions.length ? `<t:ModifiedOccurrences>${exceptions.map((o) => occurrenceInfoXml('Occurrence', occurrenceView(item, o))).join('')}</t:ModifiedOccurrences>` : '';
}

/** The meeting a meeting message is about (only called for messages that have one). */
function meetingOf(item: Item): MeetingInfo {
  return (item as Message).meeting!;
}

/** MeetingMessageType's own fields, after every MessageType field. */
const MEETING_MESSAGE_FIELDS: readonly FieldWriter[] = [
  w('meeting:AssociatedCalendarItemId', (item, _s, store) => {
    const id = meetingOf(item).associatedCalendarItemId;
    const calendarItem = id ? store.getItem(id) : undefined;
    return calendarItem ? `<t:AssociatedCalendarItemId Id="${calendarItem.id}" ChangeKey="${itemChangeKey(calendarItem)}"/>` : '';
  }),
  w('meeting:IsDelegated', () => el('t:IsDelegated', false)),
  w('meeting:IsOutOfDate', () => el('t:IsOutOfDate', false)),
  w('meeting:HasBeenProcessed', (item) => el('t:HasBeenProcessed', meetingOf(item).associatedCalendarItemId !== undefined)),
  w('meeting:ResponseType', (item) => el('t:ResponseType', meetingOf(item).responseType ?? 'NoResponseReceived')),
  w('calendar:UID', (item) => el('t:UID', meetingOf(item).uid)),
];

const MEETING_REQUEST_FIELDS: readonly FieldWriter[] = [
  ...MEETING_MESSAGE_FIELDS,
  w('meetingRequest:MeetingRequestType', (item) => el('t:MeetingRequestType', meetingOf(item).isUpdate ? 'FullUpdate' : 'NewMeetingRequest')),
  w('meetingRequest:IntendedFreeBusyStatus', () => el('t:IntendedFreeBusyStatus', 'Busy')),
  w('calendar:Start', (item) => el('t:Start', xmlDate(meetingOf(item).start))),
  w('calendar:End', (item) => el('t:End', xmlDate(meetingOf(item).end))),
  w('calendar:IsAllDayEvent', (item) => el('t:IsAllDayEvent', meetingOf(item).isAllDayEvent)),
  w('calendar:LegacyFreeBusyStatus', () => el('t:LegacyFreeBusyStatus', 'Tentative')),
  w('calendar:Location', (item) => el('t:Location', meetingOf(item).location)),
  w('calendar:IsMeeting', () => el('t:IsMeeting', true)),
  w('calendar:IsCancelled', () => el('t:IsCancelled', false)),
  w('calendar:IsRecurring', () => el('t:IsRecurring', false)),
  w('calendar:CalendarItemType', () => el('t:CalendarItemType', 'Single')),
  w('calendar:MyResponseType', () => el('t:MyResponseType', 'NoResponseReceived')),
  w('calendar:Organizer', (item, _s, store) => (meetingOf(item).organizer ? `<t:Organizer>${mailboxXml(meetingOf(item).organizer!, store)}</t:Organizer>` : '')),
  w('calendar:RequiredAttendees', (item, _s, store) => attendees('RequiredAttendees', meetingOf(item).requiredAttendees, store), true),
  w('calendar:OptionalAttendees', (item, _s, store) => attendees('OptionalAttendees', meetingOf(item).optionalAttendees, store), true),
];

/** MeetingResponseMessageType and MeetingCancellationMessageType share these. */
const MEETING_OUTCOME_FIELDS: readonly FieldWriter[] = [
  ...MEETING_MESSAGE_FIELDS,
  w('calendar:Start', (item) => el('t:Start', xmlDate(meetingOf(item).start))),
  w('calendar:End', (item) => el('t:End', xmlDate(meetingOf(item).end))),
  w('calendar:Location', (item) => el('t:Location', meetingOf(item).location)),
  w('calendar:CalendarItemType', () => el('t:CalendarItemType', 'Single')),
];

const CONTACT_FIELDS: readonly FieldWriter[] = [
  w('contacts:FileAs', (item) => (item.kind === 'contact' ? el('t:FileAs', item.fileAs) : '')),
  w('contacts:DisplayName', (item) => (item.kind === 'contact' ? el('t:DisplayName', item.displayName) : '')),
  w('contacts:GivenName', (item) => (item.kind === 'contact' ? el('t:GivenName', item.givenName) : '')),
  w('contacts:CompanyName', (item) => (item.kind === 'contact' ? el('t:CompanyName', item.companyName) : '')),
  w('contacts:EmailAddresses', (item) =>
    item.kind === 'contact' && item.emailAddresses.length
      ? `<t:EmailAddresses>${item.emailAddresses.map((e) => `<t:Entry Key="${e.key}"${e.name ? ` Name="${esc(e.name)}"` : ''}>${esc(e.address)}</t:Entry>`).join('')}</t:EmailAddresses>`
      : '',
  ),
  w('contacts:PhoneNumbers', (item) =>
    item.kind === 'contact' && item.phoneNumbers.length
      ? `<t:PhoneNumbers>${item.phoneNumbers.map((p) => `<t:Entry Key="${p.key}">${esc(p.number)}</t:Entry>`).join('')}</t:PhoneNumbers>`
      : '',
  ),
  w('contacts:Department', (item) => (item.kind === 'contact' ? el('t:Department', item.department) : '')),
  w('contacts:JobTitle', (item) => (item.kind === 'contact' ? el('t:JobTitle', item.jobTitle) : '')),
  w('contacts:Surname', (item) => (item.kind === 'contact' ? el('t:Surname', item.surname) : '')),
];

const TASK_FIELDS: readonly FieldWriter[] = [
  w('task:ChangeCount', (item) => (item.kind === 'task' ? el('t:ChangeCount', item.version) : '')),
  w('task:CompleteDate', (item) => (item.kind === 'task' && item.completeDate ? el('t:CompleteDate', xmlDate(item.completeDate)) : '')),
  w('task:DueDate', (item) => (item.kind === 'task' && item.dueDate ? el('t:DueDate', xmlDate(item.dueDate)) : '')),
  w('task:IsComplete', (item) => (item.kind === 'task' ? el('t:IsComplete', item.status === 'Completed') : '')),
  w('task:IsRecurring', (item) => (item.kind === 'task' ? el('t:IsRecurring', false) : '')),
  w('task:PercentComplete', (item) => (item.kind === 'task' ? el('t:PercentComplete', item.percentComplete) : '')),
  w('task:StartDate', (item) => (item.kind === 'task' && item.startDate ? el('t:StartDate', xmlDate(item.startDate)) : '')),
  w('task:Status', (item) => (item.kind === 'task' ? el('t:Status', item.status) : '')),
];

function isoDuration(ms: number): string {
  const totalMinutes = Math.max(0, Math.round(ms / 60000));
  const days = Math.floor(totalMinutes / 1440);
  const hours = Math.floor((totalMinutes % 1440) / 60);
  const minutes = totalMinutes % 60;
  return `P${days ? `${days}D` : ''}T${hours}H${minutes}M`;
}

/**
 * What decides an item's XML element and field table: its kind, or for meeting messages the
 * kind of meeting message (they are messages with MeetingMessageType fields after MessageType's).
 */
type ElementKind = Item['kind'] | 'meetingRequest' | 'meetingResponse' | 'meetingCancellation';

const MEETING_ELEMENT_KIND: Record<MeetingInfo['kind'], ElementKind> = { request: 'meetingRequest', response: 'meetingResponse', cancellation: 'meetingCancellation' };

function elementKind(item: Item): ElementKind {
  return item.kind === 'message' && item.meeting ? MEETING_ELEMENT_KIND[item.meeting.kind] : item.kind;
}

const KIND_FIELDS: Record<ElementKind, readonly FieldWriter[]> = {
  meetingRequest: [...ITEM_FIELDS, ...MESSAGE_FIELDS, ...MEETING_REQUEST_FIELDS],
  meetingResponse: [...ITEM_FIELDS, ...MESSAGE_FIELDS, ...MEETING_OUTCOME_FIELDS],
  meetingCancellation: [...ITEM_FIELDS, ...MESSAGE_FIELDS, ...MEETING_OUTCOME_FIELDS],
  message: [...ITEM_FIELDS, ...MESSAGE_FIELDS],
  calendarItem: [...ITEM_FIELDS, ...CALENDAR_FIELDS],
  contact: [...ITEM_FIELDS, ...CONTACT_FIELDS],
  task: [...ITEM_FIELDS, ...TASK_FIELDS],
};

export const ELEMENT_NAME: Record<ElementKind, string> = {
  message: 'Message',
  calendarItem: 'CalendarItem',
  contact: 'Contact',
  task: 'Task',
  meetingRequest: 'MeetingRequest',
  meetingResponse: 'MeetingResponse',
  meetingCancellation: 'MeetingCancellation',
};

const COMMON_DEFAULT = [
  'item:ItemId',
  'item:Subject',
  'item:Sensitivity',
  'item:Body',
  'item:Attachments',
  'item:DateTimeReceived',
  'item:Size',
  'item:Importance',
  'item:IsSubmitted',
  'item:IsDraft',
  'item:IsFromMe',
  'item:IsResend',
  'item:IsUnmodified',
  'item:DateTimeSent',
  'item:DateTimeCreated',
  'item:ReminderIsSet',
  'item:DisplayCc',
  'item:DisplayTo',
  'item:HasAttachments',
  'item:Culture',
];
const FIND_EXTRA = ['item:ParentFolderId', 'item:ItemClass', 'item:LastModifiedTime'];

const MESSAGE_DEFAULT = [
  'message:Sender',
  'message:ToRecipients',
  'message:CcRecipients',
  'message:IsReadReceiptRequested',
  'message:IsDeliveryReceiptRequested',
  'message:ConversationTopic',
  'message:From',
  'message:InternetMessageId',
  'message:IsRead',
];
const MEETING_DEFAULT = [...MESSAGE_DEFAULT, 'meeting:AssociatedCalendarItemId', 'meeting:ResponseType', 'calendar:UID', 'calendar:Start', 'calendar:End', 'calendar:Location'];

const KIND_DEFAULT: Record<ElementKind, string[]> = {
  meetingRequest: [...MEETING_DEFAULT, 'meetingRequest:MeetingRequestType', 'calendar:Organizer', 'calendar:RequiredAttendees', 'calendar:OptionalAttendees'],
  meetingResponse: MEETING_DEFAULT,
  meetingCancellation: MEETING_DEFAULT,
  message: MESSAGE_DEFAULT,
  calendarItem: [
    'calendar:UID',
    'calendar:Start',
    'calendar:End',
    'calendar:IsAllDayEvent',
    'calendar:LegacyFreeBusyStatus',
    'calendar:Location',
    'calendar:IsMeeting',
    'calendar:IsCancelled',
    'calendar:IsRecurring',
    'calendar:CalendarItemType',
    'calendar:MyResponseType',
    'calendar:Organizer',
    'calendar:RequiredAttendees',
    'calendar:OptionalAttendees',
    'calendar:Duration',
  ],
  contact: ['contacts:FileAs', 'contacts:DisplayName', 'contacts:GivenName', 'contacts:CompanyName', 'contacts:EmailAddresses', 'contacts:PhoneNumbers', 'contacts:JobTitle', 'contacts:Surname'],
  task: ['task:ChangeCount', 'task:CompleteDate', 'task:DueDate', 'task:IsComplete', 'task:IsRecurring', 'task:PercentComplete', 'task:StartDate', 'task:Status'],
};

/** Writers selected for (kind, shape), cached: selection is the per-request cost, writing the per-item one. */
const selectionCache = new Map<string, readonly FieldWriter[]>();

const perShape = new WeakMap<ItemShape, Map<ElementKind, readonly FieldWriter[]>>();

function selectWriters(kind: ElementKind, shape: ItemShape): readonly FieldWriter[] {
  let byKind = perShape.get(shape);
  if (!byKind) {
    byKind = new Map();
    perShape.set(shape, byKind);
  }
  let writers = byKind.get(kind);
  if (!writers) {
    writers = computeWriters(kind, shape);
    byKind.set(kind, writers);
  }
  return writers;
}

function computeWriters(kind: ElementKind, shape: ItemShape): readonly FieldWriter[] {
  const hasExtended = (shape.extended?.length ?? 0) > 0;
  const key = `${kind}|${shape.base}|${shape.context}|${shape.includeMimeContent}|${hasExtended}|${[...shape.additional].sort().join(',')}`;
  let writers = selectionCache.get(key);
  if (writers) return writers;
  const wanted = new Set<string>(['item:ItemId', ...shape.additional]);
  if (hasExtended) wanted.add(EXTENDED_PROPERTIES);
  if (shape.base === 'Default') for (const uri of [...COMMON_DEFAULT, ...(shape.context === 'find' ? FIND_EXTRA : []), ...KIND_DEFAULT[kind]]) wanted.add(uri);
  if (shape.base === 'AllProperties') for (const f of KIND_FIELDS[kind]) if (f.uri !== 'item:MimeContent' && f.uri !== EXTENDED_PROPERTIES) wanted.add(f.uri);
  if (shape.includeMimeContent) wanted.add('item:MimeContent');
  writers = KIND_FIELDS[kind].filter((f) => wanted.has(f.uri) && !(shape.context === 'find' && f.getOnly));
  if (selectionCache.size > 500) selectionCache.clear();
  selectionCache.set(key, writers);
  return writers;
}

/** Serializes an item as `<t:Message>...</t:Message>` etc. for the shape. */
export function itemXml(item: Item, shape: ItemShape, store: EwsStore): string {
  const kind = elementKind(item);
  const name = ELEMENT_NAME[kind];
  let out = `<t:${name}>`;
  for (const writer of selectWriters(kind, shape)) out += writer.write(item, shape, store);
  return out + `</t:${name}>`;
}

/** FieldURIs the simulator knows (others in a request are accepted and ignored, as for unset properties). */
export function isKnownFieldUri(uri: string): boolean {
  return uri !== EXTENDED_PROPERTIES && Object.values(KIND_FIELDS).some((fields) => fields.some((f) => f.uri === uri));
}

// ---- folders ------------------------------------------------------------------------------

export interface FolderShape {
  readonly base: BaseShape;
  readonly additional: ReadonlySet<string>;
  /** MAPI properties asked for by tag (ExtendedFieldURI), e.g. PR_CONTAINER_CLASS. */
  readonly extended?: readonly ExtendedPath[];
}

export function folderElementName(folder: Folder): string {
  if (folder.folderClass.startsWith('IPF.Appointment')) return 'CalendarFolder';
  if (folder.folderClass.startsWith('IPF.Contact')) return 'ContactsFolder';
  if (folder.folderClass.startsWith('IPF.Task')) return 'TasksFolder';
  return 'Folder';
}

export interface FolderCounts {
  readonly total: number;
  readonly unread: number;
  readonly children: number;
}

export function folderXml(folder: Folder, shape: FolderShape, counts: FolderCounts, store: EwsStore): string {
  const name = folderElementName(folder);
  const want = (uri: string, inDefault: boolean): boolean =>
    shape.base === 'AllProperties' || (shape.base === 'Default' && inDefault) || shape.additional.has(uri);
  const parent = folder.parentId ? store.findFolderById(folder.parentId) : undefined;
  let out = `<t:${name}>` + folderIdXml(folder);
  if (want('folder:ParentFolderId', false) && parent) out += folderIdXml(parent, 't:ParentFolderId');
  if (want('folder:FolderClass', false) && folder.folderClass) out += el('t:FolderClass', folder.folderClass);
  if (want('folder:DisplayName', true)) out += el('t:DisplayName', folder.displayName);
  if (want('folder:TotalCount', true)) out += el('t:TotalCount', counts.total);
  if (want('folder:ChildFolderCount', true)) out += el('t:ChildFolderCount', counts.children);
  if (shape.extended?.length) out += extendedPropertiesXml(shape.extended, (path) => folderProperty(folder, counts, path, store));
  if (want('folder:DistinguishedFolderId', false) && folder.distinguishedName && shape.additional.has('folder:DistinguishedFolderId')) {
    out += el('t:DistinguishedFolderId', folder.distinguishedName);
  }
  // PermissionSet comes after the base folder's properties (FolderType, CalendarFolderType, ContactsFolderType alike).
  if (shape.additional.has('folder:PermissionSet') && name !== 'SearchFolder') out += permissionSetXml(folder, esc);
  if ((name === 'Folder' || name === 'TasksFolder') && want('folder:UnreadCount', true)) out += el('t:UnreadCount', counts.unread);
  return out + `</t:${name}>`;
}
