/**
 * Turns ews-javascript-api objects into the plain shapes in types.ts. ews-javascript-api throws
 * when a property that was not loaded is read, so every read goes through `loaded()`: a property
 * the shape did not ask for comes back undefined instead of failing the whole item.
 */
import {
  Appointment,
  AppointmentType,
  DayOfTheWeek,
  DayOfTheWeekIndex,
  MeetingCancellation,
  MeetingRequest,
  MeetingResponse,
  MeetingResponseType,
  Month,
  type Recurrence,
  BodyType,
  Contact,
  DateTime,
  EmailAddressKey,
  EmailMessage,
  FileAttachment,
  Importance,
  Item,
  MeetingMessage,
  PhoneNumberKey,
  Task,
  TaskStatus,
  type Attachment,
  type EmailAddress as EwsEmailAddress,
  type Folder,
} from 'ews-javascript-api';
import type {
  AttachmentInfo,
  EmailAddress,
  EwsCalendarItem,
  EwsContact,
  EwsFolder,
  EwsItem,
  EwsItemKind,
  EwsMessage,
  EwsTask,
  MeetingMessageInfo,
  OccurrenceInfo,
  RecurrenceInfo,
} from './types';
import { calendarItemType, datePart, definedOnly, meetingMessageType, recurrenceInfo } from './calendar-fields';

/** The property's value, or undefined when it was not loaded (ews-javascript-api throws then). */
function loaded<T>(read: () => T): T | undefined {
  try {
    const value = read();
    return value === null ? undefined : value;
  } catch {
    return undefined;
  }
}

function isoDate(value: DateTime | undefined): string | undefined {
  if (!value) return undefined;
  const time = value.valueOf();
  return Number.isFinite(time) && time > 0 ? new Date(time).toISOString() : undefined;
}

function emailAddress(value: EwsEmailAddress | undefined): EmailAddress | undefined {
  if (!value) return undefined;
  const address = value.Address || undefined;
  const name = value.Name || undefined;
  return address === undefined && name === undefined ? undefined : { name, address };
}

function emailAddresses(collection: { GetEnumerator(): EwsEmailAddress[] } | undefined): EmailAddress[] {
  if (!collection) return [];
  return collection.GetEnumerator().flatMap((entry) => emailAddress(entry) ?? []);
}

function importance(value: Importance | undefined): 'low' | 'normal' | 'high' | undefined {
  if (value === Importance.Low) return 'low';
  if (value === Importance.High) return 'high';
  if (value === Importance.Normal) return 'normal';
  return undefined;
}

function attachmentInfo(attachment: Attachment): AttachmentInfo {
  return {
    id: loaded(() => attachment.Id) || undefined,
    kind: attachment instanceof FileAttachment ? 'file' : 'item',
    name: loaded(() => attachment.Name) || undefined,
    contentType: loaded(() => attachment.ContentType) || undefined,
    sizeInBytes: loaded(() => attachment.Size) || undefined,
    isInline: loaded(() => attachment.IsInline) ?? false,
    contentId: loaded(() => attachment.ContentId) || undefined,
  };
}

/** The EWS element kind of an item object. */
export function itemKind(item: Item): EwsItemKind {
  if (item instanceof MeetingMessage) return 'meetingMessage';
  if (item instanceof EmailMessage) return 'message';
  if (item instanceof Appointment) return 'calendarItem';
  if (item instanceof Contact) return 'contact';
  if (item instanceof Task) return 'task';
  return 'item';
}

function baseProperties(item: Item) {
  const body = loaded(() => item.Body);
  const bodyIsHtml = body ? body.BodyType === BodyType.HTML : false;
  const bodyContent = body ? (body.Text ?? '') : undefined;
  const attachments = loaded(() => item.Attachments);
  return {
    id: item.Id.UniqueId,
    changeKey: item.Id.ChangeKey || undefined,
    parentFolderId: loaded(() => item.ParentFolderId)?.UniqueId,
    itemClass: loaded(() => item.ItemClass) || undefined,
    subject: loaded(() => item.Subject) ?? undefined,
    categories: loaded(() => item.Categories)?.GetEnumerator() ?? [],
    importance: importance(loaded(() => item.Importance)),
    createdAt: isoDate(loaded(() => item.DateTimeCreated)),
    lastModifiedAt: isoDate(loaded(() => item.LastModifiedTime)),
    bodyText: body && !bodyIsHtml ? bodyContent : undefined,
    bodyHtml: body && bodyIsHtml ? bodyContent : undefined,
    hasAttachments: loaded(() => item.HasAttachments) ?? false,
    attachments: attachments ? attachments.GetEnumerator().map(attachmentInfo) : [],
  };
}

