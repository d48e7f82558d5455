import { BasePropertySet, ConflictResolutionMode, EmailMessage, ItemId, MessageDisposition, PropertySet, type Item } from 'ews-javascript-api';
import { EwsConfigurationError } from '../errors';
import type { MailboxClient } from '../mailbox-client';
import type { ItemResult } from '../types';
import { MAX_ITEM_BATCH, throwIfRequestLevelFailure, toItemResult } from './item-results';

/**
 * Sets IsRead on a batch of messages (GetItem IdOnly, then one UpdateItem with AutoResolve, read
 * receipts suppressed). One result per id with the new change key; ids that are not messages give
 * `ok: false` code ErrorInvalidPropertySet, missing ones ErrorItemNotFound.
 */
export async function updateIsRead(client: MailboxClient, itemIds: readonly string[], isRead: boolean): Promise<ItemResult<{ changeKey: string | undefined }>[]> {
  if (itemIds.length === 0) return [];
  if (itemIds.length > MAX_ITEM_BATCH) throw new EwsConfigurationError('InvalidArgument', `At most ${MAX_ITEM_BATCH} ids per call.`);
  const bound = await client.execute('GetItem', (service) => service.BindToItems(itemIds.map((id) => new ItemId(id)), new PropertySet(BasePropertySet.IdOnly)));
  throwIfRequestLevelFailure(bound.Responses, 'GetItem');
  const results: (ItemResult<{ changeKey: string | undefined }> | undefined)[] = [];
  const messages: { index: number; item: Item }[] = [];
  bound.Responses.forEach((response, index) => {
    const id = itemIds[index]!;
    const result = toItemResult(id, response, () => response.Item);
    if (!result.ok) results[index] = result;
    else if (!(result.value instanceof EmailMessage)) results[index] = { ok: false, itemId: id, error: { code: 'ErrorInvalidPropertySet', message: 'IsRead applies to messages only.' } };
    else {
      result.value.IsRead = isRead;
      messages.push({ index, item: result.value });
    }
  });
  if (messages.length > 0) {
    const updated = await client.execute('UpdateItem', (service) =>
      service.UpdateItems(messages.map((m) => m.item), null!, ConflictResolutionMode.AutoResolve, MessageDisposition.SaveOnly, null!, true),
    );
    throwIfRequestLevelFailure(updated.Responses, 'UpdateItem');
    updated.Responses.forEach((response, position) => {
      const { index, item } = messages[position]!;
      results[index] = toItemResult(itemIds[index]!, response, () => ({ changeKey: item.Id.ChangeKey || undefined }));
    });
  }
  return results.map((result, index) => result ?? { ok: false, itemId: itemIds[index]!, error: { code: 'ErrorInternalServerError', message: 'No response for this item.' } });
}
