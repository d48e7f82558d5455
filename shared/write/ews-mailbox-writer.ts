/**
 * The MailboxWriter over EWS (ews-javascript-api): CreateItem with SendMeetingInvitations,
 * UpdateItem with ConflictResolution NeverOverwrite against the application's ChangeKey (Exchange
 * itself refuses a stale one with ErrorIrresolvableConflict), DeleteItem with
 * SendMeetingCancellations, MoveItem, and FindItem restricted on our marker properties.
 * Short throttling back-offs are retried in-process by the shared policy; longer ones surface as
 * MailboxSourceError Throttled so the worker re-queues instead of sleeping.
 */
import {
  Appointment,
  BasePropertySet,
  ConflictResolutionMode,
  Contact,
  DateTime,
  DayOfTheWeek,
  DefaultExtendedPropertySet,
  DeleteMode,
  EmailAddress,
  EmailAddressKey,
  EmailMessage,
  ExtendedPropertyDefinition,
  FolderId,
  Item,
  ItemId,
  ItemView,
  MapiPropertyType,
  MessageBody,
  BodyType,
  PhoneNumberKey,
  PropertySet,
  Recurrence,
  SearchFilter,
  SendCancellationsMode,
  SendInvitationsMode,
  SendInvitationsOrCancellationsMode,
  StringList,
  Task,
  TaskStatus,
  WellKnownFolderName,
  type ExchangeService,
} from 'ews-javascript-api';
import { EwsResponseError, createThrottlingPolicy, getItems, withRetries } from '../ews';
import { xmlText } from '../ews/operations/send-message';
import type { MailboxClient, ThrottlingPolicy } from '../ews';
import { toMailboxSourceError } from '../sync/ews-mailbox-source';
import { MARKER_EXTERNAL_ID, MARKER_LAST_OPERATION_ID, MARKER_OPERATION_ID } from './mailbox-writer';
import type { CreateRequest, InvitationMode, ItemTarget, ItemVersion, MailOperation, MailboxWriter, WriteFields, WriteOutcome } from './mailbox-writer';
import type { CalendarFields, ContactFields, TaskFields, WriteItemType } from './write-operation';

const OPERATION_MARKER = new ExtendedPropertyDefinition(DefaultExtendedPropertySet.PublicStrings, MARKER_OPERATION_ID, MapiPropertyType.String);
const EXTERNAL_ID_MARKER = new ExtendedPropertyDefinition(DefaultExtendedPropertySet.PublicStrings, MARKER_EXTERNAL_ID, MapiPropertyType.String);
const LAST_OPERATION_MARKER = new ExtendedPropertyDefinition(DefaultExtendedPropertySet.PublicStrings, MARKER_LAST_OPERATION_ID, MapiPropertyType.String);
/** PR_FLAG_STATUS (MS-OXOFLAG): 0 none, 1 complete, 2 flagged. */
const FLAG_STATUS = new ExtendedPropertyDefinition(0x1090, MapiPropertyType.Integer);
const FLAG_VALUES = { notFlagged: 0, complete: 1, flagged: 2 } as const;

const FOLDERS: Readonly<Record<Exclude<WriteItemType, 'message'>, WellKnownFolderName>> = {
  calendarItem: WellKnownFolderName.Calendar,
  contact: WellKnownFolderName.Contacts,
  task: WellKnownFolderName.Tasks,
};

const DESTINATIONS: Readonly<Record<string, WellKnownFolderName>> = {
  inbox: WellKnownFolderName.Inbox,
  archive: WellKnownFolderName.ArchiveMsgFolderRoot,
  deleteditems: WellKnownFolderName.DeletedItems,
  junkemail: WellKnownFolderName.JunkEmail,
  drafts: WellKnownFolderName.Drafts,
  sentitems: WellKnownFolderName.SentItems,
};

