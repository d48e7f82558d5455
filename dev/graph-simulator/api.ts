/**
 * The Graph v1.0 subset: one place per operation. A request is first *prepared* (route, mailbox,
 * permission checked, operation named) and then *run*; the split lets $batch take MailboxConcurrency
 * slots for all its parallel requests before running any, as Exchange Online does.
 */
import { DISTINGUISHED_FOLDER_NAMES, type CalendarItem, type Contact, type DistinguishedFolderName, type EmailAddress, type Folder, type Item, type Mailbox, StoreError, type Task } from '../ews-simulator/model';
import { expandSeries, occurrenceView } from '../ews-simulator/recurrence';
import type { GraphAuthenticator, GraphCaller, Permission } from './auth';
import type { DeltaEntry, DeltaResource, DeltaToken } from './delta';
import { attachmentJson, calendarJson, contactFolderJson, contactJson, eventJson, type GraphJson, type IdWriter, mailFolderJson, messageJson, project, type SelectableType, todoTaskJson, todoTaskListJson, unknownSelections, userJson } from './entities';
import { peopleOf, peopleSearchText, personMatches, parseUserFilter, parseUserSearch, userFilterValues } from './directory';
import { GraphError, graphErrors } from './errors';
import { encodeImmutableId, decodeImmutableId, entryIdOf, EXCHANGE_ID_FORMATS, ewsIdFromEntryId, ewsIdFromGraphId, toRestId, type ExchangeIdFormat } from './ids';
import type { GraphSimulatorState } from './state';
import { GraphWrites } from './writes';
import { canWriteFolder } from '../ews-simulator/folder-permissions';

/** Every kind of response body the simulator produces (the CSDL test must see each one). */
export const RESPONSE_KINDS = {
  user: { type: 'user', shape: 'entity' },
  userCollection: { type: 'user', shape: 'collection' },
  personCollection: { type: 'person', shape: 'collection' },
  mailFolderCollection: { type: 'mailFolder', shape: 'collection' },
  mailFolder: { type: 'mailFolder', shape: 'entity' },
  messageDelta: { type: 'message', shape: 'delta' },
  message: { type: 'message', shape: 'entity' },
  event: { type: 'event', shape: 'entity' },
  contact: { type: 'contact', shape: 'entity' },
  todoTask: { type: 'todoTask', shape: 'entity' },
  attachmentCollection: { type: 'attachment', shape: 'collection' },
  attachment: { type: 'attachment', shape: 'entity' },
  eventDelta: { type: 'event', shape: 'delta' },
  contactFolderCollection: { type: 'contactFolder', shape: 'collection' },
  contactDelta: { type: 'contact', shape: 'delta' },
  todoTaskListCollection: { type: 'todoTaskList', shape: 'collection' },
  calendarCollection: { type: 'calendar', shape: 'collection' },
  calendar: { type: 'calendar', shape: 'entity' },
  todoTaskDelta: { type: 'todoTask', shape: 'delta' },
  convertIdResultCollection: { type: 'convertIdResult', shape: 'collection' },
  eventCollection: { type: 'event', shape: 'collection' },
  contactCollection: { type: 'contact', shape: 'collection' },
  todoTaskCollection: { type: 'todoTask', shape: 'collection' },
  batch: { type: undefined, shape: 'batch' },
  error: { type: undefined, shape: 'error' },
  noContent: { type: undefined, shape: 'empty' },
  subscription: { type: 'subscription', shape: 'entity' },
  subscriptionCollection: { type: 'subscription', shape: 'collection' },
} as const;
export type ResponseKind = keyof typeof RESPONSE_KINDS;

export interface GraphRequest {
  readonly method: string;
  /** Path below /v1.0, e.g. /users/alice@contoso.com/mailFolders/inbox/messages/delta. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: unknown;
}

export interface GraphResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body?: unknown;
  readonly kind: ResponseKind;
  /** Fault name when an injected fault answered. */
  readonly fault?: string;
}

export interface PreparedRequest {
  readonly operation: string;
  readonly mailbox: Mailbox | undefined;
  run(): Promise<GraphResponse> | GraphResponse;
}

interface Preferences {
  readonly maxPageSize?: number;
  readonly immutableIds: boolean;
  /** Prefer: outlook.body-content-type="text" | "html". */
  readonly bodyType?: 'text' | 'html';
  /** Prefer: outlook.timezone="UTC" (the simulator writes every dateTimeTimeZone in UTC anyway). */
  readonly utc: boolean;
}

const DEFAULT_DELTA_PAGE_SIZE = 10;
const MAX_PAGE_SIZE = 1000;

function preferences(headers: GraphRequest['headers']): Preferences {
  const prefer = headers['prefer'] ?? '';
  const size = /odata\.maxpagesize\s*=\s*(\d+)/i.exec(prefer);
  const bodyType = /outlook\.body-content-type\s*=\s*"?(text|html)"?/i.exec(prefer)?.[1]?.toLowerCase() as 'text' | 'html' | undefined;
  return {
    ...(size ? { maxPageSize: Math.max(1, Math.min(MAX_PAGE_SIZE, Number(size[1]))) } : {}),
    immutableIds: /IdType\s*=\s*"?ImmutableId"?/i.test(prefer),
    ...(bodyType ? { bodyType } : {}),
    utc: /outlook\.timezone\s*=\s*"?(UTC|Etc\/UTC|GMT)"?/i.test(prefer),
  };
}

function appliedHeader(prefs: Preferences, used: { pageSize?: boolean; ids?: boolean }): Record<string, string> {
  const applied: string[] = [];
  if (used.pageSize && prefs.maxPageSize !== undefined) applied.push(`odata.maxpagesize=${prefs.maxPageSize}`);
  if (used.ids && prefs.immutableIds) applied.push('IdType="ImmutableId"');
  if (prefs.bodyType) applied.push(`outlook.body-content-type="${prefs.bodyType}"`);
  if (prefs.utc) applied.push('outlook.timezone="UTC"');
  return applied.length > 0 ? { 'preference-applied': applied.join(', ') } : {};
}

