/**
 * The MailboxSource over Microsoft Graph: one delta query per folder (messages of the Inbox, the
 * calendar view in a window, the default contacts folder, the default To Do list). The stored
 * sync state is the next link to read (a nextLink mid-round, the deltaLink at the end), as a path
 * under the configured endpoint, so a stored state can never send our token anywhere else.
 *
 * Delta pages carry the items themselves ($select of exactly the fields a record needs), so
 * getItems answers from the page just read; only what the page cannot carry (attachment lists,
 * items the page did not hold) is fetched, in $batch requests of 20 whose 429s are retried per
 * request. Short back-offs are waited in-process; longer ones leave as a Throttled error and the
 * worker re-queues the job.
 *
 * Graph does not say whether a delta entry is new or changed, nor whether only the read flag
 * changed. The round's start time decides: created after it → created; a message neither created
 * nor modified after it → readFlagChanged (Exchange does not touch lastModifiedDateTime for the
 * read flag); otherwise updated. A replayed page is classified the same way (same state, same time).
 */
import type * as Graph from '@microsoft/microsoft-graph-types';
import { EntraAuthError } from '../auth/entra-errors';
import type { ChangeItem, SyncedFolder } from '../delivery/change-batch';
import type { ThrottlingPolicy } from '../ews/throttling-policy';
import { RetryLaterError, withRetries } from '../ews/throttling-policy';
import type { AttachmentInfo } from '../ews/types';
import { GraphServiceError } from '../graph/errors';
import { batchAll, batchResponseError } from '../graph/graph-client';
import type { BatchRequest, BatchResponse, GraphMailbox, GraphPage } from '../graph/graph-client';
import { attachmentInfo, contactItem, eventItem, messageItem, SELECT, todoTaskItem } from '../graph/item-mapping';
import type { GraphItemKind } from '../graph/item-mapping';
import { createGraphRetryPolicy } from '../graph/retry-policy';
import { toMailboxSourceError } from './ews-mailbox-source';
import { GRAPH_STATE_PREFIX, MailboxSourceError } from './mailbox-source';
import type { ChangePage, FetchedItem, FolderTarget, FolderTree, MailboxSource, SourceChange } from './mailbox-source';
import { isWellKnown, kindOfTarget } from './mailbox-source';
import { folderAtPath, graphFolderTree } from './folder-tree';

export interface GraphMailboxSourceOptions {
  readonly policy?: ThrottlingPolicy;
  /** Longest back-off waited in-process. Default 2,000 ms. */
  readonly maxInlineDelayInMs?: number;
  readonly sleep?: (delayInMs: number) => Promise<void>;
  /** Calendar window of the calendarView delta, fixed when the delta starts. Default 90 days back, 365 ahead. */
  readonly calendarWindow?: { readonly daysBack: number; readonly daysAhead: number };
  readonly now?: () => Date;
}

/** Graph states start with GRAPH_STATE_PREFIX; anything else was written by another protocol (EWS). */
export { GRAPH_STATE_PREFIX };
/** Clocks of Exchange and of the connector differ a little; a change this close to the round start counts as new. */
const CLOCK_SKEW_IN_MS = 5_000;

interface GraphState {
  /** Epoch ms the round started (its changes happened after); 0 for the initial round (everything is new). */
  readonly roundStartedAt: number;
  /** Path under the endpoint's version root (nextLink or deltaLink). */
  readonly link: string;
}

export function encodeGraphState(state: GraphState): string {
  return `${GRAPH_STATE_PREFIX}${state.roundStartedAt}:${state.link}`;
}

function decodeGraphState(text: string): GraphState {
  const rest = text.slice(GRAPH_STATE_PREFIX.length);
  const cut = rest.indexOf(':');
  const roundStartedAt = Number(rest.slice(0, cut));
  const link = rest.slice(cut + 1);
  if (cut < 1 || !Number.isSafeInteger(roundStartedAt) || !link.startsWith('/users/')) throw new MailboxSourceError('InvalidSyncState', 'The stored Graph sync state is damaged.', { sourceCode: 'SyncStateInvalid' });
  return { roundStartedAt, link };
}

/** A link Graph returned, as a path under the version root; refused when it points anywhere else. */
function relativeLink(client: GraphMailbox, link: string): string {
  const root = `${client.origin}/v1.0`;
  if (!link.startsWith(`${root}/users/`) && !link.startsWith(`${root}/me/`)) {
    throw new MailboxSourceError('Unknown', 'Graph returned a paging link outside the configured endpoint; refused.', { sourceCode: 'ForeignLink' });
  }
  return link.slice(root.length);
}

const KIND_OF_FOLDER: Readonly<Record<SyncedFolder, GraphItemKind>> = { inbox: 'message', calendar: 'event', contacts: 'contact', tasks: 'todoTask' };