const SEND_INVITATIONS: Readonly<Record<InvitationMode, SendInvitationsMode>> = {
  none: SendInvitationsMode.SendToNone,
  toAll: SendInvitationsMode.SendOnlyToAll,
  toAllAndSaveCopy: SendInvitationsMode.SendToAllAndSaveCopy,
};
const SEND_UPDATES: Readonly<Record<InvitationMode, SendInvitationsOrCancellationsMode>> = {
  none: SendInvitationsOrCancellationsMode.SendToNone,
  toAll: SendInvitationsOrCancellationsMode.SendOnlyToAll,
  toAllAndSaveCopy: SendInvitationsOrCancellationsMode.SendToAllAndSaveCopy,
};
const SEND_CANCELLATIONS: Readonly<Record<InvitationMode, SendCancellationsMode>> = {
  none: SendCancellationsMode.SendToNone,
  toAll: SendCancellationsMode.SendOnlyToAll,
  toAllAndSaveCopy: SendCancellationsMode.SendToAllAndSaveCopy,
};

/** Codes that say the expected version is stale. */
const CONFLICT_CODES = new Set(['ErrorIrresolvableConflict', 'ErrorChangeKeyRequiredForWriteOperations', 'ErrorStaleObject']);
const NOT_FOUND_CODES = new Set(['ErrorItemNotFound', 'ErrorInvalidIdMalformed', 'ErrorInvalidIdNotAnItemAttachmentId', 'ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange', 'ErrorCalendarOccurrenceIsDeletedFromRecurrence', 'ErrorInvalidIdMalformedEwsLegacyIdFormat', 'ErrorInvalidId']);
/** Response codes about the mailbox or the service, not the request: the throttling policy and the worker handle these. */
const PASSING_KINDS = new Set(['throttled', 'unavailable', 'authentication', 'disabled', 'tls', 'endpointNotFound', 'configuration']);

/**
 * ews-javascript-api writes element text and attribute values into the SOAP request unescaped
 * (see send-message.ts): every string from the application goes through xmlText, and versions,
 * which become a ChangeKey attribute, must be base64 (anything else cannot be current anyway).
 */
const CHANGE_KEY = /^[A-Za-z0-9+/=]{1,512}$/;

function dateTime(iso: string): DateTime {
  return new DateTime(new Date(iso).toISOString());
}

function body(value: { contentType: 'text' | 'html'; content: string }): MessageBody {
  return new MessageBody(value.contentType === 'html' ? BodyType.HTML : BodyType.Text, xmlText(value.content));
}

function setCategories(item: Item, categories: readonly string[]): void {
  const list = new StringList();
  for (const category of categories) list.Add(xmlText(category));
  item.Categories = list;
}

function recurrencePattern(fields: CalendarFields): Recurrence | undefined {
  const spec = fields.recurrence;
  if (!spec || !fields.start) return undefined;
  const start = dateTime(fields.start);
  let pattern: InstanceType<typeof Recurrence.IntervalPattern>;
  if (spec.pattern === 'daily') pattern = new Recurrence.DailyPattern();
  else if (spec.pattern === 'weekly') {
    const weekly = new Recurrence.WeeklyPattern();
    for (const day of spec.daysOfWeek ?? []) weekly.DaysOfTheWeek.Add(DayOfTheWeek[day]);
    pattern = weekly;
  } else {
    const monthly = new Recurrence.MonthlyPattern();
    monthly.DayOfMonth = spec.dayOfMonth ?? 1;
    pattern = monthly;
  }
  pattern.StartDate = start;
  pattern.Interval = spec.interval;
  if (spec.numberOfOccurrences !== undefined) pattern.NumberOfOccurrences = spec.numberOfOccurrences;
  else if (spec.endDate !== undefined) pattern.EndDate = dateTime(spec.endDate);
  else pattern.NeverEnds();
  return pattern;
}

function applyCalendar(item: Appointment, fields: CalendarFields): void {
  if (fields.subject !== undefined) item.Subject = xmlText(fields.subject);
  if (fields.body !== undefined) item.Body = body(fields.body);
  if (fields.start !== undefined) item.Start = dateTime(fields.start);
  if (fields.end !== undefined) item.End = dateTime(fields.end);
  if (fields.isAllDayEvent !== undefined) item.IsAllDayEvent = fields.isAllDayEvent;
  if (fields.location !== undefined) item.Location = xmlText(fields.location);
  if (fields.categories !== undefined) setCategories(item, fields.categories);
  if (fields.requiredAttendees !== undefined) {
    item.RequiredAttendees.Clear();
    for (const attendee of fields.requiredAttendees) item.RequiredAttendees.Add(xmlText(attendee));
  }
  if (fields.optionalAttendees !== undefined) {
    item.OptionalAttendees.Clear();
    for (const attendee of fields.optionalAttendees) item.OptionalAttendees.Add(xmlText(attendee));
  }
  const recurrence = recurrencePattern(fields);
  if (recurrence) item.Recurrence = recurrence;
}

