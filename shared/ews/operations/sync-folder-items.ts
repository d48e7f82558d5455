import { BasePropertySet, ChangeType, ItemId, PropertySet, SyncFolderItemsScope, type ItemChange as EwsItemChange } from 'ews-javascript-api';
import { EwsConfigurationError } from '../errors';
import { itemKind } from '../item-mapping';
import type { MailboxClient } from '../mailbox-client';
import type { FolderRef, ItemChange, ItemChangeType, SyncFolderItemsResult } from '../types';
import { toFolderId } from './folder-ids';

import { MAX_SYNC_CHANGES } from './limits';

export { MAX_SYNC_CHANGES };

export interface SyncFolderItemsOptions {
  /** 1..512; default 512. */
  readonly maxChangesReturned?: number;
  /** Item ids whose changes Exchange should leave out. */
  readonly ignore?: readonly string[];
}

const CHANGE_TYPES: Readonly<Record<ChangeType, ItemChangeType>> = {
  [ChangeType.Create]: 'create',
  [ChangeType.Update]: 'update',
  [ChangeType.Delete]: 'delete',
  [ChangeType.ReadFlagChange]: 'readFlagChange',
};

function toItemChange(change: EwsItemChange): ItemChange {
  const type = CHANGE_TYPES[change.ChangeType];
  const item = type === 'create' || type === 'update' ? change.Item : undefined;
  const id = item ? item.Id : change.ItemId;
  return {
    type,
    itemId: id.UniqueId,
    changeKey: item ? item.Id.ChangeKey || undefined : undefined,
    itemKind: item ? itemKind(item) : undefined,
    isRead: type === 'readFlagChange' ? change.IsRead : undefined,
  };
}

/**
 * SyncFolderItems with the IdOnly shape: one page of changes after `syncState` (undefined = from the
 * beginning). Call again with the returned syncState until includesLastItemInRange.
 * A damaged or foreign state fails with EwsResponseError code ErrorInvalidSyncStateData: start over without one.
 * Note: ews-javascript-api groups a page's changes by type (creates, updates, deletes, read flags), so the
 * server's order inside one page is not kept; Exchange coalesces changes per item within a page.
 */
export async function syncFolderItems(client: MailboxClient, folder: FolderRef, syncState: string | undefined, options: SyncFolderItemsOptions = {}): Promise<SyncFolderItemsResult> {
  const maxChanges = options.maxChangesReturned ?? MAX_SYNC_CHANGES;
  if (!Number.isInteger(maxChanges) || maxChanges < 1 || maxChanges > MAX_SYNC_CHANGES) {
    throw new EwsConfigurationError('InvalidArgument', `maxChangesReturned must be an integer from 1 to ${MAX_SYNC_CHANGES}.`);
  }
  const folderId = toFolderId(client, folder);
  const ignored = (options.ignore ?? []).map((id) => new ItemId(id));
  const changes = await client.execute('SyncFolderItems', (service) =>
    service.SyncFolderItems(folderId, new PropertySet(BasePropertySet.IdOnly), ignored.length ? ignored : null!, maxChanges, SyncFolderItemsScope.NormalItems, syncState ?? null!),
  );
  return {
    syncState: changes.SyncState,
    includesLastItemInRange: !changes.MoreChangesAvailable,
    changes: changes.GetEnumerator().map(toItemChange),
  };
}
