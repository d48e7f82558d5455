/**
 * The MailboxWriter over Microsoft Graph: POST to create, PATCH and DELETE with `If-Match: <ETag>`
 * (Exchange answers a stale one with 412 ErrorIrresolvableConflict and writes nothing), `move`
 * for messages, and the connector's markers as single-value extended properties with the same
 * PublicStrings names the EWS writer uses, so an item created over EWS is found over Graph after
 * a migration (ids change; the marker stays on the item).
 *
 * Graph has no SendMeetingInvitations switch: an event with attendees sends invitations when it is
 * created, updates when it is changed and cancellations when the organizer deletes it. A request
 * asking for no invitations on a meeting is therefore refused (`rejected`, nothing written) rather
 * than silently sending mail the application did not want.
 *
 * Tasks are To Do tasks in the default list, the resource the Graph sync source reads. To Do tasks
 * carry no MAPI extended properties in Graph v1.0; their markers are linkedResources
 * (applicationName ExchangeConnector, displayName the marker's name, externalId its value).
 *
 * Versions: the application holds what sync reports (changeKey for events, contacts and messages;
 * the @odata.etag for To Do tasks). Exchange's ETag for an Outlook item is W/"<changeKey>", so a
 * changeKey is sent as that.
 */
import type * as Graph from '@microsoft/microsoft-graph-types';
import type { ChangeItem } from '../delivery/change-batch';
import { withRetries } from '../ews/throttling-policy';
import type { ThrottlingPolicy } from '../ews/throttling-policy';
import { GraphServiceError } from '../graph/errors';
import type { GraphMailbox } from '../graph/graph-client';
import { contactItem, eventItem, messageItem, todoTaskItem } from '../graph/item-mapping';
import { createGraphRetryPolicy } from '../graph/retry-policy';
import { findDefaultTodoList, graphToMailboxSourceError } from '../sync/graph-mailbox-source';
import { MARKER_EXTERNAL_ID, MARKER_LAST_OPERATION_ID, MARKER_OPERATION_ID } from './mailbox-writer';
import type { CreateRequest, InvitationMode, ItemVersion, MailOperation, MailboxWriter, WriteFields, WriteOutcome } from './mailbox-writer';
import type { CalendarFields, ContactFields, TaskFields, WriteItemType } from './write-operation';

/** PS_PUBLIC_STRINGS, the property set of the EWS writer's DefaultExtendedPropertySet.PublicStrings. */
const PUBLIC_STRINGS = '{00020329-0000-0000-C000-000000000046}';
/** Graph's id of a named string property: `String {guid} Name <name>`. */
export function graphMarkerId(name: string): string {
  return `String ${PUBLIC_STRINGS} Name ${name}`;
}
/** PR_FLAG_STATUS is what EWS sets; Graph has the `flag` property for messages. */
const FLAG_STATUS: Readonly<Record<'notFlagged' | 'flagged' | 'complete', Graph.FollowupFlagStatus>> = { notFlagged: 'notFlagged', flagged: 'flagged', complete: 'complete' };
export const LINKED_RESOURCE_APPLICATION = 'ExchangeConnector';

type ItemKind = Exclude<WriteItemType, 'message'>;
type Entity = Record<string, unknown> & { readonly id?: string; readonly changeKey?: string; readonly '@odata.etag'?: string };

/** The ETag Exchange expects for an item whose changeKey (or ETag) the application holds. */
export function ifMatchOf(version: string): string {
  return version.startsWith('W/"') || version.startsWith('"') ? version : `W/"${version}"`;
}

/** A version the application could have got from us; anything else cannot be current and must not reach a header. */
const VERSION = /^(W\/)?"?[A-Za-z0-9+/=_-]{1,512}"?$/;

function utc(iso: string): Graph.DateTimeTimeZone {
  // Graph's dateTimeTimeZone: a local date-time without offset, plus the zone it is in.
  return { dateTime: new Date(iso).toISOString().replace(/Z$/, ''), timeZone: 'UTC' };
}

function dateOnly(iso: string): string {
  return new Date(iso).toISOString().slice(0, 10);
}