function selectOf(query: URLSearchParams): string[] | undefined {
  const raw = query.get('$select');
  if (raw === null) return undefined;
  return raw.split(',').map((s) => s.trim()).filter(Boolean);
}

const WELL_KNOWN = new Map<string, DistinguishedFolderName>(DISTINGUISHED_FOLDER_NAMES.map((name) => [name.toLowerCase(), name]));

function ok(body: unknown, kind: ResponseKind, headers: Record<string, string> = {}, status = 200): GraphResponse {
  return { status, headers: { 'content-type': 'application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8', ...headers }, body, kind };
}

function noContent(status: 202 | 204): GraphResponse {
  return { status, headers: {}, kind: 'noContent' };
}

/** The Graph API over the simulator state. */
export class GraphApi {
  private readonly writes: GraphWrites;

  constructor(
    private readonly state: GraphSimulatorState,
    private readonly auth: GraphAuthenticator,
    /** e.g. https://localhost:1234/v1.0 (for @odata.context and links). */
    private readonly baseUrl: () => string,
  ) {
    this.writes = new GraphWrites({
      store: state.store,
      baseUrl,
      ids: (request) => {
        const prefs = preferences(request.headers);
        return this.idWriter(prefs.immutableIds, prefs.bodyType);
      },
      resolveId: (mailbox, segment) => {
        const immutable = decodeImmutableId(segment);
        if (immutable) return immutable.mailbox === mailbox.smtpAddress ? this.state.currentIdForOrigin(immutable.originId, mailbox.smtpAddress) : undefined;
        const id = ewsIdFromGraphId(segment);
        if (!id) throw graphErrors.invalidId();
        return id;
      },
      folder: (mailbox, segment) => this.folder(mailbox, segment),
      messageEntity: (item, request) => {
        const prefs = preferences(request.headers);
        return this.messageEntity(item, this.idWriter(prefs.immutableIds, prefs.bodyType));
      },
    });
  }

  /** Routes and checks a request; throws GraphError for anything answered before running. */
  prepare(request: GraphRequest, caller: GraphCaller): PreparedRequest {
    let segments: string[];
    try {
      segments = request.path.split('/').filter(Boolean).map((s) => decodeURIComponent(s).replace(/\(\)$/, ''));
    } catch {
      throw graphErrors.badRequest('The request URI is not valid: a path segment is not valid percent-encoding.', 'BadRequest');
    }
    const method = request.method.toUpperCase();
    // GET /users: the organisation's directory (no mailbox; the directory permissions decide).
    if (segments.length === 1 && segments[0]?.toLowerCase() === 'users' && method === 'GET') {
      checkSelect('listUsers', request.query);
      this.auth.authorizeDirectory(caller);
      return { operation: 'listUsers', mailbox: undefined, run: () => this.listUsers(request, caller) };
    }
    let mailbox: Mailbox;
    let rest: string[];
    let userSegment: string;
    if (segments[0]?.toLowerCase() === 'me') {
      if (caller.kind !== 'user') throw graphErrors.badRequest('/me request is only valid with delegated authentication flow.');
      mailbox = caller.mailbox;
      rest = segments.slice(1);
      userSegment = 'me';
    } else if (segments[0]?.toLowerCase() === 'users' && segments[1]) {
      mailbox = this.resolveUser(segments[1], caller);
      rest = segments.slice(2);
      userSegment = `users/${encodeURIComponent(segments[1])}`;
    } else throw graphErrors.noRoute(method, request.path);
    const route = this.route(method, rest, request, mailbox, userSegment, caller);
    if (!route) throw graphErrors.noRoute(method, request.path);
    checkSelect(route.operation, request.query);
    if (!mailbox.enabled || this.state.restDisabled.has(mailbox.smtpAddress)) throw graphErrors.restDisabled();
    this.auth.authorize(caller, route.permission, mailbox, route.folder);
    return { operation: route.operation, mailbox, run: route.run };
  }

  private resolveUser(segment: string, caller: GraphCaller): Mailbox {
    const wanted = segment.toLowerCase();
    const byAddress = this.state.store.getMailbox(wanted);
    const mailbox = byAddress ?? this.state.store.mailboxes(caller.organisationId).find((m) => m.entraObjectId === wanted);
    // Another tenant's mailbox does not exist for this caller.
    if (!mailbox || mailbox.organisationId !== caller.organisationId) throw graphErrors.invalidUser(segment);
    return mailbox;
  }

