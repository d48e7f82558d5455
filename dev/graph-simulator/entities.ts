/**
 * The shared store's items and folders as Graph v1.0 entities (typed with
 * @microsoft/microsoft-graph-types; checked against the published CSDL by test/graph-simulator).
 * One function per entity type; `$select` is applied afterwards by `project`.
 */
import { createHash } from 'node:crypto';
import type * as graph from '@microsoft/microsoft-graph-types';
import type { Attachment, Attendee, CalendarItem, MeetingInfo, Contact, EmailAddress, EwsStore, Folder, Item, Mailbox, Message, Task } from '../ews-simulator/model';
// One HTML/text conversion for both protocols: a consumer sees the same text body through EWS and Graph.
import { htmlToText, itemChangeKey, textToHtml } from '../ews-simulator/item-xml';
import { directoryPerson } from '../ews-simulator/directory-person';
import { toRestId } from './ids';

/** How ids (Prefer: IdType="ImmutableId") and bodies (Prefer: outlook.body-content-type) are written in this response. */
export interface IdWriter {
  item(item: Item): string;
  folder(folder: Folder): string;
  /** Body format asked for; absent: as stored. */
  readonly bodyType?: 'text' | 'html';
}

/** A Graph entity as JSON: the typed entity plus OData annotations. */
export type GraphJson = Record<string, unknown>;

/** A typed entity as plain JSON (the types say what Graph sends; the result is what goes on the wire). */
function asJson(entity: object): GraphJson {
  return entity as GraphJson;
}

function iso(date: Date | undefined): string | null {
  // Graph writes whole seconds: 2025-03-01T08:00:00Z.
  return date ? `${date.toISOString().slice(0, 19)}Z` : null;
}

/** dateTimeTimeZone as Outlook writes it: local wall time with 7 fraction digits, zone "UTC". */
function dateTimeTimeZone(date: Date | undefined): graph.DateTimeTimeZone | null {
  return date ? { dateTime: `${date.toISOString().slice(0, 19)}.0000000`, timeZone: 'UTC' } : null;
}

function recipient(address: EmailAddress | undefined): graph.Recipient | null {
  return address ? { emailAddress: { name: address.name ?? address.address, address: address.address } } : null;
}

function recipients(list: readonly EmailAddress[]): graph.Recipient[] {
  return list.map((a) => ({ emailAddress: { name: a.name ?? a.address, address: a.address } }));
}

function lowerFirst<T extends string>(value: string): T {
  return (value.charAt(0).toLowerCase() + value.slice(1)) as T;
}

/** Previews by item, valid while the item's version is unchanged (delta rounds serve the same items again). */
const previews = new WeakMap<Item, { readonly version: number; readonly text: string }>();

/** Outlook's bodyPreview: the first 255 characters of the body as text. */
function preview(item: Item): string {
  const cached = previews.get(item);
  if (cached && cached.version === item.version) return cached.text;
  const text = computePreview(item);
  previews.set(item, { version: item.version, text });
  return text;
}

function computePreview(item: Item): string {
  // 255 characters of text never need more than the first few KB of markup.
  const head = item.body.content.length > 8192 ? item.body.content.slice(0, 8192) : item.body.content;
  const text = item.body.type === 'HTML' ? head.replace(/<style[\s\S]*?<\/style>|<[^>]+>/gi, ' ').replace(/&nbsp;/g, ' ').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>') : head;
  return text.replace(/\s+/g, ' ').trim().slice(0, 255);
}

/** The body as stored, or converted as Prefer: outlook.body-content-type asked. */
function body(item: Item, wanted?: 'text' | 'html'): graph.ItemBody {
  const stored = item.body.type === 'HTML' ? 'html' : 'text';
  if (!wanted || wanted === stored) return { contentType: stored, content: item.body.content };
  return wanted === 'text' ? { contentType: 'text', content: htmlToText(item.body.content) } : { contentType: 'html', content: textToHtml(item.body.content) };
}

/** Outlook's conversationId: the same for a message and the replies that name it (In-Reply-To). */
function conversationId(item: Item): string {
  const root = item.inReplyTo ?? item.internetMessageId ?? item.immutableOrigin ?? item.id;
  return Buffer.concat([Buffer.from([0x00, 0x10]), createHash('sha256').update(root).digest().subarray(0, 30)]).toString('base64');
}

