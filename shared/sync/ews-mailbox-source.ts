/**
 * The MailboxSource over EWS: SyncFolderItems (IdOnly pages) and GetItem in batches, with short
 * in-process retries from the throttling policy; longer back-offs surface as a Throttled error
 * carrying the delay, so the worker re-queues the job instead of sleeping.
 */
import { EntraAuthError } from '../auth/entra-errors';
import type { SyncedFolder } from '../delivery/change-batch';
import {
  EwsError,
  EwsResponseError,
  EwsThrottledError,
  RetryLaterError,
  createThrottlingPolicy,
  withRetries,
} from '../ews';
import type { DistinguishedFolderName, EwsItem, ItemChange, ItemResult, MailboxClient, ThrottlingPolicy } from '../ews';

// The lean path (saxes, fast-xml-parser) is required on the first EWS sync, not at start-up (cold start, docs/sync.md).
const lean = (): typeof import('../ews/soap/lean-operations') => require('../ews/soap/lean-operations') as typeof import('../ews/soap/lean-operations');
import { GRAPH_STATE_PREFIX, MailboxSourceError } from './mailbox-source';
import type { ChangePage, FetchedItem, FolderTarget, FolderTree, MailboxSource, SourceChange } from './mailbox-source';
import { isWellKnown, kindOfTarget } from './mailbox-source';
import { ewsFolderTree, folderAtPath } from './folder-tree';
import type { FolderRef } from '../ews/types';

export interface EwsMailboxSourceOptions {
  /** Ids per GetItem call (bodies included, so far below EWS's 1000). Default 50. */
  readonly getItemBatchSize?: number;
  /** Longest back-off waited in-process. Default 2,000 ms. */
  readonly maxInlineDelayInMs?: number;
  readonly policy?: ThrottlingPolicy;
  /** Injectable wait (tests). */
  readonly sleep?: (delayInMs: number) => Promise<void>;
  /**
   * EWS requests this source runs at once (GetItem batches fetched ahead, the next SyncFolderItems
   * page listed while items are fetched). Default 2. Keep it × the account's concurrency slots at or
   * below Exchange's EWSMaxConcurrency (27): see requestsInFlightFor().
   */
  readonly requestsInFlight?: number;
}

/** Exchange's default EWSMaxConcurrency per account (service account, application, user). */
export const EXCHANGE_MAX_CONCURRENCY_PER_ACCOUNT = 27;

/** Requests in flight per job so that `perAccount` concurrent jobs stay within Exchange's per-account limit: 2 up to 13 slots, else 1. */
export function requestsInFlightFor(perAccount: number): number {
  return Math.max(1, Math.min(2, Math.floor(EXCHANGE_MAX_CONCURRENCY_PER_ACCOUNT / Math.max(1, perAccount))));
}

/** A counting semaphore: at most `limit` calls of run() are pending at once, the rest wait in order. */
function limiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

const FOLDERS: Readonly<Record<SyncedFolder, DistinguishedFolderName>> = {
  inbox: 'inbox',
  calendar: 'calendar',
  contacts: 'contacts',
  tasks: 'tasks',
};

const CHANGE_TYPES = { create: 'created', update: 'updated', delete: 'deleted', readFlagChange: 'readFlagChanged' } as const;

function toSourceChange(change: ItemChange): SourceChange {
  return { type: CHANGE_TYPES[change.type], itemId: change.itemId, changeKey: change.changeKey, isRead: change.isRead };
}

const RESPONSE_CODES: Readonly<Record<string, MailboxSourceError['code']>> = {
  ErrorInvalidSyncStateData: 'InvalidSyncState',
  ErrorNonExistentMailbox: 'MailboxNotFound',
  ErrorImpersonateUserDenied: 'AccessDenied',
  ErrorImpersonationDenied: 'AccessDenied',
  ErrorAccessDenied: 'AccessDenied',
  ErrorAccountDisabled: 'MailboxDisabled',
  ErrorPasswordExpired: 'AuthenticationFailed',
  ErrorFolderNotFound: 'FolderNotFound',
  ErrorSyncFolderNotFound: 'FolderNotFound',
  ErrorMailboxStoreUnavailable: 'Unavailable',
  ErrorMailboxMoveInProgress: 'Unavailable',
  ErrorInternalServerTransientError: 'Unavailable',
  ErrorTimeoutExpired: 'Unavailable',
  ErrorConnectionFailed: 'Unavailable',
  ErrorTooManyObjectsOpened: 'Unavailable',
  ErrorBatchProcessingStopped: 'Unavailable',
  ErrorInternalServerError: 'Unavailable',
};