  private route(method: string, rest: readonly string[], request: GraphRequest, mailbox: Mailbox, userSegment: string, caller: GraphCaller): { operation: string; permission: Permission; run: () => GraphResponse; folder?: () => Folder } | undefined {
    const [a, b, c, d, e] = rest;
    const al = a?.toLowerCase();
    const prefs = preferences(request.headers);
    const ids = this.idWriter(prefs.immutableIds, prefs.bodyType);
    const read = (area: Permission['area']): Permission => ({ area, write: false });
    const write = (area: Permission['area']): Permission => ({ area, write: true });
    const n = rest.length;
    // Writes (POST/PATCH/DELETE with If-Match) and the reads they need: dev/graph-simulator/writes.ts.
    const written = this.writes.route(method, rest, request, mailbox);
    if (written) return written;
    if (n === 0 && method === 'GET') return { operation: 'getUser', permission: read('user'), run: () => ok(project(userJson(mailbox, mailbox.entraObjectId ?? toRestId(mailbox.smtpAddress), selectOf(request.query)), selectOf(request.query)), 'user') };
    if (al === 'people' && n === 1 && method === 'GET') return { operation: 'listPeople', permission: read('people'), run: () => this.listPeople(request, mailbox, userSegment) };
    if (al === 'mailfolders') {
      if (n === 1 && method === 'GET') return { operation: 'listMailFolders', permission: read('mail'), run: () => this.listMailFolders(request, mailbox, undefined, ids) };
      if (n === 2 && method === 'GET') return { operation: 'getMailFolder', permission: read('mail'), folder: () => this.folder(mailbox, b!), run: () => ok(project(this.withContext(mailFolderJson(this.state.store, this.folder(mailbox, b!), ids), 'mailFolders/$entity'), selectOf(request.query)), 'mailFolder') };
      if (n === 3 && c?.toLowerCase() === 'childfolders' && method === 'GET') return { operation: 'listMailFolders', permission: read('mail'), run: () => this.listMailFolders(request, mailbox, b!, ids) };
      if (n === 4 && c?.toLowerCase() === 'messages' && d?.toLowerCase() === 'delta' && method === 'GET') {
        return { operation: 'messagesDelta', permission: read('mail'), folder: () => this.folder(mailbox, b!), run: () => this.delta(request, mailbox, 'messages', this.folder(mailbox, b!), `${userSegment}/mailFolders/${encodeURIComponent(b!)}/messages/delta`) };
      }
      if (n === 4 && c?.toLowerCase() === 'messages' && method === 'GET') return { operation: 'getMessage', permission: read('mail'), run: () => this.getMessage(request, mailbox, d!) };
      return undefined;
    }
    // PATCH and DELETE of messages (with If-Match) are in writes.ts.
    if (al === 'messages' && n === 2) {
      if (method === 'GET') return { operation: 'getMessage', permission: read('mail'), run: () => this.getMessage(request, mailbox, b!) };
      return undefined;
    }
    if ((al === 'messages' || al === 'events') && (n === 3 || n === 4) && c?.toLowerCase() === 'attachments' && method === 'GET') {
      const area = al === 'messages' ? 'mail' : 'calendars';
      return n === 3
        ? { operation: 'listAttachments', permission: read(area), run: () => this.listAttachments(request, mailbox, b!, al === 'messages' ? 'message' : 'calendarItem') }
        : { operation: 'getAttachment', permission: read(area), run: () => this.getAttachment(request, mailbox, b!, d!, al === 'messages' ? 'message' : 'calendarItem') };
    }
    if (al === 'events' && n === 2 && method === 'GET') return { operation: 'getEvent', permission: read('calendars'), run: () => this.getItemOfKind(request, mailbox, b!, 'calendarItem') };
    if (al === 'contacts' && n === 2 && b?.toLowerCase() !== 'delta' && method === 'GET') return { operation: 'getContact', permission: read('contacts'), run: () => this.getItemOfKind(request, mailbox, b!, 'contact') };
    if (al === 'messages' && n === 3 && c?.toLowerCase() === 'move' && method === 'POST') return { operation: 'moveMessage', permission: write('mail'), run: () => this.moveMessage(request, mailbox, b!) };
    if (al === 'sendmail' && n === 1 && method === 'POST') return { operation: 'sendMail', permission: write('mailSend'), run: () => this.sendMail(request, mailbox) };
    if (al === 'calendarview' && n === 2 && b?.toLowerCase() === 'delta' && method === 'GET') {
      return { operation: 'calendarViewDelta', permission: read('calendars'), folder: () => this.state.store.getFolder(mailbox.smtpAddress, { distinguished: 'calendar' }), run: () => this.delta(request, mailbox, 'events', this.state.store.getFolder(mailbox.smtpAddress, { distinguished: 'calendar' }), `${userSegment}/calendarView/delta`) };
    }
    if (al === 'calendars' && n === 1 && method === 'GET') return { operation: 'listCalendars', permission: read('calendars'), run: () => this.listCalendars(request, mailbox, caller, ids) };
    if (al === 'calendars' && n === 2 && method === 'GET') {
      return { operation: 'getCalendar', permission: read('calendars'), folder: () => this.calendarFolder(mailbox, b!), run: () => this.getCalendar(mailbox, this.calendarFolder(mailbox, b!), caller, ids) };
    }
    if (al === 'calendar' && n === 1 && method === 'GET') {
      const folder = () => this.state.store.getFolder(mailbox.smtpAddress, { distinguished: 'calendar' });
      return { operation: 'getCalendar', permission: read('calendars'), folder, run: () => this.getCalendar(mailbox, folder(), caller, ids) };
    }
    if (al === 'contactfolders') {
      if (n === 1 && method === 'GET') return { operation: 'listContactFolders', permission: read('contacts'), run: () => this.listContactFolders(request, mailbox, ids) };
      if (n === 4 && c?.toLowerCase() === 'contacts' && d?.toLowerCase() === 'delta' && method === 'GET') {
        return { operation: 'contactsDelta', permission: read('contacts'), folder: () => this.folder(mailbox, b!, 'contacts'), run: () => this.delta(request, mailbox, 'contacts', this.folder(mailbox, b!, 'contacts'), `${userSegment}/contactFolders/${encodeURIComponent(b!)}/contacts/delta`) };
      }
      return undefined;
    }
    if (al === 'contacts' && n === 2 && b?.toLowerCase() === 'delta' && method === 'GET') {
      return { operation: 'contactsDelta', permission: read('contacts'), folder: () => this.state.store.getFolder(mailbox.smtpAddress, { distinguished: 'contacts' }), run: () => this.delta(request, mailbox, 'contacts', this.state.store.getFolder(mailbox.smtpAddress, { distinguished: 'contacts' }), `${userSegment}/contacts/delta`) };
    }
    if (al === 'todo' && b?.toLowerCase() === 'lists') {
      if (n === 2 && method === 'GET') return { operation: 'listTodoLists', permission: read('tasks'), run: () => this.listTodoLists(request, mailbox, ids) };
      if (n === 5 && d?.toLowerCase() === 'tasks' && e?.toLowerCase() !== 'delta' && method === 'GET') {
        return { operation: 'getTask', permission: read('tasks'), run: () => this.getItemOfKind(request, mailbox, e!, 'task', this.todoList(mailbox, c!)) };
      }
      if (n === 5 && d?.toLowerCase() === 'tasks' && e?.toLowerCase() === 'delta' && method === 'GET') {
        return { operation: 'tasksDelta', permission: read('tasks'), folder: () => this.todoList(mailbox, c!), run: () => this.delta(request, mailbox, 'tasks', this.todoList(mailbox, c!), `${userSegment}/todo/lists/${encodeURIComponent(c!)}/tasks/delta`) };
      }
      return undefined;
    }
    if (al === 'translateexchangeids' && n === 1 && method === 'POST') return { operation: 'translateExchangeIds', permission: read('translateIds'), run: () => this.translateExchangeIds(request, mailbox) };
    return undefined;
  }