function etag(item: Item): string {
  return `W/"${itemChangeKey(item)}"`;
}

function outlookItem(item: Item, ids: IdWriter): graph.OutlookItem & { '@odata.etag': string } {
  return {
    '@odata.etag': etag(item),
    id: ids.item(item),
    createdDateTime: iso(item.dateTimeCreated),
    lastModifiedDateTime: iso(item.lastModifiedTime),
    changeKey: itemChangeKey(item),
    categories: [...item.categories],
  };
}

/**
 * An entity type's properties as a table of getters, built once: `$select` computes only what it
 * names (bodies are the costly part), and no closures are made per item.
 */
type FieldTable<T, C> = readonly (readonly [keyof T & string, (context: C) => unknown])[];

/** Builds the entity from a field table: all fields, or the `$select`ed ones plus id and annotations. */
function tableEntity<T, C>(annotations: GraphJson, table: FieldTable<T, C>, context: C, select: readonly string[] | undefined): GraphJson {
  const out = annotations;
  if (!select || select.length === 0) {
    for (const [key, get] of table) out[key] = get(context);
    return out;
  }
  const wanted = new Set(select.map((s) => s.toLowerCase()));
  for (const [key, get] of table) if (key === 'id' || wanted.has(key.toLowerCase())) out[key] = get(context);
  return out;
}

/** Typed field: the getter must return the property's type in @microsoft/microsoft-graph-types. */
function field<T, C, K extends keyof T & string>(key: K, get: (context: C) => T[K]): readonly [K, (context: C) => unknown] {
  return [key, get];
}

interface MessageContext {
  readonly item: Item;
  readonly m: Partial<Message>;
  readonly folder: Folder;
  readonly ids: IdWriter;
}

const mf = <K extends keyof graph.Message & string>(key: K, get: (c: MessageContext) => graph.Message[K]) => field<graph.Message, MessageContext, K>(key, get);

const MESSAGE_FIELDS: FieldTable<graph.Message, MessageContext> = [
  mf('id', (c) => c.ids.item(c.item)),
  mf('createdDateTime', (c) => iso(c.item.dateTimeCreated)),
  mf('lastModifiedDateTime', (c) => iso(c.item.lastModifiedTime)),
  mf('changeKey', (c) => itemChangeKey(c.item)),
  mf('categories', (c) => [...c.item.categories]),
  mf('receivedDateTime', (c) => iso(c.item.dateTimeReceived)),
  mf('sentDateTime', (c) => iso(c.m.dateTimeSent)),
  mf('hasAttachments', (c) => c.item.attachments.some((a) => !a.isInline)),
  mf('internetMessageId', (c) => c.item.internetMessageId ?? null),
  mf('conversationId', (c) => conversationId(c.item)),
  mf('subject', (c) => c.item.subject),
  mf('bodyPreview', (c) => preview(c.item)),
  mf('importance', (c) => lowerFirst<graph.Importance>(c.item.importance)),
  mf('parentFolderId', (c) => c.ids.folder(c.folder)),
  mf('isDeliveryReceiptRequested', (c) => c.m.isDeliveryReceiptRequested ?? false),
  mf('isReadReceiptRequested', (c) => c.m.isReadReceiptRequested ?? false),
  mf('isRead', (c) => c.m.isRead ?? true),
  mf('isDraft', (c) => c.m.isDraft ?? false),
  mf('webLink', (c) => `https://outlook.office365.com/owa/?ItemID=${encodeURIComponent(c.item.id)}&exvsurl=1&viewmodel=ReadMessageItem`),
  mf('inferenceClassification', () => 'focused' as const),
  mf('body', (c) => body(c.item, c.ids.bodyType)),
  mf('sender', (c) => recipient(c.m.sender)),
  mf('from', (c) => recipient(c.m.from)),
  mf('toRecipients', (c) => recipients(c.m.toRecipients ?? [])),
  mf('ccRecipients', (c) => recipients(c.m.ccRecipients ?? [])),
  mf('bccRecipients', (c) => recipients(c.m.bccRecipients ?? [])),
  mf('replyTo', (c) => recipients(c.m.replyTo ?? [])),
  // PR_FLAG_STATUS (0x1090) as clients set it over EWS or Graph: 1 complete, 2 flagged, otherwise none.
  mf('flag', (c) => {
    const status = c.item.extendedProperties?.find((p) => p.key === 'tag:4240')?.value;
    return { flagStatus: status === '2' ? 'flagged' : status === '1' ? 'complete' : 'notFlagged' };
  }),
];