/** Maps whatever an EWS call (or its token acquisition) threw to a MailboxSourceError. */
export function toMailboxSourceError(error: unknown): MailboxSourceError {
  if (error instanceof MailboxSourceError) return error;
  if (error instanceof RetryLaterError) {
    const cause = toMailboxSourceError(error.cause);
    return new MailboxSourceError(cause.code === 'Throttled' ? 'Throttled' : 'Unavailable', cause.message, { retryAfterInMs: error.delayInMs, ...(cause.sourceCode ? { sourceCode: cause.sourceCode } : {}), cause: error });
  }
  if (error instanceof EntraAuthError) {
    const code = error.code === 'RefreshTokenInvalid' || error.code === 'InteractionRequired' ? 'ReauthenticationRequired' : error.transient ? 'Unavailable' : 'AuthenticationFailed';
    return new MailboxSourceError(code, error.message, { sourceCode: error.code, cause: error });
  }
  if ((error as { code?: unknown } | null)?.code === 'ReauthenticationRequired') {
    return new MailboxSourceError('ReauthenticationRequired', error instanceof Error ? error.message : 'The user must sign in again.', { sourceCode: 'ReauthenticationRequired', cause: error });
  }
  if (!(error instanceof EwsError)) return new MailboxSourceError('Unknown', error instanceof Error ? error.message : String(error), { cause: error });
  const options = { sourceCode: error.code, cause: error };
  switch (error.kind) {
    case 'throttled':
      return new MailboxSourceError('Throttled', error.message, { ...options, ...((error as EwsThrottledError).retryAfterInMs !== undefined ? { retryAfterInMs: (error as EwsThrottledError).retryAfterInMs! } : {}) });
    case 'unavailable':
      return new MailboxSourceError('Unavailable', error.message, options);
    case 'authentication':
      return new MailboxSourceError('AuthenticationFailed', error.message, options);
    case 'disabled':
      return new MailboxSourceError('ProtocolDisabled', error.message, options);
    case 'tls':
    case 'endpointNotFound':
    case 'configuration':
      return new MailboxSourceError('Configuration', error.message, options);
    case 'response':
      return new MailboxSourceError(RESPONSE_CODES[(error as EwsResponseError).code] ?? 'Unknown', error.message, options);
    default:
      return new MailboxSourceError('Unknown', error.message, options);
  }
}

/** A batch not started because an earlier one failed. */
class BatchSkippedError extends Error {
  readonly code = 'BatchSkipped';
}

function isSkipped(error: unknown): boolean {
  return error instanceof MailboxSourceError && error.cause instanceof BatchSkippedError;
}

function toFetchedItem(result: ItemResult<EwsItem>): FetchedItem {
  return result.ok ? { ok: true, itemId: result.itemId, item: result.value } : { ok: false, itemId: result.itemId, code: result.error.code, message: result.error.message };
}

export function createEwsMailboxSource(client: MailboxClient, options: EwsMailboxSourceOptions = {}): MailboxSource {
  const policy = options.policy ?? createThrottlingPolicy();
  const batchSize = options.getItemBatchSize ?? 50;
  const retryOptions = { maxInlineDelayInMs: options.maxInlineDelayInMs ?? 2_000, ...(options.sleep ? { sleep: options.sleep } : {}) };
  const slot = limiter(Math.max(1, Math.floor(options.requestsInFlight ?? 2)));
  const call = async <T>(operation: () => Promise<T>): Promise<T> => {
    try {
      return await withRetries(() => slot(operation), policy, retryOptions);
    } catch (error) {
      throw toMailboxSourceError(error);
    }
  };
  let tree: Promise<FolderTree> | undefined;
  const listFolders = (): Promise<FolderTree> => {
    tree ??= call(() => ewsFolderTree(client));
    tree.catch(() => (tree = undefined));
    return tree;
  };
  /** A chosen folder's FolderRef: the well-known one, its id, or the folder at its path (one FindFolder walk per source). */
  const folderRef = async (target: FolderTarget): Promise<FolderRef> => {
    if (isWellKnown(target)) return { distinguished: FOLDERS[kindOfTarget(target)] };
    if (target.id !== undefined) return { id: target.id };
    return { id: folderAtPath((await listFolders()).folders, target.path ?? '', target.folder).id };
  };
  return {
    listFolders,
    // A Graph state (the group was switched from Graph back to EWS) is not ours: the engine migrates instead of failing it.
    ownsSyncState: (syncState) => !syncState.startsWith(GRAPH_STATE_PREFIX),
    async listChanges(folder, syncState, maxChanges): Promise<ChangePage> {
      const ref = await folderRef(folder);
      const result = await call(() => lean().leanSyncFolderItems(client, ref, syncState, { maxChangesReturned: Math.min(Math.max(maxChanges, 1), 512) }));
      return { syncState: result.syncState, includesLastItemInRange: result.includesLastItemInRange, changes: result.changes.map(toSourceChange) };
    },
    async getItems(itemIds): Promise<FetchedItem[]> {
      // Every batch is queued at once; the limiter runs `requestsInFlight` of them, so the next batch is
      // on the wire while the last one is parsed and mapped. After a failure no further batch starts.
      let stopped = false;
      const batches: Promise<FetchedItem[]>[] = [];
      for (let offset = 0; offset < itemIds.length; offset += batchSize) {
        const batch = itemIds.slice(offset, offset + batchSize);
        const fetched = call(() => (stopped ? Promise.reject(new BatchSkippedError()) : lean().leanGetItems(client, batch, { bodyType: 'text' })));
        batches.push(fetched.then((results) => results.map(toFetchedItem), (error: unknown) => {
          stopped = true;
          throw error;
        }));
      }
      // Every batch is awaited (none ends as an unhandled rejection); the first real failure is thrown.
      const settled = await Promise.allSettled(batches);
      const failure = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected' && !isSkipped(outcome.reason));
      if (failure) throw failure.reason;
      return settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? outcome.value : []));
    },
  };
}