  // ---- directory -------------------------------------------------------------------------

  /** GET /users: $filter, $search (ConsistencyLevel: eventual), $top (1-999, default 100), $count, $select; nextLink by $skiptoken. */
  private listUsers(request: GraphRequest, caller: GraphCaller): GraphResponse {
    const q = request.query;
    const eventual = (request.headers['consistencylevel'] ?? '').toLowerCase() === 'eventual';
    const search = q.get('$search');
    const count = q.get('$count');
    if (search !== null && !eventual) {
      throw graphErrors.badRequest("Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'", 'Request_UnsupportedQuery');
    }
    if (count !== null && count.toLowerCase() === 'true' && !eventual) throw graphErrors.badRequest("$count is only supported with the 'ConsistencyLevel: eventual' header.", 'Request_BadRequest');
    const filterText = q.get('$filter');
    const filter = filterText !== null ? parseUserFilter(filterText) : undefined;
    const matchSearch = search !== null ? parseUserSearch(search) : undefined;
    const top = pageSizeOf(q.get('$top'), 100, 999);
    const skip = skipOf(q.get('$skiptoken'));
    const select = selectOf(q);
    const users = this.state.store
      .mailboxes(caller.organisationId)
      .filter((m) => {
        const values = userFilterValues(m);
        return (!filter || filter(values)) && (!matchSearch || matchSearch(values));
      })
      .sort((a, b) => a.displayName.localeCompare(b.displayName) || a.smtpAddress.localeCompare(b.smtpAddress));
    const page = users.slice(skip, skip + top);
    const next = new URLSearchParams(q);
    next.set('$skiptoken', Buffer.from(`skip=${skip + top}`).toString('base64url'));
    const body: Record<string, unknown> = {
      '@odata.context': `${this.baseUrl()}/$metadata#users${select ? `(${select.join(',')})` : ''}`,
      ...(count?.toLowerCase() === 'true' ? { '@odata.count': users.length } : {}),
      value: page.map((m) => project(userJson(m, m.entraObjectId ?? toRestId(m.smtpAddress), select), select)),
      ...(skip + top < users.length ? { '@odata.nextLink': `${this.baseUrl()}/users?${next.toString()}` } : {}),
    };
    return ok(body, 'userCollection');
  }

  /** GET /users/{id}/people: people relevant to the mailbox; $search (a name or address prefix), $top (default 10), $skip, $select. */
  private listPeople(request: GraphRequest, mailbox: Mailbox, userSegment: string): GraphResponse {
    const q = request.query;
    if (q.get('$filter') !== null && q.get('$search') !== null) throw graphErrors.badRequest('$filter and $search cannot be used together on people.', 'BadRequest');
    const search = q.get('$search');
    const text = search !== null ? peopleSearchText(search) : '';
    const top = pageSizeOf(q.get('$top'), 10, 1000);
    const skip = pageSizeOf(q.get('$skip'), 0, 100_000, 0);
    const select = selectOf(q);
    const people = peopleOf(this.state.store, mailbox, (m) => m.entraObjectId ?? toRestId(m.smtpAddress)).filter((p) => personMatches(p, text));
    const page = people.slice(skip, skip + top);
    const next = new URLSearchParams(q);
    next.set('$skip', String(skip + top));
    return ok(
      {
        '@odata.context': `${this.baseUrl()}/$metadata#${userSegment}/people`,
        value: page.map((p) => project(p.json, select)),
        ...(skip + top < people.length ? { '@odata.nextLink': `${this.baseUrl()}/${userSegment}/people?${next.toString()}` } : {}),
      },
      'personCollection',
    );
  }

  // ---- ids -------------------------------------------------------------------------------

  private idWriter(immutable: boolean, bodyType?: 'text' | 'html'): IdWriter {
    return {
      item: (item) => (immutable ? (encodeImmutableId(item.immutableOrigin ?? item.id) ?? toRestId(item.id)) : toRestId(item.id)),
      folder: (folder) => toRestId(folder.id),
      ...(bodyType ? { bodyType } : {}),
    };
  }

  private removedId(itemId: string, immutable: boolean): string {
    return immutable ? (encodeImmutableId(this.state.originOf(itemId)) ?? toRestId(itemId)) : toRestId(itemId);
  }

  private folder(mailbox: Mailbox, segment: string, expectClass?: 'contacts'): Folder {
    const wellKnown = WELL_KNOWN.get(segment.toLowerCase());
    if (wellKnown) return this.state.store.getFolder(mailbox.smtpAddress, { distinguished: wellKnown });
    const ewsId = ewsIdFromGraphId(segment);
    if (!ewsId) throw graphErrors.invalidId();
    const folder = this.state.store.findFolderById(ewsId);
    if (!folder || folder.mailbox !== mailbox.smtpAddress) throw graphErrors.folderNotFound();
    if (expectClass === 'contacts' && !folder.folderClass.startsWith('IPF.Contact')) throw graphErrors.folderNotFound();
    return folder;
  }

  /** The folder a Graph folder segment (id or well-known name) names in the mailbox (subscription resources). */
  folderOf(mailbox: Mailbox, segment: string): Folder {
    return this.folder(mailbox, segment);
  }

  private todoList(mailbox: Mailbox, segment: string): Folder {
    const folder = this.folder(mailbox, segment);
    if (!folder.folderClass.startsWith('IPF.Task')) throw graphErrors.folderNotFound();
    return folder;
  }