const NO_MESSAGE_FIELDS: Partial<Message> = {};

const MEETING_TYPE: Record<MeetingInfo['kind'], string> = {
  request: '#microsoft.graph.eventMessageRequest',
  response: '#microsoft.graph.eventMessageResponse',
  cancellation: '#microsoft.graph.eventMessage',
};

function meetingMessageType(meeting: MeetingInfo): graph.MeetingMessageType {
  if (meeting.kind === 'request') return 'meetingRequest';
  if (meeting.kind === 'cancellation') return 'meetingCancelled';
  return meeting.responseType === 'Accept' ? 'meetingAccepted' : meeting.responseType === 'Decline' ? 'meetingDeclined' : 'meetingTenativelyAccepted';
}

/**
 * The eventMessage properties of a meeting request, response or cancellation (derived types of
 * message, named by @odata.type as Graph does). `$select` names message properties only.
 */
function meetingFields(meeting: MeetingInfo): GraphJson {
  const common: graph.EventMessage = {
    meetingMessageType: meetingMessageType(meeting),
    startDateTime: dateTimeTimeZone(meeting.start),
    endDateTime: dateTimeTimeZone(meeting.end),
    location: { displayName: meeting.location, locationType: 'default', uniqueIdType: 'unknown' },
    isAllDay: meeting.isAllDayEvent,
    isOutOfDate: false,
    isDelegated: false,
    type: 'singleInstance',
  };
  if (meeting.kind === 'request') {
    const request: graph.EventMessageRequest = { ...common, meetingRequestType: meeting.isUpdate ? 'fullUpdate' : 'newMeetingRequest', responseRequested: true, allowNewTimeProposals: true };
    return asJson(request);
  }
  if (meeting.kind === 'response') {
    const response: graph.EventMessageResponse = { ...common, responseType: RESPONSE[meeting.responseType ?? 'Unknown'] };
    return asJson(response);
  }
  return asJson(common);
}

export function messageJson(item: Item, folder: Folder, ids: IdWriter, select?: readonly string[]): GraphJson {
  const meeting = item.kind === 'message' ? item.meeting : undefined;
  const context: MessageContext = { item, m: item.kind === 'message' ? item : NO_MESSAGE_FIELDS, folder, ids };
  const annotations: GraphJson = meeting ? { '@odata.type': MEETING_TYPE[meeting.kind], '@odata.etag': etag(item) } : { '@odata.etag': etag(item) };
  const entity = tableEntity(annotations, MESSAGE_FIELDS, context, select);
  return meeting && (!select || select.length === 0) ? Object.assign(entity, meetingFields(meeting)) : entity;
}

const RESPONSE: Record<NonNullable<Attendee['responseType']>, graph.ResponseType> = {
  Unknown: 'none',
  Organizer: 'organizer',
  Tentative: 'tentativelyAccepted',
  Accept: 'accepted',
  Decline: 'declined',
  NoResponseReceived: 'notResponded',
};

const SHOW_AS: Record<CalendarItem['legacyFreeBusyStatus'], graph.FreeBusyStatus> = {
  Free: 'free',
  Tentative: 'tentative',
  Busy: 'busy',
  OOF: 'oof',
  WorkingElsewhere: 'workingElsewhere',
  NoData: 'unknown',
};

function attendees(list: readonly Attendee[], type: graph.AttendeeType): graph.Attendee[] {
  return list.map((a) => ({
    type,
    status: { response: RESPONSE[a.responseType ?? 'NoResponseReceived'], time: '0001-01-01T00:00:00Z' },
    emailAddress: { name: a.mailbox.name ?? a.mailbox.address, address: a.mailbox.address },
  }));
}