function meetingFields(item: MeetingMessage): MeetingMessageInfo {
  const element = item instanceof MeetingRequest ? 'MeetingRequest' : item instanceof MeetingResponse ? 'MeetingResponse' : item instanceof MeetingCancellation ? 'MeetingCancellation' : 'MeetingMessage';
  const response = loaded(() => item.ResponseType);
  const responseType = response === undefined ? undefined : MeetingResponseType[response];
  // Start, End and Location are declared by each meeting message class, not by MeetingMessage.
  const meeting = item as MeetingMessage & Partial<Pick<MeetingRequest, 'Start' | 'End' | 'Location'>>;
  return {
    messageType: meetingMessageType(element, responseType),
    responseType,
    associatedCalendarItemId: loaded(() => item.AssociatedAppointmentId)?.UniqueId || undefined,
    start: isoDate(loaded(() => meeting.Start)),
    end: isoDate(loaded(() => meeting.End)),
    location: loaded(() => meeting.Location) || undefined,
  };
}

function message(item: EmailMessage, kind: 'message' | 'meetingMessage'): EwsMessage {
  return {
    kind,
    ...baseProperties(item),
    from: emailAddress(loaded(() => item.From)),
    sender: emailAddress(loaded(() => item.Sender)),
    to: emailAddresses(loaded(() => item.ToRecipients)),
    cc: emailAddresses(loaded(() => item.CcRecipients)),
    bcc: emailAddresses(loaded(() => item.BccRecipients)),
    receivedAt: isoDate(loaded(() => item.DateTimeReceived)),
    sentAt: isoDate(loaded(() => item.DateTimeSent)),
    isRead: loaded(() => item.IsRead),
    internetMessageId: loaded(() => item.InternetMessageId) || undefined,
    conversationId: loaded(() => item.ConversationId)?.UniqueId,
    ...definedOnly({ meeting: item instanceof MeetingMessage ? meetingFields(item) : undefined }),
  };
}

/** The library's view of a series pattern: the element it was read from and the pattern's own values. */
interface LoadedPattern {
  readonly XmlElementName?: string;
  readonly Interval?: number;
  readonly DaysOfTheWeek?: { readonly Count: number; _getItem(index: number): DayOfTheWeek };
  readonly DayOfTheWeek?: DayOfTheWeek;
  readonly DayOfTheWeekIndex?: DayOfTheWeekIndex;
  readonly DayOfMonth?: number;
  readonly Month?: Month;
  readonly FirstDayOfWeek?: number;
}

const WEEKDAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

function daysOf(pattern: LoadedPattern): string[] {
  const days: string[] = [];
  const collection = loaded(() => pattern.DaysOfTheWeek);
  for (let index = 0; collection && index < collection.Count; index++) days.push(DayOfTheWeek[collection._getItem(index)]);
  const single = loaded(() => pattern.DayOfTheWeek);
  if (single !== undefined) days.push(DayOfTheWeek[single]);
  return days;
}

function recurrence(value: Recurrence | undefined): RecurrenceInfo | undefined {
  if (!value) return undefined;
  const pattern = value as unknown as LoadedPattern;
  const occurrences = loaded(() => value.NumberOfOccurrences);
  const endDate = loaded(() => value.EndDate);
  const index = loaded(() => pattern.DayOfTheWeekIndex);
  const month = loaded(() => pattern.Month);
  const firstDay = loaded(() => pattern.FirstDayOfWeek);
  return recurrenceInfo({
    patternElement: loaded(() => pattern.XmlElementName),
    interval: loaded(() => pattern.Interval),
    daysOfWeek: daysOf(pattern),
    dayOfMonth: loaded(() => pattern.DayOfMonth),
    month: month === undefined ? undefined : Month[month],
    dayOfWeekIndex: index === undefined ? undefined : DayOfTheWeekIndex[index],
    firstDayOfWeek: firstDay === undefined ? undefined : WEEKDAY_NAMES[firstDay],
    rangeElement: occurrences !== undefined ? 'NumberedRecurrence' : endDate ? 'EndDateRecurrence' : 'NoEndRecurrence',
    // Series dates are calendar days: the library parses them as local midnight, formatting gives the day back.
    startDate: datePart(loaded(() => value.StartDate)?.Format('YYYY-MM-DD')),
    endDate: datePart(endDate?.Format('YYYY-MM-DD')),
    numberOfOccurrences: occurrences,
  });
}

function occurrence(value: { ItemId: { UniqueId: string }; Start: DateTime; End: DateTime; OriginalStart: DateTime } | undefined): OccurrenceInfo | undefined {
  const itemId = value ? loaded(() => value.ItemId.UniqueId) : undefined;
  if (!value || !itemId) return undefined;
  return { itemId, start: isoDate(loaded(() => value.Start)), end: isoDate(loaded(() => value.End)), originalStart: isoDate(loaded(() => value.OriginalStart)) };
}

