/**
 * The sync hot path: SyncFolderItems and GetItem without ews-javascript-api. Profiling the
 * initial sync showed ~70% of the CPU in ews-javascript-api's XML DOM, its object model and
 * moment (see docs/ews-client.md, "Two paths"). These two operations build their request with
 * xmlbuilder2 and read the answer with a SAX parser into the same plain shapes, through the
 * client's postSoap(): the same transport, authentication, impersonation and typed errors.
 * Everything else (send, folders, connection tests, updates) stays on ews-javascript-api.
 */
import { responseCodeError } from '../error-classifier';
import { EwsConfigurationError, EwsError, EwsProtocolError } from '../errors';
import type { MailboxClient } from '../mailbox-client';
import { MAX_ITEM_BATCH, MAX_SYNC_CHANGES, REQUEST_LEVEL_CODES } from '../operations/limits';
import type { SyncFolderItemsOptions } from '../operations/sync-folder-items';
import type { EwsItem, FolderRef, ItemResult, SyncFolderItemsResult } from '../types';
import { getItemRequest, syncFolderItemsRequest } from './request-builder';
import { readItem, readSyncFolderItems, responseMessages, type ResponseMessage } from './response-reader';
import { readXml, XmlReadError, type XmlElement } from './xml-reader';

function parse(xml: string, operation: string): XmlElement {
  try {
    return readXml(xml);
  } catch (error) {
    if (error instanceof XmlReadError) throw new EwsProtocolError(`${operation}: the EWS response could not be read: ${error.message}`, { cause: error });
    throw error;
  }
}

function failureOf(message: ResponseMessage, operation: string): EwsError {
  return responseCodeError(message.code, message.message || message.code, message.details, operation, 200);
}

/** SyncFolderItems (IdOnly) on the lean path; same contract as operations/sync-folder-items.ts. */
export async function leanSyncFolderItems(client: MailboxClient, folder: FolderRef, syncState: string | undefined, options: SyncFolderItemsOptions = {}): Promise<SyncFolderItemsResult> {
  const maxChanges = options.maxChangesReturned ?? MAX_SYNC_CHANGES;
  if (!Number.isInteger(maxChanges) || maxChanges < 1 || maxChanges > MAX_SYNC_CHANGES) {
    throw new EwsConfigurationError('InvalidArgument', `maxChangesReturned must be an integer from 1 to ${MAX_SYNC_CHANGES}.`);
  }
  const operation = 'SyncFolderItems';
  const xml = await client.postSoap(operation, (context) => syncFolderItemsRequest(context, { folder, syncState, maxChanges, ignore: options.ignore ?? [] }));
  const [message] = responseMessages(parse(xml, operation), operation);
  if (!message) throw new EwsProtocolError(`${operation}: the EWS response has no response message`);
  if (message.responseClass === 'Error') throw failureOf(message, operation);
  return readSyncFolderItems(message);
}

export interface LeanGetItemsOptions {
  /** Body format; 'none' leaves the body out. Default text. */
  readonly bodyType?: 'text' | 'html' | 'none';
}

/** GetItem (AllProperties + body) on the lean path; same contract as operations/get-items.ts. */
export async function leanGetItems(client: MailboxClient, itemIds: readonly string[], options: LeanGetItemsOptions = {}): Promise<ItemResult<EwsItem>[]> {
  if (itemIds.length === 0) return [];
  if (itemIds.length > MAX_ITEM_BATCH) throw new EwsConfigurationError('InvalidArgument', `At most ${MAX_ITEM_BATCH} ids per GetItem call.`);
  const operation = 'GetItem';
  const xml = await client.postSoap(operation, (context) => getItemRequest(context, { itemIds, bodyType: options.bodyType ?? 'text' }));
  const messages = responseMessages(parse(xml, operation), operation);
  for (const message of messages) {
    if (message.responseClass !== 'Success' && REQUEST_LEVEL_CODES.has(message.code)) throw failureOf(message, operation);
  }
  if (messages.length !== itemIds.length) throw new EwsProtocolError(`${operation}: ${itemIds.length} ids were asked for, ${messages.length} answers came back`);
  return messages.map((message, index): ItemResult<EwsItem> => {
    const itemId = itemIds[index]!;
    if (message.responseClass !== 'Success') return { ok: false, itemId, error: { code: message.code, message: message.message || message.code } };
    const item = message.element.children.find((candidate) => candidate.name === 'Items')?.children[0];
    if (!item) throw new EwsProtocolError(`${operation}: a successful answer carries no item`);
    return { ok: true, itemId, value: readItem(item) };
  });
}