/** The Prefer header per kind: page size, text bodies (as EWS requests them), UTC times. */
function preferFor(kind: GraphItemKind, maxPageSize: number): Record<string, string> {
  const prefer = [`odata.maxpagesize=${maxPageSize}`, 'outlook.body-content-type="text"'];
  if (kind === 'event' || kind === 'todoTask') prefer.push('outlook.timezone="UTC"');
  return { prefer: prefer.join(', ') };
}

/** Maps whatever a Graph call threw to a MailboxSourceError (Entra failures as EWS maps them). */
export function graphToMailboxSourceError(error: unknown): MailboxSourceError {
  if (error instanceof MailboxSourceError) return error;
  if (error instanceof RetryLaterError) {
    const cause = graphToMailboxSourceError(error.cause);
    return new MailboxSourceError(cause.code === 'Throttled' ? 'Throttled' : 'Unavailable', cause.message, { retryAfterInMs: error.delayInMs, ...(cause.sourceCode ? { sourceCode: cause.sourceCode } : {}), cause: error });
  }
  if (!(error instanceof GraphServiceError)) return error instanceof EntraAuthError || (error as { code?: unknown } | null)?.code === 'ReauthenticationRequired' ? toMailboxSourceError(error) : new MailboxSourceError('Unknown', error instanceof Error ? error.message : String(error), { cause: error });
  const options = { sourceCode: error.code, cause: error, ...(error.retryAfterInMs !== undefined ? { retryAfterInMs: error.retryAfterInMs } : {}) };
  switch (error.kind) {
    case 'throttled':
      return new MailboxSourceError('Throttled', error.message, options);
    case 'unavailable':
      return new MailboxSourceError('Unavailable', error.message, options);
    case 'authentication':
      return new MailboxSourceError('AuthenticationFailed', error.message, options);
    case 'accessDenied':
      return new MailboxSourceError('AccessDenied', error.message, { ...options, sourceCode: 'ErrorAccessDenied' });
    case 'mailboxNotFound':
      return new MailboxSourceError('MailboxNotFound', error.message, options);
    case 'restDisabled':
      return new MailboxSourceError('ProtocolDisabled', error.message, options);
    case 'syncStateInvalid':
      return new MailboxSourceError('InvalidSyncState', error.message, options);
    case 'notFound':
      return new MailboxSourceError('FolderNotFound', error.message, options);
    case 'configuration':
      return new MailboxSourceError('Configuration', error.message, options);
    default:
      return new MailboxSourceError('Unknown', error.message, options);
  }
}

/** The id of the mailbox's default To Do list ("Tasks"), which is what EWS's tasks folder holds (the write path uses it too). */
export async function findDefaultTodoList(client: GraphMailbox): Promise<string> {
  for await (const page of client.pages<Graph.TodoTaskList>(`${client.userPath}/todo/lists`)) {
    const list = page.value.find((l) => l.wellknownListName === 'defaultList');
    if (list?.id) return list.id;
  }
  throw new MailboxSourceError('FolderNotFound', 'The mailbox has no default To Do list.', { sourceCode: 'ErrorFolderNotFound' });
}

type RawEntity = Record<string, unknown> & { readonly id?: string; readonly '@removed'?: { readonly reason?: string } };

interface CachedEntity {
  readonly kind: GraphItemKind;
  readonly entity: RawEntity;
}

function toItem(kind: GraphItemKind, entity: RawEntity, attachments: readonly AttachmentInfo[]): ChangeItem {
  switch (kind) {
    case 'message':
      return messageItem(entity as Graph.Message, attachments);
    case 'event':
      return eventItem(entity as Graph.Event, attachments);
    case 'contact':
      return contactItem(entity as Graph.Contact);
    default:
      return todoTaskItem(entity as Graph.TodoTask, attachments);
  }
}

function timeOf(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const time = Date.parse(value);
  return Number.isFinite(time) ? time : undefined;
}

/** created / updated / readFlagChanged for an entry of a round that started at `roundStartedAt`. */
function classify(kind: GraphItemKind, entity: RawEntity, roundStartedAt: number): SourceChange {
  const itemId = entity.id!;
  const changeKey = typeof entity.changeKey === 'string' ? entity.changeKey : typeof entity['@odata.etag'] === 'string' ? entity['@odata.etag'] : undefined;
  if (roundStartedAt === 0) return { type: 'created', itemId, changeKey };
  const threshold = roundStartedAt - CLOCK_SKEW_IN_MS;
  const created = timeOf(entity.createdDateTime);
  if (created !== undefined && created >= threshold) return { type: 'created', itemId, changeKey };
  const modified = timeOf(entity.lastModifiedDateTime);
  if (kind === 'message' && typeof entity.isRead === 'boolean' && modified !== undefined && modified < threshold) return { type: 'readFlagChanged', itemId, isRead: entity.isRead };
  return { type: 'updated', itemId, changeKey };
}

