import { AffectedTaskOccurrence, DeleteMode, ItemId, SendCancellationsMode } from 'ews-javascript-api';
import { EwsConfigurationError } from '../errors';
import type { MailboxClient } from '../mailbox-client';
import type { ItemResult } from '../types';
import { MAX_ITEM_BATCH, throwIfRequestLevelFailure, toItemResult } from './item-results';

export type DeleteItemsMode = 'HardDelete' | 'SoftDelete' | 'MoveToDeletedItems';

const DELETE_MODES: Readonly<Record<DeleteItemsMode, DeleteMode>> = {
  HardDelete: DeleteMode.HardDelete,
  SoftDelete: DeleteMode.SoftDelete,
  MoveToDeletedItems: DeleteMode.MoveToDeletedItems,
};

/**
 * DeleteItem for a batch. One result per id, in order; e.g. an id already gone is `ok: false` with
 * ErrorItemNotFound. Meeting items are deleted without sending cancellations.
 */
export async function deleteItems(client: MailboxClient, itemIds: readonly string[], mode: DeleteItemsMode): Promise<ItemResult<null>[]> {
  if (itemIds.length === 0) return [];
  if (itemIds.length > MAX_ITEM_BATCH) throw new EwsConfigurationError('InvalidArgument', `At most ${MAX_ITEM_BATCH} ids per DeleteItem call.`);
  const deleteMode = DELETE_MODES[mode];
  if (deleteMode === undefined) throw new EwsConfigurationError('InvalidArgument', `Unknown delete mode: ${String(mode)}`);
  const responses = await client.execute('DeleteItem', (service) =>
    service.DeleteItems(itemIds.map((id) => new ItemId(id)), deleteMode, SendCancellationsMode.SendToNone, AffectedTaskOccurrence.AllOccurrences),
  );
  throwIfRequestLevelFailure(responses.Responses, 'DeleteItem');
  return responses.Responses.map((response, index) => toItemResult(itemIds[index]!, response, () => null));
}