  private item(mailbox: Mailbox, segment: string): Item {
    const immutable = decodeImmutableId(segment);
    let itemId: string | undefined;
    if (immutable) itemId = immutable.mailbox === mailbox.smtpAddress ? this.state.currentIdForOrigin(immutable.originId, mailbox.smtpAddress) : undefined;
    else {
      itemId = ewsIdFromGraphId(segment);
      if (!itemId) throw graphErrors.invalidId();
    }
    const item = itemId ? this.state.store.getItem(itemId) : undefined;
    // An id of another mailbox is not found through this one.
    if (!item || item.mailbox !== mailbox.smtpAddress) throw graphErrors.itemNotFound();
    return item;
  }

  private withContext(entity: GraphJson, context: string): GraphJson {
    return { '@odata.context': `${this.baseUrl()}/$metadata#${context}`, ...entity };
  }

  // ---- folders ---------------------------------------------------------------------------

  private listMailFolders(request: GraphRequest, mailbox: Mailbox, parentSegment: string | undefined, ids: IdWriter): GraphResponse {
    const store = this.state.store;
    const parent = parentSegment ? this.folder(mailbox, parentSegment) : store.getFolder(mailbox.smtpAddress, { distinguished: 'msgfolderroot' });
    const includeHidden = request.query.get('includeHiddenFolders') === 'true';
    const folders = store.childFolders(parent).filter((f) => (includeHidden || !f.hidden) && (f.folderClass === '' || f.folderClass.startsWith('IPF.Note')));
    const select = selectOf(request.query);
    return ok({ '@odata.context': `${this.baseUrl()}/$metadata#Collection(mailFolder)`, value: folders.map((f) => project(mailFolderJson(store, f, ids), select)) }, 'mailFolderCollection');
  }

  private calendarFolder(mailbox: Mailbox, segment: string): Folder {
    const folder = this.folder(mailbox, segment);
    if (!folder.folderClass.startsWith('IPF.Appointment')) throw graphErrors.folderNotFound();
    return folder;
  }

  /** Whether the caller may change items of another user's calendar: own mailbox, FullAccess, or Editor-like rights. */
  private canEdit(caller: GraphCaller, mailbox: Mailbox, folder: Folder): boolean {
    if (caller.kind === 'app') return true;
    const principals = new Set([caller.mailbox.smtpAddress, caller.mailbox.userPrincipalName]);
    return caller.mailbox === mailbox || mailbox.fullAccess.some((p) => principals.has(p)) || canWriteFolder(mailbox, folder, principals);
  }

  private getCalendar(mailbox: Mailbox, folder: Folder, caller: GraphCaller, ids: IdWriter): GraphResponse {
    const isDefault = folder.distinguishedName === 'calendar';
    return ok(this.withContext(calendarJson(folder, mailbox, ids, { canEdit: this.canEdit(caller, mailbox, folder), isDefault }), 'calendars/$entity'), 'calendar');
  }

  /** The calendars of the mailbox (reached with FullAccess, or the own mailbox: authorize() checked that). */
  private listCalendars(request: GraphRequest, mailbox: Mailbox, caller: GraphCaller, ids: IdWriter): GraphResponse {
    void request;
    const calendars = [...mailbox.folders.values()].filter((f) => f.folderClass.startsWith('IPF.Appointment') && !f.hidden);
    return ok(
      { '@odata.context': `${this.baseUrl()}/$metadata#Collection(calendar)`, value: calendars.map((f) => calendarJson(f, mailbox, ids, { canEdit: this.canEdit(caller, mailbox, f), isDefault: f.distinguishedName === 'calendar' })) },
      'calendarCollection',
    );
  }

  private listContactFolders(request: GraphRequest, mailbox: Mailbox, ids: IdWriter): GraphResponse {
    const store = this.state.store;
    // Graph lists the folders below the default Contacts folder's parent that hold contacts, minus the default one.
    const all = [...mailbox.folders.values()].filter((f) => f.folderClass.startsWith('IPF.Contact') && !f.hidden);
    const select = selectOf(request.query);
    return ok({ '@odata.context': `${this.baseUrl()}/$metadata#Collection(contactFolder)`, value: all.map((f) => project(contactFolderJson(store, f, ids), select)) }, 'contactFolderCollection');
  }

  private listTodoLists(request: GraphRequest, mailbox: Mailbox, ids: IdWriter): GraphResponse {
    const lists = [...mailbox.folders.values()].filter((f) => f.folderClass.startsWith('IPF.Task') && !f.hidden);
    const select = selectOf(request.query);
    return ok({ '@odata.context': `${this.baseUrl()}/$metadata#Collection(todoTaskList)`, value: lists.map((f) => project(todoTaskListJson(f, ids), select)) }, 'todoTaskListCollection');
  }

  // ---- messages --------------------------------------------------------------------------

  private messageEntity(item: Item, ids: IdWriter): GraphJson {
    return messageJson(item, this.state.store.findFolderById(item.folderId)!, ids);
  }

  private getMessage(request: GraphRequest, mailbox: Mailbox, segment: string): GraphResponse {
    const prefs = preferences(request.headers);
    const item = this.item(mailbox, segment);
    const entity = messageJson(item, this.state.store.findFolderById(item.folderId)!, this.idWriter(prefs.immutableIds, prefs.bodyType), selectOf(request.query));
    return ok(this.withContext(entity, 'messages/$entity'), 'message', appliedHeader(prefs, { ids: true }));
  }

  /** GET events/{id}, contacts/{id}, todo/lists/{list}/tasks/{id}: the item if it is of that kind (and in that list). */
  private getItemOfKind(request: GraphRequest, mailbox: Mailbox, segment: string, kind: 'calendarItem' | 'contact' | 'task', list?: Folder): GraphResponse {
    const prefs = preferences(request.headers);
    const item = this.item(mailbox, segment);
    if (item.kind !== kind || (list && item.folderId !== list.id)) throw graphErrors.itemNotFound();
    const ids = this.idWriter(prefs.immutableIds, prefs.bodyType);
    const folder = this.state.store.findFolderById(item.folderId)!;
    const select = selectOf(request.query);
    const [entity, kindName, context] =
      item.kind === 'calendarItem'
        ? [eventJson(item, mailbox, ids), 'event', 'events/$entity']
        : item.kind === 'contact'
          ? [contactJson(item, folder, ids), 'contact', 'contacts/$entity']
          : [todoTaskJson(item as Task, ids), 'todoTask', 'todoTasks/$entity'];
    return ok(this.withContext(project(entity, select), context), kindName as ResponseKind, appliedHeader(prefs, { ids: true }));
  }

