/**
 * What the write worker needs from a mailbox, independent of the protocol (EWS first,
 * ews-mailbox-writer.ts; Graph is a second implementation of the same interface). Expected
 * failures are values (`conflict`, `notFound`, `rejected`); passing trouble (throttling, outages)
 * throws MailboxSourceError, exactly as the sync source does, so the worker applies one policy.
 */
import type { ChangeItem } from '../delivery/change-batch';
import type { CalendarFields, ContactFields, TaskFields, WriteItemType } from './write-operation';

/** The marker properties the connector keeps on items it created (named, PublicStrings set). */
export const MARKER_OPERATION_ID = 'ExchangeConnector.OperationId';
export const MARKER_EXTERNAL_ID = 'ExchangeConnector.ExternalId';
/** The last operation that updated the item (set in the same UpdateItem / PATCH): a retry after a crash recognises its own write. */
export const MARKER_LAST_OPERATION_ID = 'ExchangeConnector.LastOperationId';

export interface ItemVersion {
  readonly itemId: string;
  /** ChangeKey (EWS) / ETag (Graph). */
  readonly version: string;
}

export type InvitationMode = 'none' | 'toAll' | 'toAllAndSaveCopy';

export type WriteFields =
  | { readonly itemType: 'calendarItem'; readonly fields: CalendarFields }
  | { readonly itemType: 'contact'; readonly fields: ContactFields }
  | { readonly itemType: 'task'; readonly fields: TaskFields };

export interface ItemTarget {
  readonly itemId: string;
  readonly occurrenceIndex?: number | undefined;
  /** What the request says the item is (Graph addresses each kind by its own path; EWS binds any id). */
  readonly itemType?: WriteItemType | undefined;
}

export type WriteOutcome =
  | ({ readonly kind: 'written'; readonly related?: readonly ItemVersion[] } & ItemVersion)
  | { readonly kind: 'deleted'; readonly itemId: string; readonly related?: readonly ItemVersion[] }
  /** The expected version is stale: nothing was written; the item as it is now. */
  | { readonly kind: 'conflict'; readonly current: ChangeItem | undefined; readonly currentVersion: string | undefined }
  | { readonly kind: 'notFound'; readonly message: string }
  /** Exchange refused the request itself (bad value, unsupported): retrying cannot help. */
  | { readonly kind: 'rejected'; readonly code: string; readonly message: string };

export type MailOperation =
  | { readonly kind: 'setReadState'; readonly isRead: boolean }
  | { readonly kind: 'setFlag'; readonly flag: 'notFlagged' | 'flagged' | 'complete' }
  | { readonly kind: 'setCategories'; readonly categories: readonly string[] }
  | { readonly kind: 'move'; readonly destinationFolder: string };

export interface CreateRequest {
  readonly write: WriteFields;
  readonly operationId: string;
  readonly externalId?: string | undefined;
  readonly invitations: InvitationMode;
}

export interface MailboxWriter {
  /** An item this connector created for `operationId` earlier (found by its marker), if any. */
  findCreated(itemType: Exclude<WriteItemType, 'message'>, operationId: string): Promise<ItemVersion | undefined>;
  /** The item carrying this external id (marker), if any — the fallback when the Table mapping is missing. */
  findByExternalId(itemType: Exclude<WriteItemType, 'message'>, externalId: string): Promise<ItemVersion | undefined>;
  create(request: CreateRequest): Promise<WriteOutcome>;
  /** Updates only if the item's version is still `expectedVersion`; never forces. */
  update(target: ItemTarget, expectedVersion: string, write: WriteFields, invitations: InvitationMode, operationId: string): Promise<WriteOutcome>;
  delete(target: ItemTarget, expectedVersion: string, invitations: InvitationMode): Promise<WriteOutcome>;
  /** The item's current version and the operation its LastOperationId marker names; undefined when the item is gone. */
  lastOperation(target: ItemTarget): Promise<(ItemVersion & { readonly operationId: string | undefined }) | undefined>;
  /** Mail operations; with `expectedVersion` they are not forced either. */
  apply(target: ItemTarget, operation: MailOperation, expectedVersion: string | undefined): Promise<WriteOutcome>;
}