function recurrence(fields: CalendarFields): Graph.PatternedRecurrence | undefined {
  const spec = fields.recurrence;
  if (!spec || !fields.start) return undefined;
  const pattern: Graph.RecurrencePattern = { type: spec.pattern, interval: spec.interval };
  if (spec.daysOfWeek) pattern.daysOfWeek = spec.daysOfWeek.map((day) => day.toLowerCase() as Graph.DayOfWeek);
  if (spec.dayOfMonth !== undefined) pattern.dayOfMonth = spec.dayOfMonth;
  const startDate = dateOnly(fields.start);
  const range: Graph.RecurrenceRange =
    spec.numberOfOccurrences !== undefined
      ? { type: 'numbered', startDate, numberOfOccurrences: spec.numberOfOccurrences }
      : spec.endDate !== undefined
        ? { type: 'endDate', startDate, endDate: dateOnly(spec.endDate) }
        : { type: 'noEnd', startDate };
  return { pattern, range };
}

function eventBody(fields: CalendarFields): Graph.Event {
  const event: Graph.Event = {};
  if (fields.subject !== undefined) event.subject = fields.subject;
  if (fields.body !== undefined) event.body = { contentType: fields.body.contentType, content: fields.body.content };
  if (fields.start !== undefined) event.start = utc(fields.start);
  if (fields.end !== undefined) event.end = utc(fields.end);
  if (fields.isAllDayEvent !== undefined) event.isAllDay = fields.isAllDayEvent;
  if (fields.location !== undefined) event.location = { displayName: fields.location };
  if (fields.categories !== undefined) event.categories = [...fields.categories];
  if (fields.requiredAttendees !== undefined || fields.optionalAttendees !== undefined) {
    event.attendees = [
      ...(fields.requiredAttendees ?? []).map((address): Graph.Attendee => ({ type: 'required', emailAddress: { address } })),
      ...(fields.optionalAttendees ?? []).map((address): Graph.Attendee => ({ type: 'optional', emailAddress: { address } })),
    ];
  }
  const pattern = recurrence(fields);
  if (pattern) event.recurrence = pattern;
  return event;
}

function contactBody(fields: ContactFields): Graph.Contact {
  const contact: Graph.Contact = {};
  if (fields.givenName !== undefined) contact.givenName = fields.givenName;
  if (fields.surname !== undefined) contact.surname = fields.surname;
  if (fields.displayName !== undefined) contact.displayName = fields.displayName;
  if (fields.companyName !== undefined) contact.companyName = fields.companyName;
  if (fields.jobTitle !== undefined) contact.jobTitle = fields.jobTitle;
  if (fields.emailAddresses !== undefined) contact.emailAddresses = fields.emailAddresses.map((address) => ({ address, name: address }));
  if (fields.businessPhone !== undefined) contact.businessPhones = [fields.businessPhone];
  if (fields.mobilePhone !== undefined) contact.mobilePhone = fields.mobilePhone;
  // Graph's contact has no body; Outlook shows personalNotes as the contact's notes (EWS Body).
  if (fields.body !== undefined) contact.personalNotes = fields.body.content;
  if (fields.categories !== undefined) contact.categories = [...fields.categories];
  return contact;
}

const TASK_STATUS: Readonly<Record<NonNullable<TaskFields['status']>, Graph.TaskStatus>> = {
  NotStarted: 'notStarted',
  InProgress: 'inProgress',
  Completed: 'completed',
  WaitingOnOthers: 'waitingOnOthers',
  Deferred: 'deferred',
};

function taskBody(fields: TaskFields): Graph.TodoTask {
  // percentComplete has no To Do counterpart: it is not written over Graph (docs/write-back.md).
  const task: Graph.TodoTask = {};
  if (fields.subject !== undefined) task.title = fields.subject;
  if (fields.body !== undefined) task.body = { contentType: fields.body.contentType, content: fields.body.content };
  if (fields.startDate !== undefined) task.startDateTime = utc(fields.startDate);
  if (fields.dueDate !== undefined) task.dueDateTime = utc(fields.dueDate);
  if (fields.status !== undefined) task.status = TASK_STATUS[fields.status];
  if (fields.categories !== undefined) task.categories = [...fields.categories];
  return task;
}