  private attachmentOwner(mailbox: Mailbox, segment: string, kind: 'message' | 'calendarItem'): Item {
    const item = this.item(mailbox, segment);
    if (item.kind !== kind) throw graphErrors.itemNotFound();
    return item;
  }

  private listAttachments(request: GraphRequest, mailbox: Mailbox, segment: string, kind: 'message' | 'calendarItem'): GraphResponse {
    const item = this.attachmentOwner(mailbox, segment, kind);
    const select = selectOf(request.query);
    return ok({ '@odata.context': `${this.baseUrl()}/$metadata#Collection(attachment)`, value: item.attachments.map((a) => attachmentJson(a, select)) }, 'attachmentCollection');
  }

  private getAttachment(request: GraphRequest, mailbox: Mailbox, segment: string, attachmentSegment: string, kind: 'message' | 'calendarItem'): GraphResponse {
    const item = this.attachmentOwner(mailbox, segment, kind);
    const wanted = ewsIdFromGraphId(attachmentSegment);
    const attachment = item.attachments.find((a) => a.id === wanted);
    if (!attachment) throw graphErrors.itemNotFound();
    return ok(this.withContext(attachmentJson(attachment, selectOf(request.query)), 'attachments/$entity'), 'attachment');
  }

  private moveMessage(request: GraphRequest, mailbox: Mailbox, segment: string): GraphResponse {
    const prefs = preferences(request.headers);
    const body = requireObject(request.body);
    if (typeof body.destinationId !== 'string' || !body.destinationId) throw graphErrors.badRequest('destinationId: required, the id or well-known name of the target folder.', 'ErrorInvalidRequest');
    const target = this.folder(mailbox, body.destinationId);
    const item = this.item(mailbox, segment);
    const moved = this.state.store.moveItem(item.id, target.id);
    return ok(this.withContext(this.messageEntity(moved, this.idWriter(prefs.immutableIds, prefs.bodyType)), 'messages/$entity'), 'message', appliedHeader(prefs, { ids: true }), 201);
  }

  private sendMail(request: GraphRequest, mailbox: Mailbox): GraphResponse {
    const body = requireObject(request.body);
    const message = body.message;
    const problems: string[] = [];
    if (!message || typeof message !== 'object' || Array.isArray(message)) throw graphErrors.badRequest('message: required, a microsoft.graph.message object.', 'ErrorInvalidRequest');
    const m = message as Record<string, unknown>;
    const to = readRecipients(m.toRecipients, 'message.toRecipients', problems);
    const cc = readRecipients(m.ccRecipients, 'message.ccRecipients', problems);
    const bcc = readRecipients(m.bccRecipients, 'message.bccRecipients', problems);
    if (m.subject !== undefined && typeof m.subject !== 'string') problems.push('message.subject: expected Edm.String');
    const content = readBody(m.body, problems);
    const attachments = readAttachments(m.attachments, problems);
    if (body.saveToSentItems !== undefined && typeof body.saveToSentItems !== 'boolean') problems.push('saveToSentItems: expected Edm.Boolean');
    if (problems.length > 0) throw graphErrors.badRequest(`Invalid request body: ${problems.join('; ')}.`, 'ErrorInvalidProperty');
    if (to.length + cc.length + bcc.length === 0) throw graphErrors.badRequest('At least one recipient is required, but none were found.', 'ErrorInvalidRecipients');
    const from: EmailAddress = { name: mailbox.displayName, address: mailbox.smtpAddress };
    const subject = typeof m.subject === 'string' ? m.subject : '';
    const sentAt = this.state.store.now();
    const delivered = this.state.store.deliverMail({ from, toRecipients: to, ccRecipients: cc, bccRecipients: bcc, subject, body: content, attachments, sentAt });
    if (body.saveToSentItems !== false) {
      this.state.store.createItem(mailbox.smtpAddress, { distinguished: 'sentitems' }, {
        kind: 'message',
        from,
        sender: from,
        toRecipients: to,
        ccRecipients: cc,
        bccRecipients: bcc,
        subject,
        body: content,
        attachments,
        isRead: true,
        dateTimeSent: sentAt,
        ...(delivered[0]?.internetMessageId ? { internetMessageId: delivered[0].internetMessageId } : {}),
      });
    }
    return noContent(202);
  }

  // ---- delta -----------------------------------------------------------------------------

