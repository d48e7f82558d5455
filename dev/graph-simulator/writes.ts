/**
 * Graph writes on events, contacts, To Do tasks and messages, as Exchange Online answers them:
 *
 * - POST creates (201 and the entity); PATCH changes (200 and the entity); DELETE removes (204).
 * - `If-Match` is compared with the item's current ETag (W/"<changeKey>", the same key EWS shows):
 *   a different one is 412 ErrorIrresolvableConflict and nothing changes. Without If-Match the
 *   write is unconditional, as in Graph.
 * - Events with attendees: creating one sends invitations (requests in the attendees' inboxes, a
 *   tentative copy in their calendars, the request in the organizer's Sent Items), changing one
 *   sends updates, deleting the organizer's copy sends cancellations. Graph has no switch for it.
 * - Recurring events: `recurrence` on POST; GET events/{id}/instances lists occurrences and
 *   exceptions in a window; PATCH or DELETE of an instance id changes or removes that occurrence.
 * - singleValueExtendedProperties: set on POST/PATCH, read with $expand (optionally with
 *   `$filter=id eq '...'`), searched with `$filter=singleValueExtendedProperties/Any(ep: ep/id eq
 *   '...' and ep/value eq '...')`. They are the same MAPI properties EWS reads and writes.
 * - To Do tasks: linkedResources set on POST and read with $expand=linkedResources.
 */
import type { CalendarItem, Contact, EwsStore, Folder, Item, ItemPatch, Mailbox, NewItem, Recurrence, StoredExtendedProperty, Task, TaskStatus, Weekday } from '../ews-simulator/model';
import { decodeOccurrenceId } from '../ews-simulator/ids';
import { itemChangeKey } from '../ews-simulator/item-xml';
import { sendCancellations, sendInvitations } from '../ews-simulator/meetings';
import { expandSeries, occurrenceByIndex, occurrenceView } from '../ews-simulator/recurrence';
import type { GraphRequest, GraphResponse } from './api';
import type { Permission } from './auth';
import { contactJson, eventJson, type GraphJson, type IdWriter, project, todoTaskJson } from './entities';
import { GraphError, graphErrors } from './errors';
import { decodeImmutableId, fromRestId } from './ids';

/** What the write routes need from the API object (ids, folders, the request's preferences). */
export interface WriteHost {
  readonly store: EwsStore;
  baseUrl(): string;
  ids(request: GraphRequest): IdWriter;
  /** The current store id an id segment names (plain or immutable), or undefined. */
  resolveId(mailbox: Mailbox, segment: string): string | undefined;
  folder(mailbox: Mailbox, segment: string): Folder;
  /** The message entity (as GET messages/{id} answers it). */
  messageEntity(item: Item, request: GraphRequest): GraphJson;
}

interface Route {
  readonly operation: string;
  readonly permission: Permission;
  run(): GraphResponse;
}

const JSON_HEADERS = { 'content-type': 'application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8' };

function answer(body: unknown, kind: GraphResponse['kind'], status = 200): GraphResponse {
  return { status, headers: { ...JSON_HEADERS }, body, kind };
}

export const preconditionFailed = (): GraphError =>
  new GraphError(412, 'ErrorIrresolvableConflict', 'The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.');

interface PropertyRef {
  readonly key: string;
  readonly type: string;
  readonly graphId: string;
  readonly pathXml: string;
}

const TYPES = new Set(['String', 'Integer', 'Boolean', 'SystemTime', 'Long', 'Short']);

/** A Graph extended-property id (`String {guid} Name X`, `Integer {guid} Id 0x8501`, `String 0x007D`) as the store's key. */
export function propertyRef(id: string): PropertyRef {
  const named = /^(\w+)\s+\{([0-9a-fA-F-]{36})\}\s+(Name|Id)\s+(.+)$/.exec(id.trim());
  if (named && TYPES.has(named[1]!)) {
    const [, type, guid, how, rawMember] = named as unknown as [string, string, string, string, string];
    const set = guid.toLowerCase();
    if (how === 'Id') {
      const number = /^0x[0-9a-f]{1,4}$/i.test(rawMember) ? parseInt(rawMember.slice(2), 16) : Number(rawMember);
      if (!Number.isInteger(number)) throw graphErrors.badRequest(`The extended property id '${id}' is not valid.`, 'ErrorInvalidProperty');
      return { key: `${set}|id:${number}`, type, graphId: `${type} {${set}} Id 0x${number.toString(16)}`, pathXml: `<t:ExtendedFieldURI PropertySetId="${set}" PropertyId="${number}" PropertyType="${type}"/>` };
    }
    return { key: `${set}|name:${rawMember}`, type, graphId: `${type} {${set}} Name ${rawMember}`, pathXml: `<t:ExtendedFieldURI PropertySetId="${set}" PropertyName="${xmlAttr(rawMember)}" PropertyType="${type}"/>` };
  }
  const tagged = /^(\w+)\s+0x([0-9a-fA-F]{1,4})$/.exec(id.trim());
  if (tagged && TYPES.has(tagged[1]!)) {
    const tag = parseInt(tagged[2]!, 16);
    return { key: `tag:${tag}`, type: tagged[1]!, graphId: `${tagged[1]} 0x${tag.toString(16)}`, pathXml: `<t:ExtendedFieldURI PropertyTag="0x${tag.toString(16)}" PropertyType="${tagged[1]}"/>` };
  }
  throw graphErrors.badRequest(`The extended property id '${id}' is not valid.`, 'ErrorInvalidProperty');
}

