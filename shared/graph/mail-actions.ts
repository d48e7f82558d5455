/**
 * Writes through Graph, one place per operation (the Graph counterparts of shared/ews's
 * delete-items, update-is-read and send-message). Batch operations return one result per id,
 * failures as values (ErrorItemNotFound for an item already gone); whole-call failures throw
 * GraphServiceError. A request throttled inside a $batch is sent again on its own after its
 * Retry-After when that is short; otherwise the whole call fails as throttled and the caller's
 * queue retries it (the operations are idempotent per item).
 */
import type * as Graph from '@microsoft/microsoft-graph-types';
import { withRetries } from '../ews/throttling-policy';
import type { ItemResult } from '../ews/types';
import { batchAll, batchResponseError } from './graph-client';
import { createGraphRetryPolicy } from './retry-policy';
import type { BatchRequest, BatchResponse, GraphMailbox } from './graph-client';

export type GraphDeleteMode = 'hardDelete' | 'moveToDeletedItems';

/** Short waits in-process, like EWS writes (withRetries); longer ones fail the call for the queue to retry. */
const retryShortly = <T>(operation: () => Promise<T>): Promise<T> => withRetries(operation, createGraphRetryPolicy({ maxAttempts: 3 }), { maxInlineDelayInMs: 2_000 });

function batchWithRetries(client: GraphMailbox, requests: readonly BatchRequest[]): Promise<Map<string, BatchResponse>> {
  return batchAll(client, requests, retryShortly);
}

function results<T>(ids: readonly string[], responses: Map<string, BatchResponse>, value: (response: BatchResponse) => T): ItemResult<T>[] {
  return ids.map((itemId, index) => {
    const response = responses.get(String(index));
    if (response && response.status >= 200 && response.status < 300) return { ok: true, itemId, value: value(response) };
    const error = response ? batchResponseError(response) : undefined;
    return { ok: false, itemId, error: { code: error?.code ?? 'ErrorItemNotFound', message: error?.message ?? 'No response' } };
  });
}

/**
 * Deletes messages: hardDelete is Graph's DELETE (into Recoverable Items, gone from every folder the
 * user sees, as EWS HardDelete is for the user); moveToDeletedItems moves them to Deleted Items.
 */
export async function deleteMessages(client: GraphMailbox, itemIds: readonly string[], mode: GraphDeleteMode): Promise<ItemResult<null>[]> {
  const requests: BatchRequest[] = itemIds.map((id, index) =>
    mode === 'hardDelete'
      ? { id: String(index), method: 'DELETE', url: `${client.userPath}/messages/${encodeURIComponent(id)}` }
      : { id: String(index), method: 'POST', url: `${client.userPath}/messages/${encodeURIComponent(id)}/move`, headers: { 'content-type': 'application/json' }, body: { destinationId: 'deleteditems' } },
  );
  return results(itemIds, await batchWithRetries(client, requests), () => null);
}

/** Sets the read flag of messages; each result carries the new changeKey. */
export async function updateIsRead(client: GraphMailbox, itemIds: readonly string[], isRead: boolean): Promise<ItemResult<{ changeKey: string | undefined }>[]> {
  const requests: BatchRequest[] = itemIds.map((id, index) => ({
    id: String(index),
    method: 'PATCH',
    url: `${client.userPath}/messages/${encodeURIComponent(id)}?$select=id,changeKey,isRead`,
    headers: { 'content-type': 'application/json' },
    body: { isRead },
  }));
  return results(itemIds, await batchWithRetries(client, requests), (response) => {
    const changeKey = (response.body as { changeKey?: unknown } | undefined)?.changeKey;
    return { changeKey: typeof changeKey === 'string' ? changeKey : undefined };
  });
}

export interface GraphOutgoingMessage {
  readonly to: readonly string[];
  readonly cc?: readonly string[];
  readonly bcc?: readonly string[];
  readonly subject: string;
  readonly body: { readonly contentType: 'html' | 'text'; readonly content: string };
  readonly attachments?: readonly { readonly name: string; readonly contentType: string; readonly contentBase64: string }[];
}

const recipients = (list: readonly string[] | undefined): Graph.Recipient[] => (list ?? []).map((address) => ({ emailAddress: { address } }));

/** sendMail with a copy in Sent Items (as EWS SendAndSaveCopy). */
export async function sendMail(client: GraphMailbox, message: GraphOutgoingMessage): Promise<void> {
  const body: { message: Graph.Message; saveToSentItems: boolean } = {
    message: {
      subject: message.subject,
      body: { contentType: message.body.contentType, content: message.body.content },
      toRecipients: recipients(message.to),
      ccRecipients: recipients(message.cc),
      bccRecipients: recipients(message.bcc),
      ...(message.attachments && message.attachments.length > 0
        ? { attachments: message.attachments.map((a) => ({ '@odata.type': '#microsoft.graph.fileAttachment', name: a.name, contentType: a.contentType, contentBytes: a.contentBase64 }) as Graph.FileAttachment) }
        : {}),
    },
    saveToSentItems: true,
  };
  await client.post<unknown>(`${client.userPath}/sendMail`, body);
}

/**
 * EWS item ids → Graph immutable ids for one mailbox, for consumers matching records from before
 * a switch to Graph. Delegated tokens use Graph's translateExchangeIds (ewsId → restImmutableEntryId,
 * 1,000 ids per call); app-only tokens may not call it, so the EWS id is turned into Graph's REST id
 * form (the same base64 with '/'→'-' and '+'→'_') and each item is read with Prefer IdType="ImmutableId".
 * Ids that match no item come back with `graphId` undefined.
 */
export async function translateEwsIds(client: GraphMailbox, ewsIds: readonly string[], access: 'appOnly' | 'delegated'): Promise<{ ewsId: string; graphId: string | undefined }[]> {
  if (access === 'delegated') {
    const mapped = new Map<string, string>();
    for (let offset = 0; offset < ewsIds.length; offset += 1000) {
      const answer = await client.post<{ value?: { sourceId?: string; targetId?: string }[] }>(`${client.userPath}/translateExchangeIds`, {
        inputIds: ewsIds.slice(offset, offset + 1000),
        sourceIdType: 'ewsId',
        targetIdType: 'restImmutableEntryId',
      });
      for (const entry of answer.value ?? []) if (typeof entry.sourceId === 'string' && typeof entry.targetId === 'string') mapped.set(entry.sourceId, entry.targetId);
    }
    return ewsIds.map((ewsId) => ({ ewsId, graphId: mapped.get(ewsId) }));
  }
  const requests: BatchRequest[] = ewsIds.map((id, index) => ({ id: String(index), method: 'GET', url: `${client.userPath}/messages/${encodeURIComponent(id.replaceAll('/', '-').replaceAll('+', '_'))}?$select=id` }));
  const responses = await batchWithRetries(client, requests);
  return ewsIds.map((ewsId, index) => {
    const response = responses.get(String(index));
    const id = response?.status === 200 ? (response.body as { id?: unknown } | undefined)?.id : undefined;
    return { ewsId, graphId: typeof id === 'string' ? id : undefined };
  });
}