export function eventJson(item: CalendarItem, mailbox: Mailbox, ids: IdWriter): GraphJson {
  const organizer = item.organizer ?? { name: mailbox.displayName, address: mailbox.smtpAddress };
  const event: graph.Event & { '@odata.etag': string } = {
    ...outlookItem(item, ids),
    originalStartTimeZone: 'UTC',
    originalEndTimeZone: 'UTC',
    iCalUId: item.uid,
    reminderMinutesBeforeStart: 15,
    isReminderOn: true,
    hasAttachments: item.attachments.some((a) => !a.isInline),
    subject: item.subject,
    bodyPreview: preview(item),
    importance: lowerFirst<graph.Importance>(item.importance),
    sensitivity: lowerFirst<graph.Sensitivity>(item.sensitivity),
    isAllDay: item.isAllDayEvent,
    isCancelled: item.isCancelled,
    isOrganizer: organizer.address.toLowerCase() === mailbox.smtpAddress,
    responseRequested: true,
    seriesMasterId: item.occurrenceOf ? toRestId(item.occurrenceOf.masterId) : null,
    showAs: SHOW_AS[item.legacyFreeBusyStatus],
    type: item.occurrenceOf ? (item.occurrenceOf.isException ? 'exception' : 'occurrence') : item.recurrence ? 'seriesMaster' : 'singleInstance',
    webLink: `https://outlook.office365.com/owa/?itemid=${encodeURIComponent(item.id)}&exvsurl=1&path=/calendar/item`,
    body: body(item, ids.bodyType),
    start: dateTimeTimeZone(item.start),
    end: dateTimeTimeZone(item.end),
    location: { displayName: item.location, locationType: 'default', uniqueIdType: 'unknown' },
    locations: item.location ? [{ displayName: item.location, locationType: 'default', uniqueIdType: 'unknown' }] : [],
    attendees: [...attendees(item.requiredAttendees, 'required'), ...attendees(item.optionalAttendees, 'optional')],
    organizer: recipient(organizer),
  };
  return asJson(event);
}

export function contactJson(item: Contact, folder: Folder, ids: IdWriter): GraphJson {
  const phones = (keys: readonly string[]): string[] => item.phoneNumbers.filter((p) => keys.includes(p.key)).map((p) => p.number);
  const contact: graph.Contact & { '@odata.etag': string } = {
    ...outlookItem(item, ids),
    parentFolderId: ids.folder(folder),
    birthday: null,
    fileAs: item.fileAs,
    displayName: item.displayName,
    givenName: item.givenName ?? null,
    surname: item.surname ?? null,
    jobTitle: item.jobTitle ?? null,
    companyName: item.companyName ?? null,
    department: item.department ?? null,
    businessPhones: phones(['BusinessPhone', 'BusinessPhone2']),
    homePhones: phones(['HomePhone', 'HomePhone2']),
    mobilePhone: phones(['MobilePhone'])[0] ?? null,
    emailAddresses: item.emailAddresses.map((e) => ({ name: e.name ?? e.address, address: e.address })),
    personalNotes: item.body.type === 'Text' ? item.body.content : preview(item),
  };
  return asJson(contact);
}

const TASK_STATUS: Record<Task['status'], graph.TaskStatus> = {
  NotStarted: 'notStarted',
  InProgress: 'inProgress',
  Completed: 'completed',
  WaitingOnOthers: 'waitingOnOthers',
  Deferred: 'deferred',
};

export function todoTaskJson(item: Task, ids: IdWriter): GraphJson {
  const task: graph.TodoTask & { '@odata.etag': string } = {
    '@odata.etag': etag(item),
    id: ids.item(item),
    title: item.subject,
    status: TASK_STATUS[item.status],
    importance: lowerFirst<graph.Importance>(item.importance),
    isReminderOn: false,
    createdDateTime: iso(item.dateTimeCreated)!,
    lastModifiedDateTime: iso(item.lastModifiedTime)!,
    bodyLastModifiedDateTime: iso(item.lastModifiedTime)!,
    hasAttachments: item.attachments.length > 0,
    categories: [...item.categories],
    body: body(item, ids.bodyType),
    ...(item.dueDate ? { dueDateTime: dateTimeTimeZone(item.dueDate) } : {}),
    ...(item.startDate ? { startDateTime: dateTimeTimeZone(item.startDate) } : {}),
    ...(item.completeDate ? { completedDateTime: dateTimeTimeZone(item.completeDate) } : {}),
  };
  return asJson(task);
}

