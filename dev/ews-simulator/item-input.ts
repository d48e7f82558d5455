/**
 * Reading items from requests: t:Message / t:CalendarItem / t:Contact / t:Task elements in
 * CreateItem, and the single-property elements inside UpdateItem's SetItemField.
 */
import { readStoredProperties } from './extended-properties';
import { attachedMessageMime } from './mime';
import { readRecurrence } from './recurrence';
import type { AttachedMessage, StoredExtendedProperty, Attendee, Body, BodyType, EmailAddress, EmailAddressKey, Importance, ItemPatch, NewAttachment, NewItem, PhoneNumberKey, Sensitivity, TaskStatus } from './model';
import { EwsError } from './soap';
import { attr, child, childText, children, esc, parseBoolean, rawText, text, type Element } from './xml';

export const ITEM_ELEMENT_KINDS: Record<string, NewItem['kind']> = { Message: 'message', Item: 'message', CalendarItem: 'calendarItem', Contact: 'contact', Task: 'task' };

function date(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) throw new EwsError('ErrorInvalidRequest', `Invalid date: ${value}`);
  return parsed;
}

export function readEmailAddress(mailbox: Element | undefined): EmailAddress | undefined {
  if (!mailbox) return undefined;
  const address = childText(mailbox, 'EmailAddress');
  if (!address) return undefined;
  const name = childText(mailbox, 'Name');
  const routingType = childText(mailbox, 'RoutingType');
  return { address, ...(name ? { name } : {}), ...(routingType ? { routingType } : {}) };
}

function single(parent: Element, name: string): EmailAddress | undefined {
  const holder = child(parent, name);
  return holder ? readEmailAddress(child(holder, 'Mailbox')) : undefined;
}

function list(parent: Element, name: string): EmailAddress[] | undefined {
  const holder = child(parent, name);
  if (!holder) return undefined;
  return children(holder, 'Mailbox')
    .map(readEmailAddress)
    .filter((a): a is EmailAddress => !!a);
}

function attendeeList(parent: Element, name: string): Attendee[] | undefined {
  const holder = child(parent, name);
  if (!holder) return undefined;
  return children(holder, 'Attendee')
    .map((a) => readEmailAddress(child(a, 'Mailbox')))
    .filter((a): a is EmailAddress => !!a)
    .map((mailbox) => ({ mailbox, responseType: 'NoResponseReceived' as const }));
}

function body(parent: Element): Body | undefined {
  const element = child(parent, 'Body');
  if (!element) return undefined;
  return { type: (attr(element, 'BodyType') === 'HTML' ? 'HTML' : 'Text') as BodyType, content: rawText(element) ?? '' };
}

function strings(parent: Element, name: string): string[] | undefined {
  const holder = child(parent, name);
  return holder ? children(holder, 'String').map((s) => text(s) ?? '') : undefined;
}

/** An ItemAttachment's message (other attached item kinds are not modelled). */
function attachedMessage(attachment: Element): NewAttachment {
  const message = child(attachment, 'Message');
  if (!message) throw new EwsError('ErrorInvalidRequest', 'The simulator supports item attachments holding a Message.');
  const from = single(message, 'From');
  const sent = date(childText(message, 'DateTimeSent'));
  const messageId = childText(message, 'InternetMessageId');
  const attached: AttachedMessage = {
    subject: childText(message, 'Subject') ?? '',
    body: body(message) ?? { type: 'Text', content: '' },
    toRecipients: list(message, 'ToRecipients') ?? [],
    ccRecipients: list(message, 'CcRecipients') ?? [],
    ...(from ? { from } : {}),
    ...(sent ? { dateTimeSent: sent } : {}),
    ...(messageId ? { internetMessageId: messageId } : {}),
  };
  return { name: childText(attachment, 'Name') ?? (attached.subject || 'message'), contentType: 'message/rfc822', content: Buffer.from(attachedMessageMime(attached), 'utf8'), attachedMessage: attached, isInline: parseBoolean(childText(attachment, 'IsInline')) ?? false };
}

function attachments(parent: Element): NewAttachment[] | undefined {
  const holder = child(parent, 'Attachments');
  if (!holder) return undefined;
  const items = children(holder, 'ItemAttachment').map(attachedMessage);
  return [...items, ...children(holder, 'FileAttachment').map((a) => {
    const contentId = childText(a, 'ContentId');
    return {
      name: childText(a, 'Name') ?? 'attachment',
      contentType: childText(a, 'ContentType') ?? 'application/octet-stream',
      ...(contentId ? { contentId } : {}),
      isInline: parseBoolean(childText(a, 'IsInline')) ?? false,
      content: Buffer.from(childText(a, 'Content') ?? '', 'base64'),
    };
  })];
}