function applyContact(item: Contact, fields: ContactFields): void {
  if (fields.givenName !== undefined) item.GivenName = xmlText(fields.givenName);
  if (fields.surname !== undefined) item.Surname = xmlText(fields.surname);
  if (fields.displayName !== undefined) item.DisplayName = xmlText(fields.displayName);
  if (fields.companyName !== undefined) item.CompanyName = xmlText(fields.companyName);
  if (fields.jobTitle !== undefined) item.JobTitle = xmlText(fields.jobTitle);
  if (fields.body !== undefined) item.Body = body(fields.body);
  if (fields.categories !== undefined) setCategories(item, fields.categories);
  const keys = [EmailAddressKey.EmailAddress1, EmailAddressKey.EmailAddress2, EmailAddressKey.EmailAddress3];
  fields.emailAddresses?.forEach((address, index) => item.EmailAddresses._setItem(keys[index]!, new EmailAddress(xmlText(address))));
  if (fields.businessPhone !== undefined) item.PhoneNumbers._setItem(PhoneNumberKey.BusinessPhone, xmlText(fields.businessPhone));
  if (fields.mobilePhone !== undefined) item.PhoneNumbers._setItem(PhoneNumberKey.MobilePhone, xmlText(fields.mobilePhone));
}

function applyTask(item: Task, fields: TaskFields): void {
  if (fields.subject !== undefined) item.Subject = xmlText(fields.subject);
  if (fields.body !== undefined) item.Body = body(fields.body);
  if (fields.startDate !== undefined) item.StartDate = dateTime(fields.startDate);
  if (fields.dueDate !== undefined) item.DueDate = dateTime(fields.dueDate);
  if (fields.status !== undefined) item.Status = TaskStatus[fields.status];
  if (fields.percentComplete !== undefined) item.PercentComplete = fields.percentComplete;
  if (fields.categories !== undefined) setCategories(item, fields.categories);
}

function applyFields(item: Item, write: WriteFields): void {
  if (write.itemType === 'calendarItem') applyCalendar(item as Appointment, write.fields);
  else if (write.itemType === 'contact') applyContact(item as Contact, write.fields);
  else applyTask(item as Task, write.fields);
}

function versionOf(item: Item): ItemVersion {
  return { itemId: item.Id.UniqueId, version: item.Id.ChangeKey };
}

async function masterVersion(service: ExchangeService, itemId: string): Promise<string> {
  return (await Item.Bind(service, new ItemId(itemId), new PropertySet(BasePropertySet.IdOnly))).Id.ChangeKey;
}

async function bindTarget(service: ExchangeService, target: ItemTarget): Promise<Item> {
  const properties = new PropertySet(BasePropertySet.FirstClassProperties);
  if (target.occurrenceIndex !== undefined) return Appointment.BindToOccurrence(service, new ItemId(target.itemId), target.occurrenceIndex, properties);
  return Item.Bind(service, new ItemId(target.itemId), properties);
}

export interface EwsMailboxWriterOptions {
  readonly policy?: ThrottlingPolicy;
  /** Longest back-off waited in-process. Default 2,000 ms. */
  readonly maxInlineDelayInMs?: number;
  readonly sleep?: (delayInMs: number) => Promise<void>;
}