function seriesFields(item: Appointment): Partial<EwsCalendarItem> {
  const type = loaded(() => item.AppointmentType);
  const modified = (loaded(() => item.ModifiedOccurrences)?.GetEnumerator() ?? []).flatMap((entry) => occurrence(entry) ?? []);
  const deleted = (loaded(() => item.DeletedOccurrences)?.GetEnumerator() ?? []).flatMap((entry) => {
    const originalStart = isoDate(loaded(() => entry.OriginalStart));
    return originalStart ? [{ originalStart }] : [];
  });
  return definedOnly({
    calendarItemType: calendarItemType(type === undefined ? undefined : AppointmentType[type]),
    originalStart: isoDate(loaded(() => item.OriginalStart)),
    recurrence: recurrence(loaded(() => item.Recurrence)),
    firstOccurrence: occurrence(loaded(() => item.FirstOccurrence)),
    lastOccurrence: occurrence(loaded(() => item.LastOccurrence)),
    modifiedOccurrences: modified.length > 0 ? modified : undefined,
    deletedOccurrences: deleted.length > 0 ? deleted : undefined,
  });
}

function calendarItem(item: Appointment): EwsCalendarItem {
  return {
    kind: 'calendarItem',
    ...baseProperties(item),
    start: isoDate(loaded(() => item.Start)),
    end: isoDate(loaded(() => item.End)),
    isAllDay: loaded(() => item.IsAllDayEvent),
    location: loaded(() => item.Location) || undefined,
    organizer: emailAddress(loaded(() => item.Organizer)),
    requiredAttendees: emailAddresses(loaded(() => item.RequiredAttendees)),
    optionalAttendees: emailAddresses(loaded(() => item.OptionalAttendees)),
    ...seriesFields(item),
  };
}

function contact(item: Contact): EwsContact {
  const emails = loaded(() => item.EmailAddresses);
  const phones = loaded(() => item.PhoneNumbers);
  return {
    kind: 'contact',
    ...baseProperties(item),
    displayName: loaded(() => item.DisplayName) || undefined,
    givenName: loaded(() => item.GivenName) || undefined,
    surname: loaded(() => item.Surname) || undefined,
    companyName: loaded(() => item.CompanyName) || undefined,
    jobTitle: loaded(() => item.JobTitle) || undefined,
    emailAddresses: emails
      ? emails.Entries.Values.map((entry) => ({ key: EmailAddressKey[entry.Key] ?? String(entry.Key), address: entry.EmailAddress?.Address || undefined, name: entry.EmailAddress?.Name || undefined }))
      : [],
    phoneNumbers: phones
      ? phones.Entries.Values.filter((entry) => !!entry.PhoneNumber).map((entry) => ({ key: PhoneNumberKey[entry.Key] ?? String(entry.Key), number: entry.PhoneNumber }))
      : [],
  };
}

function task(item: Task): EwsTask {
  const status = loaded(() => item.Status);
  return {
    kind: 'task',
    ...baseProperties(item),
    dueDate: isoDate(loaded(() => item.DueDate)),
    startDate: isoDate(loaded(() => item.StartDate)),
    completedAt: isoDate(loaded(() => item.CompleteDate)),
    status: status === undefined ? undefined : TaskStatus[status],
    percentComplete: loaded(() => item.PercentComplete),
  };
}

/** A loaded ews-javascript-api item as a plain EwsItem. */
export function toEwsItem(item: Item): EwsItem {
  const kind = itemKind(item);
  if (kind === 'message' || kind === 'meetingMessage') return message(item as EmailMessage, kind);
  if (kind === 'calendarItem') return calendarItem(item as Appointment);
  if (kind === 'contact') return contact(item as Contact);
  if (kind === 'task') return task(item as Task);
  return { kind: 'item', ...baseProperties(item) };
}

/** A loaded ews-javascript-api folder as a plain EwsFolder. */
export function toEwsFolder(folder: Folder): EwsFolder {
  return {
    id: folder.Id.UniqueId,
    changeKey: folder.Id.ChangeKey || undefined,
    displayName: loaded(() => folder.DisplayName) ?? undefined,
    folderClass: loaded(() => folder.FolderClass) || undefined,
    parentFolderId: loaded(() => folder.ParentFolderId)?.UniqueId,
    totalCount: loaded(() => folder.TotalCount),
    unreadCount: loaded(() => folder.UnreadCount),
    childFolderCount: loaded(() => folder.ChildFolderCount),
  };
}