function bodyOf(write: WriteFields): Record<string, unknown> {
  if (write.itemType === 'calendarItem') return eventBody(write.fields) as Record<string, unknown>;
  if (write.itemType === 'contact') return contactBody(write.fields) as Record<string, unknown>;
  return taskBody(write.fields) as Record<string, unknown>;
}

function hasAttendees(fields: CalendarFields): boolean {
  return (fields.requiredAttendees?.length ?? 0) + (fields.optionalAttendees?.length ?? 0) > 0;
}

/** Fields whose change Exchange sends to a meeting's attendees as an update (categories are the organizer's own). */
function notifiesAttendees(fields: CalendarFields): boolean {
  return (['subject', 'body', 'start', 'end', 'isAllDayEvent', 'location', 'requiredAttendees', 'optionalAttendees'] as const).some((name) => fields[name] !== undefined);
}

const NO_SILENT_INVITATIONS: WriteOutcome = {
  kind: 'rejected',
  code: 'InvitationsNotSuppressible',
  message: 'Microsoft Graph always notifies the attendees of a meeting it creates, changes or deletes; send the operation with sendInvitations "toAll" (nothing was written).',
};

/** OData string literal inside $filter: quotes doubled. */
function odataString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

export interface GraphMailboxWriterOptions {
  readonly policy?: ThrottlingPolicy;
  /** Longest back-off waited in-process. Default 2,000 ms. */
  readonly maxInlineDelayInMs?: number;
  readonly sleep?: (delayInMs: number) => Promise<void>;
}