function xmlAttr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A stored property's Graph id (named properties of PublicStrings and other sets; tags). */
function graphIdOf(property: StoredExtendedProperty): string | undefined {
  const named = /^([0-9a-f-]{36})\|name:(.*)$/s.exec(property.key);
  if (named) return `${property.type} {${named[1]}} Name ${named[2]}`;
  const numbered = /^([0-9a-f-]{36})\|id:(\d+)$/.exec(property.key);
  if (numbered) return `${property.type} {${numbered[1]}} Id 0x${Number(numbered[2]).toString(16)}`;
  const tag = /^tag:(\d+)$/.exec(property.key);
  return tag ? `${property.type} 0x${Number(tag[1]).toString(16).padStart(4, '0')}` : undefined;
}

/** Items keep linked resources of To Do tasks as simulator-private properties (not MAPI names a client could ask for). */
const LINKED_PREFIX = 'simulator:linkedResource|';

function readExtendedProperties(value: unknown, problems: string[]): StoredExtendedProperty[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.push('singleValueExtendedProperties: expected a collection of microsoft.graph.singleValueLegacyExtendedProperty');
    return [];
  }
  const out: StoredExtendedProperty[] = [];
  value.forEach((entry, index) => {
    const e = entry as { id?: unknown; value?: unknown } | null;
    if (!e || typeof e.id !== 'string' || typeof e.value !== 'string') {
      problems.push(`singleValueExtendedProperties[${index}]: id and value (Edm.String) are required`);
      return;
    }
    const ref = propertyRef(e.id);
    out.push({ key: ref.key, type: ref.type, pathXml: ref.pathXml, value: e.value });
  });
  return out;
}

function readLinkedResources(value: unknown, problems: string[]): StoredExtendedProperty[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.push('linkedResources: expected a collection of microsoft.graph.linkedResource');
    return [];
  }
  return value.flatMap((entry, index) => {
    const e = entry as Record<string, unknown> | null;
    const fields = ['applicationName', 'displayName', 'externalId', 'webUrl'] as const;
    if (!e || fields.some((f) => e[f] !== undefined && typeof e[f] !== 'string')) {
      problems.push(`linkedResources[${index}]: applicationName, displayName, externalId and webUrl are Edm.String`);
      return [];
    }
    const json = JSON.stringify(Object.fromEntries(fields.filter((f) => e[f] !== undefined).map((f) => [f, e[f]])));
    return [{ key: `${LINKED_PREFIX}${index}`, type: 'String', pathXml: '', value: json }];
  });
}

function linkedResourcesOf(item: Item): GraphJson[] {
  return (item.extendedProperties ?? [])
    .filter((p) => p.key.startsWith(LINKED_PREFIX))
    .map((p) => ({ id: Buffer.from(`${item.id}|${p.key}`).toString('base64url').slice(-36), ...(JSON.parse(String(p.value)) as GraphJson) }));
}

function dateOf(value: unknown, field: string, problems: string[]): Date | undefined {
  if (value === undefined || value === null) return undefined;
  const v = value as { dateTime?: unknown; timeZone?: unknown };
  if (typeof v.dateTime !== 'string') {
    problems.push(`${field}: expected a microsoft.graph.dateTimeTimeZone`);
    return undefined;
  }
  const zone = typeof v.timeZone === 'string' ? v.timeZone : 'UTC';
  if (!/^(UTC|Etc\/UTC|GMT)$/i.test(zone)) {
    problems.push(`${field}.timeZone: the simulator accepts UTC only`);
    return undefined;
  }
  const time = Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(v.dateTime) ? v.dateTime : `${v.dateTime}Z`);
  if (!Number.isFinite(time)) {
    problems.push(`${field}.dateTime: not a date-time`);
    return undefined;
  }
  return new Date(time);
}

function stringOf(body: Record<string, unknown>, key: string, problems: string[]): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') problems.push(`${key}: expected Edm.String`);
  return typeof value === 'string' ? value : undefined;
}

function stringsOf(body: Record<string, unknown>, key: string, problems: string[]): string[] | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    problems.push(`${key}: expected a collection of Edm.String`);
    return undefined;
  }
  return value as string[];
}

function bodyOf(value: unknown, field: string, problems: string[]): { type: 'HTML' | 'Text'; content: string } | undefined {
  if (value === undefined || value === null) return undefined;
  const b = value as { contentType?: unknown; content?: unknown };
  const type = typeof b.contentType === 'string' ? b.contentType.toLowerCase() : 'text';
  if ((type !== 'text' && type !== 'html') || typeof b.content !== 'string') {
    problems.push(`${field}: expected a microsoft.graph.itemBody (contentType text or html, content)`);
    return undefined;
  }
  return { type: type === 'html' ? 'HTML' : 'Text', content: b.content };
}

const WEEKDAYS: Readonly<Record<string, Weekday>> = { sunday: 'Sunday', monday: 'Monday', tuesday: 'Tuesday', wednesday: 'Wednesday', thursday: 'Thursday', friday: 'Friday', saturday: 'Saturday' };