export function createEwsMailboxWriter(client: MailboxClient, options: EwsMailboxWriterOptions = {}): MailboxWriter {
  const policy = options.policy ?? createThrottlingPolicy();
  const retryOptions = { maxInlineDelayInMs: options.maxInlineDelayInMs ?? 2_000, ...(options.sleep ? { sleep: options.sleep } : {}) };

  /** Runs one step; expected per-request answers become values, passing trouble a MailboxSourceError. */
  async function step(operation: string, call: (service: ExchangeService) => Promise<WriteOutcome>, onConflict?: () => Promise<WriteOutcome>): Promise<WriteOutcome> {
    try {
      return await withRetries(() => client.execute(operation, call), policy, retryOptions);
    } catch (error) {
      if (error instanceof EwsResponseError && !PASSING_KINDS.has(error.kind)) {
        if (CONFLICT_CODES.has(error.code)) return onConflict ? onConflict() : { kind: 'conflict', current: undefined, currentVersion: undefined };
        if (NOT_FOUND_CODES.has(error.code)) return { kind: 'notFound', message: `${error.code}: ${error.message}` };
        if (!isRequestLevel(error.code)) return { kind: 'rejected', code: error.code, message: error.message };
      }
      throw toMailboxSourceError(error);
    }
  }

  /** The item as it is now, for a conflict result; for an occurrence, its series master (what the application holds). */
  async function currentState(target: ItemTarget): Promise<WriteOutcome> {
    const [result] = await withRetries(() => getItems(client, [target.itemId], { bodyType: 'text' }), policy, retryOptions).catch((error: unknown) => {
      throw toMailboxSourceError(error);
    });
    if (!result || !result.ok) return { kind: 'conflict', current: undefined, currentVersion: undefined };
    return { kind: 'conflict', current: result.value, currentVersion: result.value.changeKey };
  }

  async function findByMarker(itemType: Exclude<WriteItemType, 'message'>, marker: ExtendedPropertyDefinition, value: string): Promise<ItemVersion | undefined> {
    try {
      return await withRetries(
        () =>
          client.execute('FindItem', async (service) => {
            const view = new ItemView(2);
            view.PropertySet = new PropertySet(BasePropertySet.IdOnly);
            const found = await service.FindItems(new FolderId(FOLDERS[itemType]), new SearchFilter.IsEqualTo(marker, xmlText(value)), view);
            const first = found.Items[0];
            return first ? versionOf(first) : undefined;
          }),
        policy,
        retryOptions,
      );
    } catch (error) {
      throw toMailboxSourceError(error);
    }
  }

  return {
    findCreated: (itemType, operationId) => findByMarker(itemType, OPERATION_MARKER, operationId),
    findByExternalId: (itemType, externalId) => findByMarker(itemType, EXTERNAL_ID_MARKER, externalId),

    create(request: CreateRequest) {
      return step('CreateItem', async (service) => {
        const { write } = request;
        const item: Item = write.itemType === 'calendarItem' ? new Appointment(service) : write.itemType === 'contact' ? new Contact(service) : new Task(service);
        applyFields(item, write);
        // The markers go in the same CreateItem: a crash after Exchange's answer still leaves them findable.
        item.SetExtendedProperty(OPERATION_MARKER, xmlText(request.operationId));
        if (request.externalId !== undefined) item.SetExtendedProperty(EXTERNAL_ID_MARKER, xmlText(request.externalId));
        if (item instanceof Appointment) await item.Save(WellKnownFolderName.Calendar, SEND_INVITATIONS[request.invitations]);
        else await item.Save(FOLDERS[write.itemType]);
        return { kind: 'written', ...versionOf(item) };
      });
    },

    async lastOperation(target) {
      try {
        return await withRetries(
          () =>
            client.execute('GetItem', async (service) => {
              const item = await Item.Bind(service, new ItemId(target.itemId), new PropertySet(BasePropertySet.IdOnly, [LAST_OPERATION_MARKER]));
              const value: { outValue: string | null } = { outValue: null };
              const operationId = item.ExtendedProperties.TryGetValue<string | null>(LAST_OPERATION_MARKER, value) && value.outValue !== null ? value.outValue : undefined;
              return { ...versionOf(item), operationId };
            }),
          policy,
          retryOptions,
        );
      } catch (error) {
        if (error instanceof EwsResponseError && NOT_FOUND_CODES.has(error.code)) return undefined;
        throw toMailboxSourceError(error);
      }
    },

    update(target, expectedVersion, write, invitations, operationId) {
      if (!CHANGE_KEY.test(expectedVersion)) return currentState(target);
      return step(
        'UpdateItem',
        async (service) => {
          const item = await bindTarget(service, target);
          if (target.occurrenceIndex !== undefined) {
            // The application knows the series by its master's version (sync reports the master): check that one.
            const before = await masterVersion(service, target.itemId);
            if (before !== expectedVersion) return { kind: 'conflict', current: undefined, currentVersion: undefined };
          } else {
            // Exchange compares the ChangeKey we send (the application's) with the item's: NeverOverwrite never forces.
            item.Id.ChangeKey = expectedVersion;
          }
          applyFields(item, write);
          // In the same UpdateItem: a retry after a crash finds its own write (a single occurrence carries no marker).
          if (target.occurrenceIndex === undefined) item.SetExtendedProperty(LAST_OPERATION_MARKER, xmlText(operationId));
          if (item instanceof Appointment) await item.Update(ConflictResolutionMode.NeverOverwrite, SEND_UPDATES[invitations]);
          else await item.Update(ConflictResolutionMode.NeverOverwrite);
          if (target.occurrenceIndex === undefined) return { kind: 'written', ...versionOf(item) };
          // An exception changes its master, and sync reports the master: its new version is ours too.
          const master = { itemId: target.itemId, version: await masterVersion(service, target.itemId) };
          return { kind: 'written', ...master, related: [master, versionOf(item)] };
        },
        () => currentState(target),
      );
    },

    async delete(target, expectedVersion, invitations) {
      if (!CHANGE_KEY.test(expectedVersion)) return currentState(target);
      const outcome = await step('DeleteItem', async (service) => {
        const item = await bindTarget(service, target);
        const current = target.occurrenceIndex !== undefined ? await masterVersion(service, target.itemId) : item.Id.ChangeKey;
        // DeleteItem takes no ChangeKey precondition: compare first, so a stale version deletes nothing.
        if (current !== expectedVersion) return { kind: 'conflict', current: undefined, currentVersion: current };
        const id = item.Id.UniqueId;
        if (item instanceof Appointment) await item.Delete(DeleteMode.MoveToDeletedItems, SEND_CANCELLATIONS[invitations]);
        else await item.Delete(DeleteMode.MoveToDeletedItems);
        if (target.occurrenceIndex === undefined) return { kind: 'deleted', itemId: id };
        // One occurrence removed: the master changed, and that is what sync reports.
        return { kind: 'deleted', itemId: id, related: [{ itemId: target.itemId, version: await masterVersion(service, target.itemId) }] };
      });
      return outcome.kind === 'conflict' && outcome.current === undefined ? currentState(target) : outcome;
    },

    apply(target, operation: MailOperation, expectedVersion) {
      if (expectedVersion !== undefined && !CHANGE_KEY.test(expectedVersion)) return currentState(target);
      const mode = expectedVersion === undefined ? ConflictResolutionMode.AutoResolve : ConflictResolutionMode.NeverOverwrite;
      return step(
        operation.kind === 'move' ? 'MoveItem' : 'UpdateItem',
        async (service) => {
          const item = await bindTarget(service, target);
          if (expectedVersion !== undefined) item.Id.ChangeKey = expectedVersion;
          if (operation.kind === 'move') {
            if (expectedVersion !== undefined) {
              const fresh = await Item.Bind(service, new ItemId(target.itemId), new PropertySet(BasePropertySet.IdOnly));
              if (fresh.Id.ChangeKey !== expectedVersion) return { kind: 'conflict', current: undefined, currentVersion: fresh.Id.ChangeKey };
            }
            const moved = await item.Move(DESTINATIONS[operation.destinationFolder] ?? WellKnownFolderName.Inbox);
            return { kind: 'written', ...versionOf(moved) };
          }
          if (operation.kind === 'setReadState') {
            if (!(item instanceof EmailMessage)) return { kind: 'rejected', code: 'ErrorInvalidPropertySet', message: 'The read state applies to messages only.' };
            item.IsRead = operation.isRead;
          } else if (operation.kind === 'setFlag') item.SetExtendedProperty(FLAG_STATUS, FLAG_VALUES[operation.flag]);
          else setCategories(item, operation.categories);
          // Read receipts are never sent on the application's behalf.
          if (item instanceof EmailMessage) await item.Update(mode, true);
          else await item.Update(mode);
          return { kind: 'written', ...versionOf(item) };
        },
        () => currentState(target),
      ).then((outcome) => (outcome.kind === 'conflict' && outcome.current === undefined ? currentState(target) : outcome));
    },
  };
}

function isRequestLevel(code: string): boolean {
  return ['ErrorServerBusy', 'ErrorExceededConnectionCount', 'ErrorMailboxStoreUnavailable', 'ErrorMailboxMoveInProgress', 'ErrorNonExistentMailbox', 'ErrorImpersonateUserDenied', 'ErrorImpersonationDenied', 'ErrorAccountDisabled', 'ErrorPasswordExpired', 'ErrorAccessDenied'].includes(code);
}