export function createGraphMailboxWriter(client: GraphMailbox, options: GraphMailboxWriterOptions = {}): MailboxWriter {
  const policy = options.policy ?? createGraphRetryPolicy();
  const retryOptions = { maxInlineDelayInMs: options.maxInlineDelayInMs ?? 2_000, ...(options.sleep ? { sleep: options.sleep } : {}) };
  const user = client.userPath;
  let todoListId: string | undefined;
  const utcPrefer = { prefer: 'outlook.timezone="UTC", outlook.body-content-type="text"' };

  const call = <T>(operation: () => Promise<T>): Promise<T> => withRetries(operation, policy, retryOptions);

  async function defaultTodoList(): Promise<string> {
    return (todoListId ??= await findDefaultTodoList(client));
  }

  async function collection(itemType: ItemKind): Promise<string> {
    if (itemType === 'calendarItem') return `${user}/events`;
    if (itemType === 'contact') return `${user}/contacts`;
    return `${user}/todo/lists/${encodeURIComponent(await defaultTodoList())}/tasks`;
  }

  async function itemPath(itemType: WriteItemType, itemId: string): Promise<string> {
    if (itemType === 'message') return `${user}/messages/${encodeURIComponent(itemId)}`;
    return `${await collection(itemType)}/${encodeURIComponent(itemId)}`;
  }

  /** The version sync reports for an entity of this kind (see the file comment). */
  function versionOf(itemType: WriteItemType, entity: Entity): ItemVersion {
    const version = itemType === 'task' ? entity['@odata.etag'] : (entity.changeKey ?? entity['@odata.etag']);
    return { itemId: String(entity.id ?? ''), version: String(version ?? '') };
  }

  function changeItem(itemType: WriteItemType, entity: Entity): ChangeItem {
    if (itemType === 'calendarItem') return eventItem(entity as Graph.Event);
    if (itemType === 'contact') return contactItem(entity as Graph.Contact);
    if (itemType === 'task') return todoTaskItem(entity as Graph.TodoTask);
    return messageItem(entity as Graph.Message);
  }

  /** The item as it is now, for a conflict result. */
  async function currentState(itemType: WriteItemType, itemId: string): Promise<WriteOutcome> {
    try {
      const entity = await call(async () => client.get<Entity>(await itemPath(itemType, itemId), utcPrefer));
      const current = changeItem(itemType, entity);
      return { kind: 'conflict', current, currentVersion: versionOf(itemType, entity).version };
    } catch (error) {
      if (error instanceof GraphServiceError && error.kind === 'notFound') return { kind: 'notFound', message: `${error.code}: ${error.message}` };
      throw graphToMailboxSourceError(error);
    }
  }

  /**
   * Runs one write; expected per-request answers become values (412 → conflict with the current
   * item, 404 → notFound, other 4xx → rejected), passing trouble a MailboxSourceError.
   */
  async function step(itemType: WriteItemType, itemId: string | undefined, run: () => Promise<WriteOutcome>): Promise<WriteOutcome> {
    try {
      return await call(run);
    } catch (error) {
      if (error instanceof GraphServiceError) {
        if (error.statusCode === 412 && itemId !== undefined) return currentState(itemType, itemId);
        if (error.kind === 'notFound') return { kind: 'notFound', message: `${error.code}: ${error.message}` };
        if (error.kind === 'badRequest') return { kind: 'rejected', code: error.code, message: error.message };
      }
      throw graphToMailboxSourceError(error);
    }
  }

  /** A series' occurrences and exceptions in start order, as Graph lists its instances (at most `limit`). */
  async function instancesOf(masterId: string, limit: number): Promise<Entity[]> {
    const master = await client.get<Entity & Graph.Event>(`${user}/events/${encodeURIComponent(masterId)}?$select=id,start`, utcPrefer);
    const first = master.start?.dateTime ? Date.parse(`${master.start.dateTime.replace(/Z$/, '')}Z`) : Date.now();
    // instances needs a window: from the series' first occurrence, long enough for 999 weekly occurrences.
    const start = new Date(first - 86_400_000).toISOString();
    const end = new Date(first + 20 * 366 * 86_400_000).toISOString();
    const instances: Entity[] = [];
    const path = `${user}/events/${encodeURIComponent(masterId)}/instances?startDateTime=${encodeURIComponent(start)}&endDateTime=${encodeURIComponent(end)}&$select=id,changeKey,start,type`;
    for await (const page of client.pages<Entity>(path, utcPrefer)) {
      instances.push(...page.value);
      if (instances.length >= limit) break;
    }
    return instances.slice(0, limit);
  }

  /** The occurrence `index` (1-based, in start order) of a series master. */
  async function occurrence(masterId: string, index: number): Promise<Entity | undefined> {
    return (await instancesOf(masterId, index))[index - 1];
  }

  /**
   * The versions sync over Graph will report for a series: calendarView shows a series as its
   * occurrences, each with its own id and a changeKey that moves with the master's, so every one
   * the connector caused is recorded as its own (echo suppression). At most 500.
   */
  async function seriesVersions(masterId: string): Promise<ItemVersion[]> {
    return (await instancesOf(masterId, 500)).filter((instance) => instance.id).map((instance) => versionOf('calendarItem', instance));
  }

  async function findByMarker(itemType: ItemKind, name: string, value: string): Promise<ItemVersion | undefined> {
    try {
      return await call(async () => {
        const base = await collection(itemType);
        if (itemType === 'task') {
          // To Do tasks: the marker is a linked resource; Graph cannot filter on it, so the list is read with them expanded.
          for await (const page of client.pages<Entity & { linkedResources?: Graph.LinkedResource[] }>(`${base}?$expand=linkedResources`)) {
            const found = page.value.find((task) => task.linkedResources?.some((r) => r.applicationName === LINKED_RESOURCE_APPLICATION && r.displayName === name && r.externalId === value));
            if (found) return versionOf(itemType, found);
          }
          return undefined;
        }
        const filter = `singleValueExtendedProperties/Any(ep: ep/id eq ${odataString(graphMarkerId(name))} and ep/value eq ${odataString(value)})`;
        const page = await client.page<Entity>(`${base}?$filter=${encodeURIComponent(filter)}&$select=id,changeKey&$top=2`);
        const first = page.value[0];
        return first ? versionOf(itemType, first) : undefined;
      });
    } catch (error) {
      throw graphToMailboxSourceError(error);
    }
  }

  function markers(itemType: ItemKind, request: CreateRequest): Record<string, unknown> {
    const list: [string, string][] = [[MARKER_OPERATION_ID, request.operationId]];
    if (request.externalId !== undefined) list.push([MARKER_EXTERNAL_ID, request.externalId]);
    if (itemType === 'task') return { linkedResources: list.map(([displayName, externalId]) => ({ applicationName: LINKED_RESOURCE_APPLICATION, displayName, externalId })) };
    return { singleValueExtendedProperties: list.map(([name, value]) => ({ id: graphMarkerId(name), value })) };
  }

  /** Checks the series master's version (what the application holds for a series) before touching one occurrence. */
  async function masterConflict(masterId: string, expectedVersion: string): Promise<WriteOutcome | undefined> {
    const master = await client.get<Entity>(`${user}/events/${encodeURIComponent(masterId)}?$select=id,changeKey`);
    return versionOf('calendarItem', master).version === expectedVersion || ifMatchOf(versionOf('calendarItem', master).version) === ifMatchOf(expectedVersion) ? undefined : currentState('calendarItem', masterId);
  }

  return {
    findCreated: (itemType, operationId) => findByMarker(itemType, MARKER_OPERATION_ID, operationId),
    findByExternalId: (itemType, externalId) => findByMarker(itemType, MARKER_EXTERNAL_ID, externalId),

    create(request) {
      const { write } = request;
      if (write.itemType === 'calendarItem' && request.invitations === 'none' && hasAttendees(write.fields)) return Promise.resolve(NO_SILENT_INVITATIONS);
      return step(write.itemType, undefined, async () => {
        // The markers go in the same POST: a crash after Graph's answer still leaves them findable.
        const created = await client.post<Entity>(await collection(write.itemType), { ...bodyOf(write), ...markers(write.itemType, request) });
        const written = versionOf(write.itemType, created);
        if (created.type !== 'seriesMaster') return { kind: 'written', ...written };
        return { kind: 'written', ...written, related: [written, ...(await seriesVersions(written.itemId))] };
      });
    },

    async update(target, expectedVersion, write, invitations: InvitationMode, operationId) {
      if (!VERSION.test(expectedVersion)) return currentState(write.itemType, target.itemId);
      return step(write.itemType, target.itemId, async () => {
        // A change the attendees would be told about, with no invitations wanted: refused (Graph would send them).
        if (write.itemType === 'calendarItem' && invitations === 'none' && notifiesAttendees(write.fields) && (hasAttendees(write.fields) || (await isMeeting(target.itemId)))) return NO_SILENT_INVITATIONS;
        if (target.occurrenceIndex === undefined) {
          // The marker goes in the same PATCH: a retry after a crash finds its own write (To Do tasks have no extended properties).
          const marker = write.itemType === 'task' ? {} : { singleValueExtendedProperties: [{ id: graphMarkerId(MARKER_LAST_OPERATION_ID), value: operationId }] };
          const updated = await client.patch<Entity>(await itemPath(write.itemType, target.itemId), { ...bodyOf(write), ...marker }, { 'if-match': ifMatchOf(expectedVersion) });
          const written = versionOf(write.itemType, updated);
          if (updated.type !== 'seriesMaster') return { kind: 'written', ...written };
          return { kind: 'written', ...written, related: [written, ...(await seriesVersions(written.itemId))] };
        }
        const stale = await masterConflict(target.itemId, expectedVersion);
        if (stale) return stale;
        const instance = await occurrence(target.itemId, target.occurrenceIndex);
        if (!instance?.id) return { kind: 'notFound', message: `The series has no occurrence ${target.occurrenceIndex}.` };
        // The instance's own ETag, read just now: a change between that read and this PATCH is refused by Exchange.
        const updated = await client.patch<Entity>(`${user}/events/${encodeURIComponent(instance.id)}`, bodyOf(write), { 'if-match': ifMatchOf(versionOf('calendarItem', instance).version) });
        const master = versionOf('calendarItem', await client.get<Entity>(`${user}/events/${encodeURIComponent(target.itemId)}?$select=id,changeKey`));
        // Sync over Graph reports the changed occurrence itself (an exception), sync over EWS the master: both are ours.
        return { kind: 'written', ...master, related: [master, versionOf('calendarItem', updated), ...(await seriesVersions(target.itemId))] };
      });
    },

    async delete(target, expectedVersion, invitations) {
      const itemType = target.itemType ?? 'calendarItem';
      if (!VERSION.test(expectedVersion)) return currentState(itemType, target.itemId);
      return step(itemType, target.itemId, async () => {
        if (target.occurrenceIndex === undefined) {
          if (itemType === 'calendarItem' && invitations === 'none' && (await isMeeting(target.itemId))) return NO_SILENT_INVITATIONS;
          await client.delete(await itemPath(itemType, target.itemId), { 'if-match': ifMatchOf(expectedVersion) });
          return { kind: 'deleted', itemId: target.itemId };
        }
        const stale = await masterConflict(target.itemId, expectedVersion);
        if (stale) return stale;
        const instance = await occurrence(target.itemId, target.occurrenceIndex);
        if (!instance?.id) return { kind: 'notFound', message: `The series has no occurrence ${target.occurrenceIndex}.` };
        if (invitations === 'none' && (await isMeeting(target.itemId))) return NO_SILENT_INVITATIONS;
        await client.delete(`${user}/events/${encodeURIComponent(instance.id)}`, { 'if-match': ifMatchOf(versionOf('calendarItem', instance).version) });
        const master = versionOf('calendarItem', await client.get<Entity>(`${user}/events/${encodeURIComponent(target.itemId)}?$select=id,changeKey`));
        // Sync over Graph reports the occurrence as removed; over EWS the master as changed.
        return { kind: 'deleted', itemId: instance.id, related: [master, ...(await seriesVersions(target.itemId))] };
      });
    },

    async lastOperation(target) {
      const itemType = target.itemType ?? 'calendarItem';
      const expand = itemType === 'task' || itemType === 'message' ? '' : `&$expand=${encodeURIComponent(`singleValueExtendedProperties($filter=id eq ${odataString(graphMarkerId(MARKER_LAST_OPERATION_ID))})`)}`;
      try {
        const entity = await call(async () => client.get<Entity & { singleValueExtendedProperties?: { id?: string; value?: string }[] }>(`${await itemPath(itemType, target.itemId)}?$select=id,changeKey${expand}`));
        const operationId = entity.singleValueExtendedProperties?.find((p) => typeof p.value === 'string')?.value;
        return { ...versionOf(itemType, entity), operationId };
      } catch (error) {
        if (error instanceof GraphServiceError && error.kind === 'notFound') return undefined;
        throw graphToMailboxSourceError(error);
      }
    },

    apply(target, operation: MailOperation, expectedVersion) {
      if (expectedVersion !== undefined && !VERSION.test(expectedVersion)) return currentState('message', target.itemId);
      const headers: Record<string, string> = expectedVersion !== undefined ? { 'if-match': ifMatchOf(expectedVersion) } : {};
      return step('message', target.itemId, async () => {
        const path = await itemPath('message', target.itemId);
        if (operation.kind === 'move') {
          // move takes no If-Match: compare first, so a stale version moves nothing.
          if (expectedVersion !== undefined) {
            const now = await client.get<Entity>(`${path}?$select=id,changeKey`);
            if (ifMatchOf(versionOf('message', now).version) !== ifMatchOf(expectedVersion)) return currentState('message', target.itemId);
          }
          const moved = await client.post<Entity>(`${path}/move`, { destinationId: operation.destinationFolder });
          return { kind: 'written', ...versionOf('message', moved) };
        }
        const body: Graph.Message =
          operation.kind === 'setReadState' ? { isRead: operation.isRead } : operation.kind === 'setFlag' ? { flag: { flagStatus: FLAG_STATUS[operation.flag] } } : { categories: [...operation.categories] };
        const updated = await client.patch<Entity>(path, body, headers);
        return { kind: 'written', ...versionOf('message', updated) };
      });
    },
  };

  async function isMeeting(eventId: string): Promise<boolean> {
    const event = await client.get<Graph.Event>(`${user}/events/${encodeURIComponent(eventId)}?$select=id,attendees`);
    return (event.attendees?.length ?? 0) > 0;
  }
}