function recurrenceOf(value: unknown, problems: string[]): Recurrence | undefined {
  if (value === undefined || value === null) return undefined;
  const r = value as { pattern?: Record<string, unknown>; range?: Record<string, unknown> };
  const p = r.pattern ?? {};
  const g = r.range ?? {};
  const interval = typeof p.interval === 'number' && p.interval >= 1 ? p.interval : 1;
  let pattern: Recurrence['pattern'] | undefined;
  if (p.type === 'daily') pattern = { kind: 'Daily', interval };
  else if (p.type === 'weekly') {
    const days = Array.isArray(p.daysOfWeek) ? p.daysOfWeek.map((d) => WEEKDAYS[String(d).toLowerCase()]) : [];
    if (days.length === 0 || days.some((d) => !d)) problems.push('recurrence.pattern.daysOfWeek: required for a weekly pattern');
    else pattern = { kind: 'Weekly', interval, daysOfWeek: days as Weekday[] };
  } else if (p.type === 'absoluteMonthly' && typeof p.dayOfMonth === 'number') pattern = { kind: 'AbsoluteMonthly', interval, dayOfMonth: p.dayOfMonth };
  else problems.push('recurrence.pattern.type: the simulator supports daily, weekly and absoluteMonthly');
  const startDate = typeof g.startDate === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(g.startDate) ? g.startDate : undefined;
  if (!startDate) problems.push('recurrence.range.startDate: required (yyyy-mm-dd)');
  let range: Recurrence['range'] | undefined;
  if (startDate) {
    if (g.type === 'numbered' && typeof g.numberOfOccurrences === 'number' && g.numberOfOccurrences >= 1) range = { kind: 'Numbered', startDate, numberOfOccurrences: g.numberOfOccurrences };
    else if (g.type === 'endDate' && typeof g.endDate === 'string') range = { kind: 'EndDate', startDate, endDate: g.endDate };
    else if (g.type === 'noEnd') range = { kind: 'NoEnd', startDate };
    else problems.push('recurrence.range: type numbered (with numberOfOccurrences), endDate (with endDate) or noEnd');
  }
  return pattern && range ? { pattern, range } : undefined;
}

function attendeesOf(value: unknown, problems: string[]): { required: CalendarItem['requiredAttendees']; optional: CalendarItem['optionalAttendees'] } | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    problems.push('attendees: expected a collection of microsoft.graph.attendee');
    return undefined;
  }
  const required: CalendarItem['requiredAttendees'] = [];
  const optional: CalendarItem['optionalAttendees'] = [];
  value.forEach((entry, index) => {
    const a = entry as { type?: unknown; emailAddress?: { address?: unknown; name?: unknown } } | null;
    const address = a?.emailAddress?.address;
    if (typeof address !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(address)) return void problems.push(`attendees[${index}].emailAddress.address: expected an SMTP address`);
    const attendee = { mailbox: { address, ...(typeof a?.emailAddress?.name === 'string' ? { name: a.emailAddress.name } : {}) } };
    (a?.type === 'optional' ? optional : required).push(attendee);
  });
  return { required, optional };
}

const EVENT_KEYS = new Set(['subject', 'body', 'start', 'end', 'isAllDay', 'location', 'attendees', 'categories', 'recurrence', 'singleValueExtendedProperties']);
const CONTACT_KEYS = new Set(['givenName', 'surname', 'displayName', 'companyName', 'jobTitle', 'emailAddresses', 'businessPhones', 'mobilePhone', 'personalNotes', 'categories', 'singleValueExtendedProperties']);
const TASK_KEYS = new Set(['title', 'body', 'startDateTime', 'dueDateTime', 'status', 'categories', 'linkedResources']);
const MESSAGE_KEYS = new Set(['isRead', 'categories', 'flag', 'singleValueExtendedProperties']);

function unknownKeys(body: Record<string, unknown>, allowed: ReadonlySet<string>, type: string, problems: string[]): void {
  for (const key of Object.keys(body)) if (!key.startsWith('@odata.') && !allowed.has(key)) problems.push(`${key}: the simulator does not write this property of microsoft.graph.${type}`);
}

function fail(problems: readonly string[]): void {
  if (problems.length > 0) throw graphErrors.badRequest(`Invalid request body: ${problems.join('; ')}.`, 'ErrorInvalidProperty');
}

function requireObject(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw graphErrors.badRequest('The request body must be a JSON object.', 'BadRequest');
  return body as Record<string, unknown>;
}

/** The item's ETag as Graph writes it in @odata.etag. */
export function etagOf(item: Item): string {
  return `W/"${itemChangeKey(item)}"`;
}

/** If-Match: `*` or the current ETag (weak comparison, as Exchange does); anything else → 412, nothing written. */
function checkIfMatch(request: GraphRequest, item: Item): void {
  const wanted = request.headers['if-match'];
  if (wanted === undefined) return;
  const current = etagOf(item);
  const strip = (tag: string) => tag.trim().replace(/^W\//, '');
  if (!wanted.split(',').some((tag) => tag.trim() === '*' || strip(tag) === strip(current))) throw preconditionFailed();
}

const TASK_STATUS: Readonly<Record<string, TaskStatus>> = { notStarted: 'NotStarted', inProgress: 'InProgress', completed: 'Completed', waitingOnOthers: 'WaitingOnOthers', deferred: 'Deferred' };

/** A quoted OData string literal at the start of `text` ('' is a quote); the value and the rest. */
function literal(text: string): [string, string] | undefined {
  const match = /^'((?:[^']|'')*)'/.exec(text);
  return match ? [match[1]!.replaceAll("''", "'"), text.slice(match[0].length)] : undefined;
}

