/**
 * What the sync engine needs from a mailbox, independent of the protocol. EWS is the first
 * implementation (ews-mailbox-source.ts); another protocol plugs in here without touching the
 * engine. Every failure leaving a source is a MailboxSourceError with a stable `code`.
 */
import { createHash } from 'node:crypto';
import type { ChangeItem, SyncedFolder } from '../delivery/change-batch';
import type { FolderNode } from './folder-tree';

/**
 * A folder the engine syncs: the mailbox's well-known folder of a kind (a bare name), or a folder
 * an administrator chose by id or by path. `folder` is the kind (as records name it: inbox,
 * calendar, contacts, tasks); an id is the protocol's own folder id (GET .../folders lists them);
 * a path is display names from the top of the mailbox, separated by '/', e.g. "Inbox/Projects".
 */
export interface ChosenFolder {
  readonly folder: SyncedFolder;
  readonly id?: string | undefined;
  readonly path?: string | undefined;
}
export type FolderTarget = SyncedFolder | ChosenFolder;

/** The kind of a target (its records' `folder`). */
export function kindOfTarget(target: FolderTarget): SyncedFolder {
  return typeof target === 'string' ? target : target.folder;
}

/** A chosen folder with neither id nor path is the well-known one. */
export function isWellKnown(target: FolderTarget): target is SyncedFolder | (ChosenFolder & { readonly id?: undefined; readonly path?: undefined }) {
  return typeof target === 'string' || (target.id === undefined && target.path === undefined);
}

/**
 * The key a target's sync state is stored under: the kind for well-known folders (as before), else
 * the kind plus a digest of the id or path (Table keys are short and may not hold '/', '#', '?').
 */
export function folderStateKey(target: FolderTarget): string {
  if (isWellKnown(target)) return kindOfTarget(target);
  const chosen = target as ChosenFolder;
  const what = chosen.id !== undefined ? `id:${chosen.id}` : `path:${(chosen.path ?? '').toLowerCase()}`;
  return `${chosen.folder}~${createHash('sha256').update(what).digest('hex').slice(0, 32)}`;
}

/** For messages and logs: "inbox", or "mail folder Inbox/Projects". */
export function describeTarget(target: FolderTarget): string {
  if (isWellKnown(target)) return kindOfTarget(target);
  const chosen = target as ChosenFolder;
  return chosen.path !== undefined ? `${chosen.folder} folder "${chosen.path}"` : `${chosen.folder} folder id ${chosen.id}`;
}

/** Graph sync states start with this (graph-mailbox-source.ts); EWS states never do (they are base64). */
export const GRAPH_STATE_PREFIX = 'graph:v1:';

export interface FolderTree {
  readonly folders: readonly FolderNode[];
  /** More folders than MAX_FOLDERS_LISTED: the list was cut. */
  readonly truncated: boolean;
}

export type SourceChangeType = 'created' | 'updated' | 'deleted' | 'readFlagChanged';

export interface SourceChange {
  readonly type: SourceChangeType;
  readonly itemId: string;
  readonly changeKey?: string | undefined;
  /** For readFlagChanged. */
  readonly isRead?: boolean | undefined;
}

export interface ChangePage {
  /** Opaque; saved only after the page's changes were handed on. */
  readonly syncState: string;
  readonly includesLastItemInRange: boolean;
  readonly changes: readonly SourceChange[];
}

/** Per-item outcome of getItems: an item deleted meanwhile is a value, not an exception. */
export type FetchedItem =
  | { readonly ok: true; readonly itemId: string; readonly item: ChangeItem }
  | { readonly ok: false; readonly itemId: string; readonly code: string; readonly message: string };

export interface MailboxSource {
  /** Set on records as `source` (absent: EWS, as records were before Graph existed). */
  readonly protocol?: 'ews' | 'graph';
  /**
   * False for a stored state another protocol wrote (the group switched protocol): the engine then
   * starts this folder over as a migration instead of handing the foreign state to the source.
   */
  ownsSyncState?(syncState: string): boolean;
  /** One page of changes after `syncState` (undefined: from the beginning), at most `maxChanges`. */
  listChanges(folder: FolderTarget, syncState: string | undefined, maxChanges: number): Promise<ChangePage>;
  /** The mailbox's folder tree, to choose folders from (admin API) and to resolve folders chosen by path. */
  listFolders?(): Promise<FolderTree>;
  /** The items, in the order of `itemIds`; the source batches internally as its protocol requires. */
  getItems(itemIds: readonly string[]): Promise<FetchedItem[]>;
}

export type MailboxSourceErrorCode =
  /** The stored sync state was rejected: start over with a full re-sync. */
  | 'InvalidSyncState'
  /** The server asked us to slow down; retry after `retryAfterInMs`. */
  | 'Throttled'
  /** Passing trouble (server down, timeouts, mailbox moving); retry later. */
  | 'Unavailable'
  /** The credential was refused even after a token refresh. */
  | 'AuthenticationFailed'
  /** A delegated user must sign in again (refresh token revoked or expired). */
  | 'ReauthenticationRequired'
  | 'MailboxNotFound'
  /** Impersonation / application access to this mailbox is not allowed. */
  | 'AccessDenied'
  | 'MailboxDisabled'
  /** The protocol is switched off for the organisation. */
  | 'ProtocolDisabled'
  /** Our own settings are wrong (URL, missing credential). */
  | 'Configuration'
  | 'FolderNotFound'
  | 'Unknown';

export class MailboxSourceError extends Error {
  readonly code: MailboxSourceErrorCode;
  /** For Throttled (and Unavailable when the server named a delay). */
  readonly retryAfterInMs: number | undefined;
  /** The protocol's own code (e.g. ErrorImpersonateUserDenied), for status messages. */
  readonly sourceCode: string | undefined;

  constructor(code: MailboxSourceErrorCode, message: string, options: { readonly retryAfterInMs?: number; readonly sourceCode?: string; readonly cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MailboxSourceError';
    this.code = code;
    this.retryAfterInMs = options.retryAfterInMs;
    this.sourceCode = options.sourceCode;
  }
}