export function createGraphMailboxSource(client: GraphMailbox, options: GraphMailboxSourceOptions = {}): MailboxSource {
  const policy = options.policy ?? createGraphRetryPolicy();
  const retryOptions = { maxInlineDelayInMs: options.maxInlineDelayInMs ?? 2_000, ...(options.sleep ? { sleep: options.sleep } : {}) };
  const now = options.now ?? (() => new Date());
  const window = options.calendarWindow ?? { daysBack: 90, daysAhead: 365 };
  const user = client.userPath;
  /**
   * Entities of the last two pages read, for getItems: the engine lists the next page ahead while it
   * still fetches the items of the one before (docs/sync.md), so the previous page must survive one read.
   */
  let cache = new Map<string, CachedEntity>();
  let previousPage = new Map<string, CachedEntity>();
  const cached = (id: string): CachedEntity | undefined => cache.get(id) ?? previousPage.get(id);
  let todoListId: string | undefined;

  const call = async <T>(operation: () => Promise<T>): Promise<T> => {
    try {
      return await withRetries(operation, policy, retryOptions);
    } catch (error) {
      throw graphToMailboxSourceError(error);
    }
  };

  async function defaultTodoList(): Promise<string> {
    return (todoListId ??= await findDefaultTodoList(client));
  }

  let tree: Promise<FolderTree> | undefined;
  const listFolders = (): Promise<FolderTree> => {
    tree ??= call(() => graphFolderTree(client));
    tree.catch(() => (tree = undefined));
    return tree;
  };

  /**
   * The first delta link of a chosen folder. Graph v1.0 has a delta per mail folder, contact folder and
   * To Do list; events only in the default calendar's calendarView (a non-default calendar needs EWS).
   */
  async function chosenFirstLink(target: Exclude<FolderTarget, SyncedFolder>): Promise<string> {
    if (target.folder === 'calendar') {
      throw new MailboxSourceError('Configuration', 'Graph v1.0 syncs only the default calendar of a mailbox (calendarView delta); choose other calendars on an EWS group.', { sourceCode: 'CalendarDeltaUnsupported' });
    }
    const id = target.id ?? folderAtPath((await listFolders()).folders, target.path ?? '', target.folder).id;
    const encoded = encodeURIComponent(id);
    if (target.folder === 'inbox') return `${user}/mailFolders/${encoded}/messages/delta?$select=${SELECT.message.join(',')}`;
    if (target.folder === 'contacts') return `${user}/contactFolders/${encoded}/contacts/delta?$select=${SELECT.contact.join(',')}`;
    return `${user}/todo/lists/${encoded}/tasks/delta`;
  }

  async function firstLink(target: FolderTarget): Promise<string> {
    if (!isWellKnown(target)) return chosenFirstLink(target as Exclude<FolderTarget, SyncedFolder>);
    const folder = kindOfTarget(target);
    switch (folder) {
      case 'inbox':
        return `${user}/mailFolders/inbox/messages/delta?$select=${SELECT.message.join(',')}`;
      case 'calendar': {
        // calendarView delta takes no $select: Graph returns whole events there.
        const day = 86_400_000;
        const start = new Date(now().getTime() - window.daysBack * day).toISOString();
        const end = new Date(now().getTime() + window.daysAhead * day).toISOString();
        return `${user}/calendarView/delta?startDateTime=${encodeURIComponent(start)}&endDateTime=${encodeURIComponent(end)}`;
      }
      case 'contacts':
        return `${user}/contacts/delta?$select=${SELECT.contact.join(',')}`;
      case 'tasks':
        return `${user}/todo/lists/${encodeURIComponent(await call(defaultTodoList))}/tasks/delta`;
    }
  }

  async function itemPath(kind: GraphItemKind, id: string): Promise<string> {
    const encoded = encodeURIComponent(id);
    if (kind === 'message') return `${user}/messages/${encoded}?$select=${SELECT.message.join(',')}`;
    if (kind === 'event') return `${user}/events/${encoded}?$select=${SELECT.event.join(',')}`;
    if (kind === 'contact') return `${user}/contacts/${encoded}?$select=${SELECT.contact.join(',')}`;
    return `${user}/todo/lists/${encodeURIComponent(await call(defaultTodoList))}/tasks/${encoded}`;
  }

  function attachmentsPath(kind: GraphItemKind, id: string): string | undefined {
    const encoded = encodeURIComponent(id);
    if (kind === 'message') return `${user}/messages/${encoded}/attachments?$select=id,name,contentType,size,isInline`;
    if (kind === 'event') return `${user}/events/${encoded}/attachments?$select=id,name,contentType,size,isInline`;
    return undefined;
  }

  const batchGet = (requests: readonly BatchRequest[]): Promise<Map<string, BatchResponse>> => batchAll(client, requests, call);

  return {
    protocol: 'graph',
    ownsSyncState: (syncState) => syncState.startsWith(GRAPH_STATE_PREFIX),
    listFolders,

    async listChanges(folder, syncState, maxChanges): Promise<ChangePage> {
      const kind = KIND_OF_FOLDER[kindOfTarget(folder)];
      const state: GraphState = syncState === undefined ? { roundStartedAt: 0, link: await firstLink(folder) } : decodeGraphState(syncState);
      const requestedAt = now().getTime();
      const page = await call(() => client.page<RawEntity>(state.link, preferFor(kind, Math.min(Math.max(maxChanges, 1), 999))));
      return toChangePage(kind, state, page, requestedAt);
    },

    async getItems(itemIds): Promise<FetchedItem[]> {
      const wanted = [...new Set(itemIds)];
      const missing = wanted.filter((id) => cached(id) === undefined);
      const fetched = new Map<string, FetchedItem>();
      if (missing.length > 0) {
        // Not on the page (never the case for delta pages read by this source, but getItems is public).
        const kind: GraphItemKind = cache.values().next().value?.kind ?? 'message';
        const requests = await Promise.all(missing.map(async (id, index) => ({ id: `i${index}`, method: 'GET' as const, url: await itemPath(kind, id), headers: preferFor(kind, 1) })));
        const responses = await batchGet(requests);
        missing.forEach((id, index) => {
          const response = responses.get(`i${index}`);
          if (response && response.status === 200 && typeof response.body === 'object' && response.body !== null) cache.set(id, { kind, entity: response.body as RawEntity });
          else {
            const error = response ? batchResponseError(response) : undefined;
            fetched.set(id, { ok: false, itemId: id, code: error?.code ?? 'ErrorItemNotFound', message: error?.message ?? 'Not returned' });
          }
        });
      }
      // Attachment lists: the one thing a delta page cannot carry ($expand is not allowed there).
      const withAttachments = wanted.filter((id) => cached(id)?.entity.hasAttachments === true && attachmentsPath(cached(id)!.kind, id));
      const attachmentResponses = await batchGet(withAttachments.map((id, index) => ({ id: `a${index}`, method: 'GET' as const, url: attachmentsPath(cached(id)!.kind, id)! })));
      const attachmentsOf = new Map<string, AttachmentInfo[]>();
      withAttachments.forEach((id, index) => {
        const response = attachmentResponses.get(`a${index}`);
        const list = response?.status === 200 && Array.isArray((response.body as { value?: unknown } | undefined)?.value) ? ((response.body as { value: unknown[] }).value as Graph.Attachment[]) : [];
        attachmentsOf.set(id, list.map(attachmentInfo));
      });
      return itemIds.map((id): FetchedItem => {
        const failed = fetched.get(id);
        if (failed) return failed;
        const entry = cached(id);
        if (!entry) return { ok: false, itemId: id, code: 'ErrorItemNotFound', message: 'Not returned' };
        return { ok: true, itemId: id, item: toItem(entry.kind, entry.entity, attachmentsOf.get(id) ?? []) };
      });
    },
  };

  function toChangePage(kind: GraphItemKind, state: GraphState, page: GraphPage<RawEntity>, requestedAt: number): ChangePage {
    const next = page.deltaLink ?? page.nextLink;
    if (next === undefined) throw new MailboxSourceError('Unknown', 'Graph returned a delta page without a nextLink or deltaLink.', { sourceCode: 'MalformedResponse' });
    // The same item may come twice in a round (Graph documents it): the last entry wins.
    const entries = new Map<string, RawEntity>();
    for (const entity of page.value) {
      if (typeof entity !== 'object' || entity === null || typeof entity.id !== 'string' || entity.id.length === 0) continue;
      entries.delete(entity.id);
      entries.set(entity.id, entity);
    }
    previousPage = cache;
    cache = new Map();
    const changes: SourceChange[] = [];
    for (const [id, entity] of entries) {
      if (entity['@removed'] !== undefined) {
        // 'deleted' and 'changed' (moved out of the folder or out of the view) both end the item here.
        changes.push({ type: 'deleted', itemId: id });
        continue;
      }
      cache.set(id, { kind, entity });
      changes.push(classify(kind, entity, state.roundStartedAt));
    }
    const nextState: GraphState = page.deltaLink !== undefined ? { roundStartedAt: requestedAt, link: relativeLink(client, page.deltaLink) } : { roundStartedAt: state.roundStartedAt, link: relativeLink(client, next) };
    return { syncState: encodeGraphState(nextState), includesLastItemInRange: page.deltaLink !== undefined, changes };
  }
}