type Defined<T> = { [K in keyof T]: Exclude<T[K], undefined> };

/** Drops undefined values so optional properties stay absent (exactOptionalPropertyTypes-friendly). */
function compact<T extends object>(value: T): Partial<Defined<T>> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<Defined<T>>;
}

/** Reads a CreateItem item element. */
function extendedPropertiesOf(element: Element): StoredExtendedProperty[] | undefined {
  const properties = readStoredProperties(element);
  return properties.length > 0 ? properties : undefined;
}

export function readNewItem(element: Element): NewItem {
  const kind = ITEM_ELEMENT_KINDS[element.localName ?? ''];
  if (!kind) throw new EwsError('ErrorInvalidRequest', `Item type ${element.localName} is not supported by the simulator.`);
  const common = compact({
    subject: childText(element, 'Subject'),
    body: body(element),
    categories: strings(element, 'Categories'),
    importance: childText(element, 'Importance') as Importance | undefined,
    sensitivity: childText(element, 'Sensitivity') as Sensitivity | undefined,
    itemClass: childText(element, 'ItemClass'),
    attachments: attachments(element),
    inReplyTo: childText(element, 'InReplyTo'),
    internetMessageId: childText(element, 'InternetMessageId'),
    extendedProperties: extendedPropertiesOf(element),
  });
  switch (kind) {
    case 'message':
      return {
        kind,
        ...common,
        ...compact({
          from: single(element, 'From'),
          sender: single(element, 'Sender'),
          toRecipients: list(element, 'ToRecipients'),
          ccRecipients: list(element, 'CcRecipients'),
          bccRecipients: list(element, 'BccRecipients'),
          replyTo: list(element, 'ReplyTo'),
          isRead: parseBoolean(childText(element, 'IsRead')),
          isReadReceiptRequested: parseBoolean(childText(element, 'IsReadReceiptRequested')),
          isDeliveryReceiptRequested: parseBoolean(childText(element, 'IsDeliveryReceiptRequested')),
        }),
      };
    case 'calendarItem': {
      const start = date(childText(element, 'Start'));
      const end = date(childText(element, 'End'));
      if (!start || !end) throw new EwsError('ErrorInvalidRequest', 'A calendar item needs Start and End.');
      if (end < start) throw new EwsError('ErrorCalendarEndDateIsEarlierThanStartDate');
      return {
        kind,
        start,
        end,
        ...common,
        ...compact({
          location: childText(element, 'Location'),
          isAllDayEvent: parseBoolean(childText(element, 'IsAllDayEvent')),
          legacyFreeBusyStatus: childText(element, 'LegacyFreeBusyStatus') as 'Busy' | undefined,
          requiredAttendees: attendeeList(element, 'RequiredAttendees'),
          optionalAttendees: attendeeList(element, 'OptionalAttendees'),
          uid: childText(element, 'UID'),
          recurrence: readRecurrence(element),
        }),
      };
    }
    case 'contact': {
      const emails = child(element, 'EmailAddresses');
      const phones = child(element, 'PhoneNumbers');
      return {
        kind,
        ...common,
        ...compact({
          givenName: childText(element, 'GivenName'),
          surname: childText(element, 'Surname'),
          displayName: childText(element, 'DisplayName'),
          fileAs: childText(element, 'FileAs'),
          companyName: childText(element, 'CompanyName'),
          jobTitle: childText(element, 'JobTitle'),
          department: childText(element, 'Department'),
          emailAddresses: emails
            ? children(emails, 'Entry').map((e) => ({ key: (attr(e, 'Key') ?? 'EmailAddress1') as EmailAddressKey, address: text(e) ?? '', ...compact({ name: attr(e, 'Name') }) }))
            : undefined,
          phoneNumbers: phones ? children(phones, 'Entry').map((e) => ({ key: (attr(e, 'Key') ?? 'BusinessPhone') as PhoneNumberKey, number: text(e) ?? '' })) : undefined,
        }),
      };
    }
    case 'task':
      return {
        kind,
        ...common,
        ...compact({
          dueDate: date(childText(element, 'DueDate')),
          startDate: date(childText(element, 'StartDate')),
          status: childText(element, 'Status') as TaskStatus | undefined,
          percentComplete: childText(element, 'PercentComplete') !== undefined ? Number(childText(element, 'PercentComplete')) : undefined,
        }),
      };
  }
}