  private delta(request: GraphRequest, mailbox: Mailbox, resource: DeltaResource, folder: Folder, linkPath: string): GraphResponse {
    const prefs = preferences(request.headers);
    const tokenText = request.query.get('$deltatoken') ?? request.query.get('$skiptoken');
    let token: DeltaToken;
    if (tokenText !== null) {
      const decoded = this.state.codec.decode(tokenText);
      if (!decoded || decoded.resource !== resource || decoded.mailbox !== mailbox.smtpAddress || decoded.folderId !== folder.id || !this.state.epochValid(decoded.epoch, mailbox.smtpAddress)) {
        throw graphErrors.syncStateNotFound();
      }
      token = decoded;
    } else {
      const select = selectOf(request.query);
      let window: [number, number] | undefined;
      if (resource === 'events') {
        const start = Date.parse(request.query.get('startDateTime') ?? '');
        const end = Date.parse(request.query.get('endDateTime') ?? '');
        const missing = [Number.isNaN(start) ? 'startDateTime' : '', Number.isNaN(end) ? 'endDateTime' : ''].filter(Boolean);
        if (missing.length > 0) throw graphErrors.badRequest(`This request requires a time window specified by the query string parameters StartDateTime and EndDateTime; missing or invalid: ${missing.join(', ')}.`, 'ErrorInvalidParameter');
        if (end <= start) throw graphErrors.badRequest('endDateTime must be after startDateTime.', 'ErrorInvalidParameter');
        window = [start, end];
      }
      token = {
        resource,
        mailbox: mailbox.smtpAddress,
        folderId: folder.id,
        phase: 'i',
        position: folder.changeLog.length,
        after: 0,
        epoch: this.state.currentEpoch(),
        ...(select ? { select } : {}),
        ...(window ? { window } : {}),
        ...(prefs.immutableIds ? { immutable: true } : {}),
      };
    }
    const immutable = token.immutable === true || prefs.immutableIds;
    const ids = this.idWriter(immutable, prefs.bodyType);
    const pageSize = prefs.maxPageSize ?? DEFAULT_DELTA_PAGE_SIZE;
    const page = this.state.delta.page({ store: this.state.store, folder, includes: includeFor(resource, token.window), removalReason: (id) => this.state.removalReason(id) }, token, pageSize);
    // calendarView shows a series as its occurrences in the window (and exceptions), as Graph does.
    const value = page.entries.flatMap((entry) =>
      resource === 'events' && entry.kind === 'item' && entry.item.kind === 'calendarItem' && entry.item.recurrence
        ? occurrencesInWindow(entry.item, token.window).map((view) => project(eventJson(view, mailbox, ids), token.select))
        : [this.deltaEntry(entry, resource, folder, mailbox, ids, token.select, immutable)],
    );
    const next = this.state.codec.encode({ ...page.next, epoch: this.state.currentEpoch() });
    const link = `${this.baseUrl()}/${linkPath}?${page.complete ? '$deltatoken' : '$skiptoken'}=${next}`;
    const type = { messages: 'message', events: 'event', contacts: 'contact', tasks: 'todoTask' }[resource];
    const kind: ResponseKind = { messages: 'messageDelta', events: 'eventDelta', contacts: 'contactDelta', tasks: 'todoTaskDelta' }[resource] as ResponseKind;
    const body = { '@odata.context': `${this.baseUrl()}/$metadata#Collection(${type})`, value, [page.complete ? '@odata.deltaLink' : '@odata.nextLink']: link };
    return ok(body, kind, appliedHeader(prefs, { pageSize: true, ids: true }));
  }

  private deltaEntry(entry: DeltaEntry, resource: DeltaResource, folder: Folder, mailbox: Mailbox, ids: IdWriter, select: readonly string[] | undefined, immutable: boolean): GraphJson {
    if (entry.kind === 'removed') return { '@odata.type': `#microsoft.graph.${resource === 'tasks' ? 'todoTask' : resource.slice(0, -1)}`, id: this.removedId(entry.itemId, immutable), '@removed': { reason: entry.reason } };
    const item = entry.item;
    switch (resource) {
      case 'messages':
        return messageJson(item, folder, ids, select);
      case 'events':
        return project(eventJson(item as CalendarItem, mailbox, ids), select);
      case 'contacts':
        return project(contactJson(item as Contact, folder, ids), select);
      case 'tasks':
        return project(todoTaskJson(item as Task, ids), select);
    }
  }

  // ---- translateExchangeIds ----------------------------------------------------------------

  private translateExchangeIds(request: GraphRequest, mailbox: Mailbox): GraphResponse {
    const body = requireObject(request.body);
    const problems: string[] = [];
    const inputIds = body.inputIds;
    if (!Array.isArray(inputIds) || !inputIds.every((id) => typeof id === 'string')) problems.push('inputIds: required, a collection of Edm.String');
    else if (inputIds.length > 1000) problems.push('inputIds: at most 1000 ids');
    const source = body.sourceIdType;
    const target = body.targetIdType;
    if (!EXCHANGE_ID_FORMATS.includes(source as ExchangeIdFormat)) problems.push(`sourceIdType: one of ${EXCHANGE_ID_FORMATS.join(', ')}`);
    if (!EXCHANGE_ID_FORMATS.includes(target as ExchangeIdFormat)) problems.push(`targetIdType: one of ${EXCHANGE_ID_FORMATS.join(', ')}`);
    if (problems.length > 0) throw graphErrors.badRequest(`Invalid request body: ${problems.join('; ')}.`, 'ErrorInvalidRequest');
    const value = (inputIds as string[]).map((sourceId) => {
      const ewsId = this.toEwsId(sourceId, source as ExchangeIdFormat, mailbox);
      const item = ewsId ? this.state.store.getItem(ewsId) : undefined;
      const folder = ewsId && !item ? this.state.store.findFolderById(ewsId) : undefined;
      const owner = item?.mailbox ?? folder?.mailbox;
      if (!ewsId || owner !== mailbox.smtpAddress) return { sourceId, errorDetails: { code: 'ErrorInvalidIdMalformed', message: 'The id is malformed or is not an id of this mailbox.' } };
      return { sourceId, targetId: this.fromEwsId(item ? (item.immutableOrigin ?? item.id) : ewsId, ewsId, target as ExchangeIdFormat) };
    });
    return ok({ '@odata.context': `${this.baseUrl()}/$metadata#Collection(microsoft.graph.convertIdResult)`, value }, 'convertIdResultCollection');
  }

  private toEwsId(id: string, format: ExchangeIdFormat, mailbox: Mailbox): string | undefined {
    switch (format) {
      case 'ewsId':
      case 'restId':
        return ewsIdFromGraphId(id);
      case 'entryId':
        return ewsIdFromEntryId(id, mailbox.smtpAddress);
      case 'immutableEntryId':
      case 'restImmutableEntryId': {
        const ref = decodeImmutableId(id);
        return ref && ref.mailbox === mailbox.smtpAddress ? this.state.currentIdForOrigin(ref.originId, mailbox.smtpAddress) : undefined;
      }
    }
  }

  private fromEwsId(origin: string, current: string, format: ExchangeIdFormat): string | undefined {
    switch (format) {
      case 'ewsId':
        return current;
      case 'restId':
        return toRestId(current);
      case 'entryId':
        return entryIdOf(current);
      case 'immutableEntryId':
        return encodeImmutableId(origin, 'immutableEntryId');
      case 'restImmutableEntryId':
        return encodeImmutableId(origin, 'restImmutableEntryId');
    }
  }
}