const af = <K extends keyof graph.FileAttachment & string>(key: K, get: (a: Attachment) => graph.FileAttachment[K]) => field<graph.FileAttachment, Attachment, K>(key, get);

const ATTACHMENT_FIELDS: FieldTable<graph.FileAttachment, Attachment> = [
  af('id', (a) => toRestId(a.id)),
  af('lastModifiedDateTime', (a) => iso(a.lastModifiedTime)),
  af('name', (a) => a.name),
  af('contentType', (a) => a.contentType),
  af('size', (a) => a.content.byteLength),
  af('isInline', (a) => a.isInline),
  af('contentId', (a) => a.contentId ?? null),
  af('contentBytes', (a) => Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength).toString('base64')),
];

/** A file attachment (microsoft.graph.fileAttachment); contentBytes only without `$select`. */
export function attachmentJson(attachment: Attachment, select: readonly string[] | undefined): GraphJson {
  return tableEntity({ '@odata.type': '#microsoft.graph.fileAttachment' }, ATTACHMENT_FIELDS, attachment, select);
}

export function mailFolderJson(store: EwsStore, folder: Folder, ids: IdWriter): GraphJson {
  let unread = 0;
  for (const item of store.folderItems(folder)) if (item.kind === 'message' && !item.isRead) unread++;
  const parent = folder.parentId ? store.findFolderById(folder.parentId) : undefined;
  const json: graph.MailFolder = {
    id: ids.folder(folder),
    displayName: folder.displayName,
    parentFolderId: parent ? ids.folder(parent) : null,
    childFolderCount: store.childFolders(folder).length,
    unreadItemCount: unread,
    totalItemCount: folder.itemIds.size,
    isHidden: folder.hidden,
  };
  return asJson(json);
}

export function contactFolderJson(store: EwsStore, folder: Folder, ids: IdWriter): GraphJson {
  const parent = folder.parentId ? store.findFolderById(folder.parentId) : undefined;
  const json: graph.ContactFolder = { id: ids.folder(folder), displayName: folder.displayName, parentFolderId: parent ? ids.folder(parent) : null };
  return asJson(json);
}

/** A calendar as GET /users/{id}/calendars shows it; the rights are what the caller holds on the folder. */
export function calendarJson(folder: Folder, owner: Mailbox, ids: IdWriter, rights: { readonly canEdit: boolean; readonly isDefault: boolean }): GraphJson {
  const json: graph.Calendar = {
    id: ids.folder(folder),
    name: folder.displayName,
    changeKey: String(folder.version),
    isDefaultCalendar: rights.isDefault,
    canEdit: rights.canEdit,
    canShare: rights.canEdit,
    canViewPrivateItems: rights.canEdit,
    owner: { name: owner.displayName, address: owner.smtpAddress },
  };
  return asJson(json);
}

export function todoTaskListJson(folder: Folder, ids: IdWriter): GraphJson {
  const json: graph.TodoTaskList & { '@odata.etag': string } = {
    '@odata.etag': `W/"${folder.version}"`,
    id: ids.folder(folder),
    displayName: folder.displayName,
    isOwner: true,
    isShared: false,
    wellknownListName: folder.distinguishedName === 'tasks' ? 'defaultList' : 'none',
  };
  return asJson(json);
}

/** A user with Graph's default properties; department and companyName only when `$select` names them, as Graph does. */
export function userJson(mailbox: Mailbox, id: string, select?: readonly string[]): GraphJson {
  const person = directoryPerson(mailbox);
  const json: graph.User = {
    id,
    displayName: mailbox.displayName,
    mail: mailbox.smtpAddress,
    userPrincipalName: mailbox.userPrincipalName,
    businessPhones: [...person.businessPhones],
    givenName: person.givenName ?? null,
    surname: person.surname ?? null,
    jobTitle: person.jobTitle ?? null,
    mobilePhone: person.mobilePhone ?? null,
    officeLocation: person.officeLocation ?? null,
    preferredLanguage: null,
  };
  const wanted = new Set((select ?? []).map((s) => s.toLowerCase()));
  if (wanted.has('department')) json.department = person.department ?? null;
  if (wanted.has('companyname')) json.companyName = person.companyName ?? null;
  return asJson(json);
}