/** Read-only properties: setting them is ErrorInvalidPropertySet in Exchange. */
const READ_ONLY = new Set([
  'item:ItemId',
  'item:ParentFolderId',
  'item:DateTimeReceived',
  'item:DateTimeCreated',
  'item:DateTimeSent',
  'item:Size',
  'item:HasAttachments',
  'item:LastModifiedTime',
  'item:IsSubmitted',
  'item:IsFromMe',
  'item:IsResend',
  'item:IsUnmodified',
  'item:DisplayTo',
  'item:DisplayCc',
  'message:ConversationTopic',
  'message:InternetMessageId',
  'calendar:UID',
]);

/** The patch one SetItemField (uri + item element carrying the new value) stands for. */
export function readSetField(uri: string, itemElement: Element, fieldIndex?: string): ItemPatch {
  if (READ_ONLY.has(uri)) throw new EwsError('ErrorInvalidPropertySet', undefined, `<t:FieldURI FieldURI="${esc(uri)}"/>`);
  const value = (name: string): string => childText(itemElement, name) ?? '';
  switch (uri) {
    case 'item:Subject':
      return { subject: value('Subject') };
    case 'item:Body':
      return { body: body(itemElement) ?? { type: 'Text', content: '' } };
    case 'item:Categories':
      return { categories: strings(itemElement, 'Categories') ?? [] };
    case 'item:Importance':
      return { importance: value('Importance') as Importance };
    case 'item:Sensitivity':
      return { sensitivity: value('Sensitivity') as Sensitivity };
    case 'message:IsRead':
      return { isRead: parseBoolean(value('IsRead')) ?? false };
    case 'message:From':
      return { from: single(itemElement, 'From') ?? null };
    case 'message:ToRecipients':
      return { toRecipients: list(itemElement, 'ToRecipients') ?? [] };
    case 'message:CcRecipients':
      return { ccRecipients: list(itemElement, 'CcRecipients') ?? [] };
    case 'message:BccRecipients':
      return { bccRecipients: list(itemElement, 'BccRecipients') ?? [] };
    case 'calendar:Start':
      return { start: date(value('Start'))! };
    case 'calendar:End':
      return { end: date(value('End'))! };
    case 'calendar:Location':
      return { location: value('Location') };
    case 'calendar:IsAllDayEvent':
      return { isAllDayEvent: parseBoolean(value('IsAllDayEvent')) ?? false };
    case 'calendar:RequiredAttendees':
      return { requiredAttendees: attendeeList(itemElement, 'RequiredAttendees') ?? [] };
    case 'calendar:OptionalAttendees':
      return { optionalAttendees: attendeeList(itemElement, 'OptionalAttendees') ?? [] };
    case 'contacts:GivenName':
      return { givenName: value('GivenName') };
    case 'contacts:Surname':
      return { surname: value('Surname') };
    case 'contacts:DisplayName':
      return { displayName: value('DisplayName') };
    case 'contacts:FileAs':
      return { fileAs: value('FileAs') };
    case 'contacts:CompanyName':
      return { companyName: value('CompanyName') };
    case 'contacts:JobTitle':
      return { jobTitle: value('JobTitle') };
    case 'task:DueDate':
      return { dueDate: date(value('DueDate'))! };
    case 'task:StartDate':
      return { startDate: date(value('StartDate'))! };
    case 'task:Status':
      return { status: value('Status') as TaskStatus };
    case 'task:PercentComplete':
      return { percentComplete: Number(value('PercentComplete')) };
    default:
      void fieldIndex;
      throw new EwsError('ErrorInvalidPropertySet', `The simulator cannot set ${uri}.`, `<t:FieldURI FieldURI="${esc(uri)}"/>`);
  }
}

/** The patch a DeleteItemField stands for. */
export function readDeleteField(uri: string): ItemPatch {
  switch (uri) {
    case 'item:Categories':
      return { categories: [] };
    case 'item:Body':
      return { body: { type: 'Text', content: '' } };
    case 'message:CcRecipients':
      return { ccRecipients: [] };
    case 'message:BccRecipients':
      return { bccRecipients: [] };
    case 'message:From':
      return { from: null };
    case 'calendar:Location':
      return { location: '' };
    case 'calendar:OptionalAttendees':
      return { optionalAttendees: [] };
    case 'contacts:GivenName':
      return { givenName: null };
    case 'contacts:Surname':
      return { surname: null };
    case 'contacts:CompanyName':
      return { companyName: null };
    case 'contacts:JobTitle':
      return { jobTitle: null };
    case 'task:DueDate':
      return { dueDate: null };
    case 'task:StartDate':
      return { startDate: null };
    default:
      throw new EwsError('ErrorInvalidPropertyDelete', `The simulator cannot delete ${uri}.`, `<t:FieldURI FieldURI="${esc(uri)}"/>`);
  }
}