/** The entity type an operation answers with, for `$select` checks. */
const SELECT_TYPE: Readonly<Record<string, SelectableType>> = {
  getUser: 'user',
  listUsers: 'user',
  listPeople: 'person',
  listMailFolders: 'mailFolder',
  getMailFolder: 'mailFolder',
  messagesDelta: 'message',
  getMessage: 'message',
  getEvent: 'event',
  getContact: 'contact',
  getTask: 'todoTask',
  listAttachments: 'attachment',
  getAttachment: 'attachment',
  calendarViewDelta: 'event',
  listContactFolders: 'contactFolder',
  contactsDelta: 'contact',
  listTodoLists: 'todoTaskList',
  tasksDelta: 'todoTask',
};

function checkSelect(operation: string, query: URLSearchParams): void {
  const select = selectOf(query);
  const type = SELECT_TYPE[operation];
  if (!select || !type) return;
  const unknown = unknownSelections(type, select);
  if (unknown.length > 0) throw graphErrors.badRequest(`Could not find a property named '${unknown.join("', '")}' on type 'microsoft.graph.${type}'.`, 'RequestBroker--ParseUri');
}

function includeFor(resource: DeltaResource, window: readonly [number, number] | undefined): (item: Item) => boolean {
  switch (resource) {
    case 'messages':
      return (item) => item.kind === 'message';
    case 'contacts':
      return (item) => item.kind === 'contact';
    case 'tasks':
      return (item) => item.kind === 'task';
    case 'events':
      return (item) => item.kind === 'calendarItem' && (!window || (item.recurrence ? occurrencesInWindow(item, window).length > 0 : item.start.getTime() < window[1] && item.end.getTime() > window[0]));
  }
}

/** A series' occurrences (and exceptions) that overlap the window, as calendar items of their own. */
function occurrencesInWindow(master: CalendarItem, window: readonly [number, number] | undefined): CalendarItem[] {
  const until = window ? new Date(window[1]) : undefined;
  return expandSeries(master, until)
    .filter((o) => !window || (o.start.getTime() < window[1] && o.end.getTime() > window[0]))
    .map((o) => occurrenceView(master, o));
}

/** $top / $skip: an integer in range, else 400 as Graph answers. */
function pageSizeOf(raw: string | null, fallback: number, max: number, min = 1): number {
  if (raw === null) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) throw graphErrors.badRequest(`Invalid page size '${raw}': an integer from ${min} to ${max} is required.`, 'Request_BadRequest');
  return value;
}

function skipOf(token: string | null): number {
  if (token === null) return 0;
  const match = /^skip=(\d+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!match) throw graphErrors.badRequest('The $skiptoken is not valid.', 'Request_BadRequest');
  return Number(match[1]);
}

function requireObject(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw graphErrors.badRequest('The request body must be a JSON object.', 'BadRequest');
  return body as Record<string, unknown>;
}

function readRecipients(value: unknown, field: string, problems: string[]): EmailAddress[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.push(`${field}: expected a collection of microsoft.graph.recipient`);
    return [];
  }
  const out: EmailAddress[] = [];
  value.forEach((entry, index) => {
    const email = (entry as { emailAddress?: { address?: unknown; name?: unknown } } | null)?.emailAddress;
    if (!email || typeof email.address !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(email.address)) problems.push(`${field}[${index}].emailAddress.address: expected an SMTP address`);
    else out.push({ address: email.address, ...(typeof email.name === 'string' ? { name: email.name } : {}) });
  });
  return out;
}

function readBody(value: unknown, problems: string[]): { type: 'HTML' | 'Text'; content: string } {
  if (value === undefined || value === null) return { type: 'Text', content: '' };
  const body = value as { contentType?: unknown; content?: unknown };
  const type = typeof body.contentType === 'string' ? body.contentType.toLowerCase() : 'text';
  if (type !== 'text' && type !== 'html') problems.push('message.body.contentType: one of text, html');
  if (body.content !== undefined && typeof body.content !== 'string') problems.push('message.body.content: expected Edm.String');
  return { type: type === 'html' ? 'HTML' : 'Text', content: typeof body.content === 'string' ? body.content : '' };
}

function readAttachments(value: unknown, problems: string[]): { name: string; contentType: string; content: Buffer; isInline?: boolean; contentId?: string }[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.push('message.attachments: expected a collection of microsoft.graph.attachment');
    return [];
  }
  const out: { name: string; contentType: string; content: Buffer; isInline?: boolean; contentId?: string }[] = [];
  value.forEach((entry, index) => {
    const a = entry as Record<string, unknown>;
    if (a['@odata.type'] !== '#microsoft.graph.fileAttachment') problems.push(`message.attachments[${index}].@odata.type: only #microsoft.graph.fileAttachment is supported`);
    else if (typeof a.name !== 'string' || typeof a.contentBytes !== 'string') problems.push(`message.attachments[${index}]: name and contentBytes (base64) are required`);
    else {
      out.push({
        name: a.name,
        contentType: typeof a.contentType === 'string' ? a.contentType : 'application/octet-stream',
        content: Buffer.from(a.contentBytes, 'base64'),
        ...(a.isInline === true ? { isInline: true } : {}),
        ...(typeof a.contentId === 'string' ? { contentId: a.contentId } : {}),
      });
    }
  });
  return out;
}

/** Store failures as Graph errors. */
export function storeErrorToGraph(error: StoreError): GraphError {
  switch (error.code) {
    case 'ErrorItemNotFound':
      return graphErrors.itemNotFound();
    case 'ErrorFolderNotFound':
      return graphErrors.folderNotFound();
    case 'ErrorNonExistentMailbox':
      return graphErrors.invalidUser('');
    case 'ErrorInvalidIdMalformed':
      return graphErrors.invalidId();
    default:
      return graphErrors.badRequest(error.message, error.code);
  }
}
