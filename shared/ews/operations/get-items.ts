import { BasePropertySet, BodyType, ItemId, ItemSchema, PropertySet, type PropertyDefinitionBase } from 'ews-javascript-api';
import { EwsConfigurationError } from '../errors';
import { toEwsItem } from '../item-mapping';
import type { MailboxClient } from '../mailbox-client';
import type { EwsItem, ItemResult } from '../types';
import { MAX_ITEM_BATCH, throwIfRequestLevelFailure, toItemResult } from './item-results';

export interface GetItemsOptions {
  /** idOnly: ids and change keys; allProperties: EWS AllProperties (ews-javascript-api has no "Default" shape). Default allProperties. */
  readonly shape?: 'idOnly' | 'allProperties';
  /** Body format to request; 'none' leaves the body out. Default text. */
  readonly bodyType?: 'text' | 'html' | 'none';
  /** Extra properties (ews-javascript-api definitions, e.g. ItemSchema.MimeContent) on top of the shape. */
  readonly additionalProperties?: readonly PropertyDefinitionBase[];
}

function propertySet(options: GetItemsOptions): PropertySet {
  const base = options.shape === 'idOnly' ? BasePropertySet.IdOnly : BasePropertySet.FirstClassProperties;
  const bodyType = options.bodyType ?? 'text';
  const extra: PropertyDefinitionBase[] = [...(options.additionalProperties ?? [])];
  if (bodyType !== 'none' && options.shape !== 'idOnly') extra.push(ItemSchema.Body);
  const set = new PropertySet(base, extra);
  if (bodyType !== 'none') set.RequestedBodyType = bodyType === 'html' ? BodyType.HTML : BodyType.Text;
  return set;
}

/**
 * GetItem for a batch of ids. Results come back in the order of `itemIds`, one per id; an item Exchange
 * could not return (ErrorItemNotFound, ErrorInvalidIdMalformed, ...) is an `ok: false` value while the
 * others succeed. Whole-request failures (throttling, auth, impersonation) reject with an EwsError.
 */
export async function getItems(client: MailboxClient, itemIds: readonly string[], options: GetItemsOptions = {}): Promise<ItemResult<EwsItem>[]> {
  if (itemIds.length === 0) return [];
  if (itemIds.length > MAX_ITEM_BATCH) throw new EwsConfigurationError('InvalidArgument', `At most ${MAX_ITEM_BATCH} ids per GetItem call.`);
  const properties = propertySet(options);
  const responses = await client.execute('GetItem', (service) => service.BindToItems(itemIds.map((id) => new ItemId(id)), properties));
  throwIfRequestLevelFailure(responses.Responses, 'GetItem');
  return responses.Responses.map((response, index) => toItemResult(itemIds[index]!, response, () => toEwsItem(response.Item)));
}