/** `singleValueExtendedProperties/Any(ep: ep/id eq '...' and ep/value eq '...')`: the property and the value wanted. */
export function extendedPropertyFilter(filter: string): { ref: PropertyRef; value: string | undefined } {
  const head = /^\s*singleValueExtendedProperties\/any\(\s*(\w+)\s*:\s*\1\/id\s+eq\s+/i.exec(filter);
  const bad = () => graphErrors.badRequest(`The simulator supports $filter=singleValueExtendedProperties/Any(ep: ep/id eq '...' and ep/value eq '...') only; got: ${filter.slice(0, 200)}`, 'ErrorInvalidUrlQueryFilter');
  if (!head) throw bad();
  const id = literal(filter.slice(head[0].length));
  if (!id) throw bad();
  const alias = head[1]!;
  let rest = id[1].trim();
  let value: string | undefined;
  const and = new RegExp(`^and\\s+${alias}\\/value\\s+eq\\s+`, 'i').exec(rest);
  if (and) {
    const parsed = literal(rest.slice(and[0].length));
    if (!parsed) throw bad();
    value = parsed[0];
    rest = parsed[1].trim();
  }
  if (rest !== ')') throw bad();
  return { ref: propertyRef(id[0]), value };
}

export function matchesProperty(item: Item, ref: PropertyRef, value: string | undefined): boolean {
  return (item.extendedProperties ?? []).some((p) => p.key === ref.key && p.type === ref.type && (value === undefined || p.value === value));
}

/** `$expand=singleValueExtendedProperties($filter=id eq '...')` (or without a filter): the properties to show; undefined when not asked. */
function expandedProperties(request: GraphRequest, item: Item): GraphJson[] | undefined {
  const expand = request.query.get('$expand');
  if (expand === null) return undefined;
  const match = /^singleValueExtendedProperties(?:\(\$filter=id\s+eq\s+('(?:[^']|'')*')\))?$/i.exec(expand.trim());
  if (!match) throw graphErrors.badRequest(`The simulator expands singleValueExtendedProperties (optionally with $filter=id eq '...') only; got: ${expand.slice(0, 200)}`, 'BadRequest');
  const only = match[1] ? propertyRef(literal(match[1])![0]) : undefined;
  return (item.extendedProperties ?? [])
    .filter((p) => !p.key.startsWith(LINKED_PREFIX) && (!only || (p.key === only.key && p.type === only.type)))
    .flatMap((p) => {
      const id = graphIdOf(p);
      return id && typeof p.value === 'string' ? [{ id, value: p.value }] : [];
    });
}

export class GraphWrites {
  constructor(private readonly host: WriteHost) {}

  /** The write routes (and the reads they need: lists with $filter, instances, $expand); undefined for anything else. */
  route(method: string, rest: readonly string[], request: GraphRequest, mailbox: Mailbox): Route | undefined {
    const [a, b, c, d, e] = rest.map((s) => s);
    const al = a?.toLowerCase();
    const n = rest.length;
    const write = (area: Permission['area']): Permission => ({ area, write: true });
    const read = (area: Permission['area']): Permission => ({ area, write: false });
    const events = (al === 'events' && n === 1) || (al === 'calendar' && b?.toLowerCase() === 'events' && n === 2);
    if (events && method === 'POST') return { operation: 'createEvent', permission: write('calendars'), run: () => this.createEvent(request, mailbox) };
    if (events && method === 'GET') return { operation: 'listEvents', permission: read('calendars'), run: () => this.list(request, mailbox, 'calendarItem', this.host.store.getFolder(mailbox.smtpAddress, { distinguished: 'calendar' })) };
    if (al === 'events' && n === 2 && method === 'PATCH') return { operation: 'updateEvent', permission: write('calendars'), run: () => this.updateEvent(request, mailbox, b!) };
    if (al === 'events' && n === 2 && method === 'DELETE') return { operation: 'deleteEvent', permission: write('calendars'), run: () => this.deleteEvent(request, mailbox, b!) };
    if (al === 'events' && n === 2 && method === 'GET' && request.query.has('$expand')) return { operation: 'getEvent', permission: read('calendars'), run: () => this.getExpanded(request, mailbox, b!, 'calendarItem') };
    if (al === 'events' && n === 3 && c?.toLowerCase() === 'instances' && method === 'GET') return { operation: 'listInstances', permission: read('calendars'), run: () => this.instances(request, mailbox, b!) };
    if (al === 'contacts' && n === 1 && method === 'POST') return { operation: 'createContact', permission: write('contacts'), run: () => this.createContact(request, mailbox) };
    if (al === 'contacts' && n === 1 && method === 'GET') return { operation: 'listContacts', permission: read('contacts'), run: () => this.list(request, mailbox, 'contact', this.host.store.getFolder(mailbox.smtpAddress, { distinguished: 'contacts' })) };
    if (al === 'contacts' && n === 2 && b?.toLowerCase() !== 'delta') {
      if (method === 'PATCH') return { operation: 'updateContact', permission: write('contacts'), run: () => this.updateContact(request, mailbox, b!) };
      if (method === 'DELETE') return { operation: 'deleteContact', permission: write('contacts'), run: () => this.deleteItem(request, mailbox, b!, 'contact') };
      if (method === 'GET' && request.query.has('$expand')) return { operation: 'getContact', permission: read('contacts'), run: () => this.getExpanded(request, mailbox, b!, 'contact') };
    }
    if (al === 'todo' && b?.toLowerCase() === 'lists' && d?.toLowerCase() === 'tasks') {
      const list = () => this.todoList(mailbox, c!);
      if (n === 4 && method === 'POST') return { operation: 'createTask', permission: write('tasks'), run: () => this.createTask(request, mailbox, list()) };
      if (n === 4 && method === 'GET') return { operation: 'listTasks', permission: read('tasks'), run: () => this.list(request, mailbox, 'task', list()) };
      if (n === 5 && e?.toLowerCase() !== 'delta' && method === 'PATCH') return { operation: 'updateTask', permission: write('tasks'), run: () => this.updateTask(request, mailbox, e!, list()) };
      if (n === 5 && e?.toLowerCase() !== 'delta' && method === 'DELETE') return { operation: 'deleteTask', permission: write('tasks'), run: () => this.deleteItem(request, mailbox, e!, 'task', list()) };
    }
    if (al === 'messages' && n === 2 && method === 'PATCH') return { operation: 'updateMessage', permission: write('mail'), run: () => this.updateMessage(request, mailbox, b!) };
    if (al === 'messages' && n === 2 && method === 'DELETE') return { operation: 'deleteMessage', permission: write('mail'), run: () => this.deleteItem(request, mailbox, b!, 'message') };
    return undefined;
  }

  // ---- lookups ------------------------------------------------------------------------------

  private todoList(mailbox: Mailbox, segment: string): Folder {
    const folder = this.host.folder(mailbox, segment);
    if (!folder.folderClass.startsWith('IPF.Task')) throw graphErrors.folderNotFound();
    return folder;
  }

  /** An item of this kind in this mailbox (and list); 404 otherwise. */
  private item(mailbox: Mailbox, segment: string, kind: Item['kind'], list?: Folder): Item {
    const id = this.host.resolveId(mailbox, segment);
    const item = id ? this.host.store.getItem(id) : undefined;
    if (!item || item.mailbox !== mailbox.smtpAddress || item.kind !== kind || (list && item.folderId !== list.id)) throw graphErrors.itemNotFound();
    // events/{id} and contacts/{id} name items in calendar and contact folders; one deleted (in Deleted Items) is gone for them.
    const folderClass = this.host.store.findFolderById(item.folderId)?.folderClass ?? '';
    if ((kind === 'calendarItem' && !folderClass.startsWith('IPF.Appointment')) || (kind === 'contact' && !folderClass.startsWith('IPF.Contact'))) throw graphErrors.itemNotFound();
    return item;
  }

  /** An event id: a stored event, or one occurrence of a stored series (as instances and calendarView name them). */
  private eventTarget(mailbox: Mailbox, segment: string): { master: CalendarItem; index?: number } {
    const immutable = decodeImmutableId(segment);
    const origin = immutable ? (immutable.mailbox === mailbox.smtpAddress ? immutable.originId : undefined) : fromRestId(segment);
    const occurrence = origin ? decodeOccurrenceId(origin) : undefined;
    if (occurrence) {
      const master = this.host.store.getItem(occurrence.masterId);
      if (!master || master.kind !== 'calendarItem' || master.mailbox !== mailbox.smtpAddress || !master.recurrence) throw graphErrors.itemNotFound();
      return { master, index: occurrence.index };
    }
    return { master: this.item(mailbox, segment, 'calendarItem') as CalendarItem };
  }

  private occurrence(master: CalendarItem, index: number): CalendarItem {
    try {
      return occurrenceByIndex(master, index);
    } catch {
      throw graphErrors.itemNotFound();
    }
  }

  // ---- entities -------------------------------------------------------------------------------

  private entity(request: GraphRequest, mailbox: Mailbox, item: Item, context: string): GraphJson {
    const ids = this.host.ids(request);
    const folder = this.host.store.findFolderById(item.folderId)!;
    let json: GraphJson;
    if (item.kind === 'calendarItem') json = eventJson(item, mailbox, ids);
    else if (item.kind === 'contact') json = contactJson(item as Contact, folder, ids);
    else if (item.kind === 'task') json = todoTaskJson(item as Task, ids);
    else json = this.host.messageEntity(item, request);
    const select = request.query.get('$select');
    json = project(json, select === null ? undefined : select.split(',').map((s) => s.trim()).filter(Boolean));
    const expanded = item.kind === 'task' ? undefined : expandedProperties(request, item);
    if (expanded) json.singleValueExtendedProperties = expanded;
    if (item.kind === 'task' && request.query.get('$expand')?.trim().toLowerCase() === 'linkedresources') json.linkedResources = linkedResourcesOf(item);
    return { '@odata.context': `${this.host.baseUrl()}/$metadata#${context}`, ...json };
  }

  private getExpanded(request: GraphRequest, mailbox: Mailbox, segment: string, kind: 'calendarItem' | 'contact'): GraphResponse {
    const item = this.item(mailbox, segment, kind);
    return answer(this.entity(request, mailbox, item, kind === 'calendarItem' ? 'events/$entity' : 'contacts/$entity'), kind === 'calendarItem' ? 'event' : 'contact');
  }

  /** GET events | contacts | todo/lists/{id}/tasks: the folder's items, optionally filtered on an extended property, `$top` at most 1000. */
  private list(request: GraphRequest, mailbox: Mailbox, kind: 'calendarItem' | 'contact' | 'task', folder: Folder): GraphResponse {
    const filterText = request.query.get('$filter');
    const filter = filterText === null ? undefined : extendedPropertyFilter(filterText);
    const top = Math.max(1, Math.min(1000, Number(request.query.get('$top') ?? '1000') || 1000));
    const skip = Math.max(0, Number(request.query.get('$skip') ?? '0') || 0);
    const all = this.host.store.folderItems(folder).filter((item) => item.kind === kind && (!filter || matchesProperty(item, filter.ref, filter.value)));
    const page = all.slice(skip, skip + top);
    const type = kind === 'calendarItem' ? 'event' : kind === 'contact' ? 'contact' : 'todoTask';
    const value = page.map((item) => {
      const { '@odata.context': _context, ...entity } = this.entity(request, mailbox, item, '');
      void _context;
      return entity;
    });
    const next = skip + top < all.length ? new URL(`${this.host.baseUrl()}/x`) : undefined;
    const body: GraphJson = { '@odata.context': `${this.host.baseUrl()}/$metadata#Collection(${type})`, value };
    if (next) {
      const query = new URLSearchParams(request.query);
      query.set('$skip', String(skip + top));
      body['@odata.nextLink'] = `${this.host.baseUrl()}${request.path}?${query.toString()}`;
    }
    return answer(body, `${type}Collection` as GraphResponse['kind']);
  }

  /** GET events/{id}/instances?startDateTime=&endDateTime=: occurrences and exceptions of a series in the window. */
  private instances(request: GraphRequest, mailbox: Mailbox, segment: string): GraphResponse {
    const start = Date.parse(request.query.get('startDateTime') ?? '');
    const end = Date.parse(request.query.get('endDateTime') ?? '');
    if (!Number.isFinite(start) || !Number.isFinite(end)) throw graphErrors.badRequest('This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.', 'ErrorInvalidParameter');
    const { master } = this.eventTarget(mailbox, segment);
    const ids = this.host.ids(request);
    const select = request.query.get('$select');
    const views = master.recurrence ? expandSeries(master, new Date(end)).filter((o) => o.start.getTime() < end && o.end.getTime() > start).map((o) => occurrenceView(master, o)) : [];
    const value = views.map((view) => project(eventJson(view, mailbox, ids), select === null ? undefined : select.split(',').map((s) => s.trim())));
    return answer({ '@odata.context': `${this.host.baseUrl()}/$metadata#Collection(event)`, value }, 'eventCollection');
  }

  // ---- events ---------------------------------------------------------------------------------

  private readEvent(body: Record<string, unknown>, problems: string[]): Partial<CalendarItem> & { extendedProperties: StoredExtendedProperty[] } {
    unknownKeys(body, EVENT_KEYS, 'event', problems);
    const attendees = attendeesOf(body.attendees, problems);
    const location = body.location === undefined ? undefined : (body.location as { displayName?: unknown } | null)?.displayName;
    if (location !== undefined && typeof location !== 'string') problems.push('location.displayName: expected Edm.String');
    if (body.isAllDay !== undefined && typeof body.isAllDay !== 'boolean') problems.push('isAllDay: expected Edm.Boolean');
    const fields = {
      subject: stringOf(body, 'subject', problems),
      body: bodyOf(body.body, 'body', problems),
      start: dateOf(body.start, 'start', problems),
      end: dateOf(body.end, 'end', problems),
      isAllDayEvent: typeof body.isAllDay === 'boolean' ? body.isAllDay : undefined,
      location: typeof location === 'string' ? location : undefined,
      categories: stringsOf(body, 'categories', problems),
      recurrence: recurrenceOf(body.recurrence, problems),
      requiredAttendees: attendees?.required,
      optionalAttendees: attendees?.optional,
      extendedProperties: readExtendedProperties(body.singleValueExtendedProperties, problems),
    };
    return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as unknown as Partial<CalendarItem> & { extendedProperties: StoredExtendedProperty[] };
  }

  private createEvent(request: GraphRequest, mailbox: Mailbox): GraphResponse {
    const problems: string[] = [];
    const fields = this.readEvent(requireObject(request.body), problems);
    if (!fields.start) problems.push('start: required');
    if (!fields.end) problems.push('end: required');
    fail(problems);
    if (fields.end! < fields.start!) throw graphErrors.badRequest('The end of the event is earlier than its start.', 'ErrorCalendarEndDateIsEarlierThanStartDate');
    const input = { kind: 'calendarItem', ...fields, organizer: { name: mailbox.displayName, address: mailbox.smtpAddress } } as NewItem;
    const created = this.host.store.createItem(mailbox.smtpAddress, { distinguished: 'calendar' }, input) as CalendarItem;
    // Graph sends the invitations itself, with a copy in Sent Items; there is no way to ask otherwise.
    sendInvitations(this.host.store, mailbox, created, 'sendAndSaveCopy', false);
    return answer(this.entity(request, mailbox, this.host.store.getItem(created.id)!, 'events/$entity'), 'event', 201);
  }

  private updateEvent(request: GraphRequest, mailbox: Mailbox, segment: string): GraphResponse {
    const problems: string[] = [];
    const body = requireObject(request.body);
    const { extendedProperties, recurrence, ...fields } = this.readEvent(body, problems);
    if (recurrence) problems.push('recurrence: the simulator does not change the pattern of an existing series');
    fail(problems);
    const target = this.eventTarget(mailbox, segment);
    if (target.index !== undefined) {
      const occurrence = this.occurrence(target.master, target.index);
      checkIfMatch(request, occurrence);
      const unsupported = Object.keys(fields).filter((k) => !['subject', 'start', 'end', 'location'].includes(k));
      if (unsupported.length > 0 || extendedProperties.length > 0) throw graphErrors.badRequest(`The simulator changes only the subject, start, end and location of one occurrence, not ${[...unsupported, ...(extendedProperties.length ? ['singleValueExtendedProperties'] : [])].join(', ')}.`, 'ErrorInvalidPropertySet');
      const originalStart = occurrence.occurrenceOf!.originalStart;
      const previous = (target.master.modifiedOccurrences ?? []).find((o) => o.originalStart.getTime() === originalStart.getTime());
      const start = fields.start ?? occurrence.start;
      const end = fields.end ?? occurrence.end;
      const subject = fields.subject ?? previous?.subject;
      const location = fields.location ?? previous?.location;
      const override = { originalStart, start, end, version: (previous?.version ?? 0) + 1, ...(subject !== undefined ? { subject } : {}), ...(location !== undefined ? { location } : {}) };
      const master = this.host.store.updateItem(target.master.id, { modifiedOccurrences: [...(target.master.modifiedOccurrences ?? []).filter((o) => o !== previous), override] }) as CalendarItem;
      const changed = occurrenceByIndex(master, target.index);
      if (master.requiredAttendees.length + master.optionalAttendees.length > 0) sendInvitations(this.host.store, mailbox, changed, 'sendAndSaveCopy', true);
      return answer(this.entity(request, mailbox, changed, 'events/$entity'), 'event');
    }
    const item = target.master;
    checkIfMatch(request, item);
    const patch: ItemPatch = { ...(fields as ItemPatch), ...(extendedProperties.length > 0 ? { setExtendedProperties: extendedProperties } : {}) };
    const updated = this.host.store.updateItem(item.id, patch) as CalendarItem;
    const organized = !updated.organizer || updated.organizer.address.toLowerCase() === mailbox.smtpAddress;
    // Exchange tells attendees about changes to the meeting itself; the organizer's categories are private.
    const noticed = Object.keys(fields).some((name) => name !== 'categories');
    if (organized && updated.requiredAttendees.length + updated.optionalAttendees.length > 0 && noticed) sendInvitations(this.host.store, mailbox, updated, 'sendAndSaveCopy', true);
    return answer(this.entity(request, mailbox, updated, 'events/$entity'), 'event');
  }

  private deleteEvent(request: GraphRequest, mailbox: Mailbox, segment: string): GraphResponse {
    const target = this.eventTarget(mailbox, segment);
    if (target.index !== undefined) {
      const occurrence = this.occurrence(target.master, target.index);
      checkIfMatch(request, occurrence);
      const originalStart = occurrence.occurrenceOf!.originalStart;
      this.host.store.updateItem(target.master.id, {
        deletedOccurrences: [...(target.master.deletedOccurrences ?? []), originalStart],
        modifiedOccurrences: (target.master.modifiedOccurrences ?? []).filter((o) => o.originalStart.getTime() !== originalStart.getTime()),
      });
      return { status: 204, headers: {}, kind: 'noContent' };
    }
    const item = target.master;
    checkIfMatch(request, item);
    const organized = !item.organizer || item.organizer.address.toLowerCase() === mailbox.smtpAddress;
    // Deleting the organizer's meeting cancels it for the attendees (Graph has no switch for it).
    if (organized && item.requiredAttendees.length + item.optionalAttendees.length > 0) sendCancellations(this.host.store, mailbox, item, 'sendAndSaveCopy');
    this.host.store.deleteItem(item.id, 'MoveToDeletedItems');
    return { status: 204, headers: {}, kind: 'noContent' };
  }

  // ---- contacts, tasks, messages ----------------------------------------------------------------

  private readContact(body: Record<string, unknown>, problems: string[]): ItemPatch & { extendedProperties: StoredExtendedProperty[] } {
    unknownKeys(body, CONTACT_KEYS, 'contact', problems);
    const emails = body.emailAddresses;
    let emailAddresses: Contact['emailAddresses'] | undefined;
    if (emails !== undefined) {
      if (!Array.isArray(emails) || emails.length > 3 || !emails.every((e) => typeof (e as { address?: unknown } | null)?.address === 'string')) problems.push('emailAddresses: at most 3 microsoft.graph.emailAddress with an address');
      else emailAddresses = emails.map((e, index) => ({ key: `EmailAddress${index + 1}` as Contact['emailAddresses'][number]['key'], address: (e as { address: string }).address, ...(typeof (e as { name?: unknown }).name === 'string' ? { name: (e as { name: string }).name } : {}) }));
    }
    const business = stringsOf(body, 'businessPhones', problems);
    const mobile = stringOf(body, 'mobilePhone', problems);
    const phoneNumbers = business !== undefined || mobile !== undefined ? [...(business ?? []).slice(0, 2).map((number, i) => ({ key: (i === 0 ? 'BusinessPhone' : 'BusinessPhone2') as 'BusinessPhone', number })), ...(mobile ? [{ key: 'MobilePhone' as const, number: mobile }] : [])] : undefined;
    const notes = stringOf(body, 'personalNotes', problems);
    const fields: ItemPatch = {
      givenName: stringOf(body, 'givenName', problems),
      surname: stringOf(body, 'surname', problems),
      displayName: stringOf(body, 'displayName', problems),
      companyName: stringOf(body, 'companyName', problems),
      jobTitle: stringOf(body, 'jobTitle', problems),
      categories: stringsOf(body, 'categories', problems),
      ...(emailAddresses ? { emailAddresses } : {}),
      ...(phoneNumbers ? { phoneNumbers } : {}),
      ...(notes !== undefined ? { body: { type: 'Text' as const, content: notes } } : {}),
    };
    const clean = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as ItemPatch;
    return { ...clean, extendedProperties: readExtendedProperties(body.singleValueExtendedProperties, problems) };
  }

  private createContact(request: GraphRequest, mailbox: Mailbox): GraphResponse {
    const problems: string[] = [];
    const fields = this.readContact(requireObject(request.body), problems);
    fail(problems);
    const displayName = fields.displayName ?? ([fields.givenName, fields.surname].filter(Boolean).join(' ') || '');
    const created = this.host.store.createItem(mailbox.smtpAddress, { distinguished: 'contacts' }, { kind: 'contact', ...(fields as object), displayName, fileAs: displayName } as NewItem);
    return answer(this.entity(request, mailbox, created, 'contacts/$entity'), 'contact', 201);
  }

  private updateContact(request: GraphRequest, mailbox: Mailbox, segment: string): GraphResponse {
    const problems: string[] = [];
    const { extendedProperties, ...fields } = this.readContact(requireObject(request.body), problems);
    fail(problems);
    const item = this.item(mailbox, segment, 'contact');
    checkIfMatch(request, item);
    const updated = this.host.store.updateItem(item.id, { ...fields, ...(extendedProperties.length > 0 ? { setExtendedProperties: extendedProperties } : {}) });
    return answer(this.entity(request, mailbox, updated, 'contacts/$entity'), 'contact');
  }

  private readTask(body: Record<string, unknown>, problems: string[]): ItemPatch & { extendedProperties: StoredExtendedProperty[] } {
    unknownKeys(body, TASK_KEYS, 'todoTask', problems);
    const status = body.status === undefined ? undefined : TASK_STATUS[String(body.status)];
    if (body.status !== undefined && !status) problems.push(`status: one of ${Object.keys(TASK_STATUS).join(', ')}`);
    const fields: ItemPatch = {
      subject: stringOf(body, 'title', problems),
      body: bodyOf(body.body, 'body', problems),
      startDate: dateOf(body.startDateTime, 'startDateTime', problems),
      dueDate: dateOf(body.dueDateTime, 'dueDateTime', problems),
      categories: stringsOf(body, 'categories', problems),
      ...(status ? { status, ...(status === 'Completed' ? { percentComplete: 100 } : {}) } : {}),
    };
    const clean = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as ItemPatch;
    return { ...clean, extendedProperties: readLinkedResources(body.linkedResources, problems) };
  }

  private createTask(request: GraphRequest, mailbox: Mailbox, list: Folder): GraphResponse {
    const problems: string[] = [];
    const fields = this.readTask(requireObject(request.body), problems);
    fail(problems);
    const created = this.host.store.createItem(mailbox.smtpAddress, list.id, { kind: 'task', ...(fields as object) } as NewItem);
    return answer(this.entity(request, mailbox, created, 'todoTasks/$entity'), 'todoTask', 201);
  }

  private updateTask(request: GraphRequest, mailbox: Mailbox, segment: string, list: Folder): GraphResponse {
    const problems: string[] = [];
    const { extendedProperties, ...fields } = this.readTask(requireObject(request.body), problems);
    if (extendedProperties.length > 0) problems.push('linkedResources: add them with POST .../linkedResources (not supported by the simulator)');
    fail(problems);
    const item = this.item(mailbox, segment, 'task', list);
    checkIfMatch(request, item);
    const updated = this.host.store.updateItem(item.id, fields);
    return answer(this.entity(request, mailbox, updated, 'todoTasks/$entity'), 'todoTask');
  }

  private updateMessage(request: GraphRequest, mailbox: Mailbox, segment: string): GraphResponse {
    const body = requireObject(request.body);
    const problems: string[] = [];
    unknownKeys(body, MESSAGE_KEYS, 'message', problems);
    const patch: ItemPatch = {};
    if (body.isRead !== undefined) {
      if (typeof body.isRead === 'boolean') patch.isRead = body.isRead;
      else problems.push(`isRead: expected Edm.Boolean, got ${JSON.stringify(body.isRead)}`);
    }
    const categories = stringsOf(body, 'categories', problems);
    if (categories) patch.categories = categories;
    const properties = readExtendedProperties(body.singleValueExtendedProperties, problems);
    if (body.flag !== undefined) {
      const status = (body.flag as { flagStatus?: unknown } | null)?.flagStatus;
      // Outlook keeps the follow-up flag in PR_FLAG_STATUS (0x1090): 0 none, 1 complete, 2 flagged; EWS reads the same property.
      const value = status === 'notFlagged' ? '0' : status === 'complete' ? '1' : status === 'flagged' ? '2' : undefined;
      if (value === undefined) problems.push('flag.flagStatus: one of notFlagged, complete, flagged');
      else properties.push({ key: 'tag:4240', type: 'Integer', pathXml: '<t:ExtendedFieldURI PropertyTag="0x1090" PropertyType="Integer"/>', value });
    }
    fail(problems);
    const item = this.item(mailbox, segment, 'message');
    checkIfMatch(request, item);
    const updated = this.host.store.updateItem(item.id, { ...patch, ...(properties.length > 0 ? { setExtendedProperties: properties } : {}) });
    return answer(this.entity(request, mailbox, updated, 'messages/$entity'), 'message');
  }

  private deleteItem(request: GraphRequest, mailbox: Mailbox, segment: string, kind: 'contact' | 'task' | 'message', list?: Folder): GraphResponse {
    const item = this.item(mailbox, segment, kind, list);
    checkIfMatch(request, item);
    // Graph's DELETE moves the item to Deleted Items (from there: soft delete).
    this.host.store.deleteItem(item.id, 'MoveToDeletedItems');
    return { status: 204, headers: {}, kind: 'noContent' };
  }
}