/**
 * Properties each entity type answers with (what `$select` may name). The schema test checks each
 * list against the entities the simulator produces and against Graph's CSDL.
 */
export const SELECTABLE_PROPERTIES = {
  message: ['id', 'createdDateTime', 'lastModifiedDateTime', 'changeKey', 'categories', 'receivedDateTime', 'sentDateTime', 'hasAttachments', 'internetMessageId', 'conversationId', 'subject', 'bodyPreview', 'importance', 'parentFolderId', 'isDeliveryReceiptRequested', 'isReadReceiptRequested', 'isRead', 'isDraft', 'webLink', 'inferenceClassification', 'body', 'sender', 'from', 'toRecipients', 'ccRecipients', 'bccRecipients', 'replyTo', 'flag'],
  event: ['id', 'createdDateTime', 'lastModifiedDateTime', 'changeKey', 'categories', 'originalStartTimeZone', 'originalEndTimeZone', 'iCalUId', 'reminderMinutesBeforeStart', 'isReminderOn', 'hasAttachments', 'subject', 'bodyPreview', 'importance', 'sensitivity', 'isAllDay', 'isCancelled', 'isOrganizer', 'responseRequested', 'seriesMasterId', 'showAs', 'type', 'webLink', 'body', 'start', 'end', 'location', 'locations', 'attendees', 'organizer'],
  contact: ['id', 'createdDateTime', 'lastModifiedDateTime', 'changeKey', 'categories', 'parentFolderId', 'birthday', 'fileAs', 'displayName', 'givenName', 'surname', 'jobTitle', 'companyName', 'department', 'businessPhones', 'homePhones', 'mobilePhone', 'emailAddresses', 'personalNotes'],
  todoTask: ['id', 'title', 'status', 'importance', 'isReminderOn', 'createdDateTime', 'lastModifiedDateTime', 'bodyLastModifiedDateTime', 'hasAttachments', 'categories', 'body', 'dueDateTime', 'startDateTime', 'completedDateTime'],
  mailFolder: ['id', 'displayName', 'parentFolderId', 'childFolderCount', 'unreadItemCount', 'totalItemCount', 'isHidden'],
  contactFolder: ['id', 'displayName', 'parentFolderId'],
  todoTaskList: ['id', 'displayName', 'isOwner', 'isShared', 'wellknownListName'],
  // Properties of microsoft.graph.attachment; fileAttachment's contentBytes and contentId come only without $select.
  attachment: ['id', 'lastModifiedDateTime', 'name', 'contentType', 'size', 'isInline'],
  user: ['id', 'displayName', 'mail', 'userPrincipalName', 'businessPhones', 'givenName', 'surname', 'jobTitle', 'mobilePhone', 'officeLocation', 'preferredLanguage', 'department', 'companyName'],
  person: ['id', 'displayName', 'givenName', 'surname', 'jobTitle', 'companyName', 'department', 'officeLocation', 'userPrincipalName', 'scoredEmailAddresses', 'phones', 'personType'],
} as const;
export type SelectableType = keyof typeof SELECTABLE_PROPERTIES;

/** The `$select` names that are not properties of the type (Graph answers 400 for them). */
export function unknownSelections(type: SelectableType, select: readonly string[]): string[] {
  const known = new Set<string>(SELECTABLE_PROPERTIES[type].map((p) => p.toLowerCase()));
  return select.filter((name) => !known.has(name.toLowerCase()));
}

/**
 * `$select`: only the named properties, plus what Graph always returns (id, @odata.* annotations).
 * Names are matched case-insensitively, as Graph does.
 */
export function project(entity: GraphJson, select: readonly string[] | undefined): GraphJson {
  if (!select || select.length === 0) return entity;
  const wanted = new Set(select.map((s) => s.toLowerCase()));
  const out: GraphJson = {};
  for (const [key, value] of Object.entries(entity)) {
    if (key === 'id' || key.startsWith('@odata.') || wanted.has(key.toLowerCase())) out[key] = value;
  }
  return out;
}
