/**
 * deliver-batch: one attempt at delivering one batch to its group's target, and what follows:
 * success (status, claim-check cleanup, process-and-delete), a retry scheduled through the
 * queue, or a dead letter after the last attempt.
 */
import { groupAttributes, recordDeliveryAttempt, recordSyncLag, SpanKind, SpanStatusCode, withSpan } from '../telemetry';
import { randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import type { ConnectorEnvironment } from '../config';
import { deleteItems, MAX_ITEM_BATCH } from '../ews';
import type { MailboxClient } from '../ews';
import type { Logger } from '../logging';
import type { DeadLetterRepository, DeliveryStatusRepository, GroupRecord, GroupsRepository } from '../storage';
import { newestFirstRowKey } from '../storage';
import { groupProtocol } from '../storage/records';
import type { ProcessAndDeleteMode } from '../storage/records';
import type { GraphMailbox } from '../graph/graph-client';
import { deleteMessages } from '../graph/mail-actions';
import type { HostResolver } from './address-policy';
import type { ChangeBatch } from './change-batch';
import { changeBatchSchema } from './change-batch';
import type { DeliveryOutcome } from './delivery-outcome';
import { failure } from './delivery-outcome';
import type { BatchBlobStore } from './delivery-storage';
import { batchBlobName, deliveryMessageSchema } from './outbox';
import type { DeliveryMessage, StorageDeliveryOutbox } from './outbox';
import { sendToQueueTarget } from './queue-target-sender';
import type { QueueSendProgress } from './queue-target-sender';
import { retryDelayInSeconds } from './retry-schedule';
import type { RetrySchedule } from './retry-schedule';
import type { SigningKeys } from './signing-keys';
import type { SuppressedDeletions } from './suppressed-deletions';
import { postWebhook } from './webhook-sender';

/** EWS access for a group's mailbox: the per-group credential resolution shared with the sync engine. */
export type MailboxClientSource = (group: GroupRecord, mailbox: string) => Promise<MailboxClient>;
/** Graph access for a group's mailbox (groups with protocol 'graph'), from the same credential resolution. */
export type GraphMailboxSource = (group: GroupRecord, mailbox: string) => Promise<GraphMailbox>;

export interface BatchDeliveryDependencies {
  readonly environment: ConnectorEnvironment;
  readonly groups: Pick<GroupsRepository, 'find'>;
  readonly status: DeliveryStatusRepository;
  readonly deadLetters: DeadLetterRepository;
  readonly blobs: BatchBlobStore;
  readonly outbox: StorageDeliveryOutbox;
  readonly signingKeys: Pick<SigningKeys, 'current'>;
  readonly suppressedDeletions: SuppressedDeletions;
  /** Needed only for process-and-delete groups. */
  readonly mailboxClients?: MailboxClientSource;
  /** Needed only for process-and-delete groups on Graph. */
  readonly graphMailboxes?: GraphMailboxSource | undefined;
  /** The app's identity, for queue targets given by accountUrl. */
  readonly credential?: TokenCredential;
  readonly retrySchedule: RetrySchedule;
  readonly webhookTimeoutInMs?: number;
  readonly resolver?: HostResolver;
  readonly now: () => Date;
  readonly random?: () => number;
}

export type DeliveryResult =
  | { readonly kind: 'delivered'; readonly processedAndDeleted: number }
  | { readonly kind: 'retryScheduled'; readonly nextAttempt: number; readonly delayInSeconds: number; readonly error: DeliveryOutcome }
  | { readonly kind: 'deadLettered'; readonly deadLetterId: string; readonly error: DeliveryOutcome }
  | { readonly kind: 'dropped'; readonly reason: string };

type LoadedBatch = { readonly ok: true; readonly batch: ChangeBatch } | { readonly ok: false; readonly reason: string };

/**
 * The batch a message carries, or why it cannot be delivered. A payload that is not a change batch
 * never becomes one, so it is dropped rather than retried five times and poisoned; a missing
 * claim-check blob means the batch was already delivered (the queue delivers at least once).
 */
async function loadBatch(message: DeliveryMessage, deps: BatchDeliveryDependencies): Promise<LoadedBatch> {
  let raw: unknown = message.batch;
  if (raw === undefined) {
    const text = await deps.blobs.find(message.blobName ?? '');
    if (text === undefined) return { ok: false, reason: 'claim-check blob not found (already delivered or removed)' };
    try {
      raw = JSON.parse(text);
    } catch {
      return { ok: false, reason: 'claim-check blob is not JSON' };
    }
  }
  const parsed = changeBatchSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: `not a change batch (${parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ')})` };
  const batch = parsed.data as ChangeBatch;
  // The target and signing key are chosen by the message's ids: a body of another group must not travel with them.
  if (batch.tenantId !== message.tenantId || batch.groupId !== message.groupId || batch.batchId !== message.batchId) {
    return { ok: false, reason: 'the batch belongs to another tenant, group or batch id than the message' };
  }
  return { ok: true, batch };
}

/** Bookkeeping after the target's answer: a failure here must not make the host redeliver the batch. */
async function bestEffort(step: string, log: Logger, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (error) {
    log.warn(`${step} failed after the delivery attempt; continuing`, { error });
  }
}

type TargetOutcome = DeliveryOutcome & Partial<QueueSendProgress>;

async function sendToTarget(group: GroupRecord, batch: ChangeBatch, message: DeliveryMessage, deps: BatchDeliveryDependencies): Promise<TargetOutcome> {
  const target = group.delivery;
  if (!target) return failure('NoTarget', 'The group has no delivery target.');
  if (target.kind === 'queue') {
    return sendToQueueTarget(target, batch, {
      environment: deps.environment,
      ...(message.partsAccepted !== undefined ? { partsAlreadyAccepted: message.partsAccepted } : {}),
      ...(deps.credential ? { credential: deps.credential } : {}),
      ...(deps.resolver ? { resolver: deps.resolver } : {}),
    });
  }
  const secret = await deps.signingKeys.current(group.tenantId, group.id);
  if (!secret) return failure('SigningKeyMissing', 'The group has no webhook signing key; rotate one (POST .../delivery/signing-key).');
  return postWebhook(
    { url: target.url, body: JSON.stringify(batch), batchId: batch.batchId, idempotencyKey: batch.batchId, secret },
    {
      environment: deps.environment,
      ...(deps.webhookTimeoutInMs !== undefined ? { timeoutInMs: deps.webhookTimeoutInMs } : {}),
      ...(deps.resolver ? { resolver: deps.resolver } : {}),
      now: deps.now,
    },
  );
}

/** Created Inbox messages the target acknowledged: delete them in Exchange without reporting it back. */
async function processAndDelete(group: GroupRecord, batch: ChangeBatch, deps: BatchDeliveryDependencies, log: Logger): Promise<number> {
  const mode = group.delivery?.processAndDelete;
  if (!mode) return 0;
  const itemIds = batch.records
    .filter((r) => r.changeType === 'created' && r.folder === 'inbox' && (r.item === undefined || r.item.kind === 'message' || r.item.kind === 'meetingMessage'))
    .map((r) => r.itemId);
  if (itemIds.length === 0) return 0;
  if (groupProtocol(group) === 'graph') return processAndDeleteOverGraph(group, batch, itemIds, mode, deps, log);
  if (!deps.mailboxClients) {
    log.warn('process-and-delete is configured but no mailbox access is wired; messages were not deleted', { count: itemIds.length });
    return 0;
  }
  const ref = { tenantId: batch.tenantId, groupId: batch.groupId, mailbox: batch.mailbox };
  await deps.suppressedDeletions.suppress(ref, itemIds, deps.now());
  const client = await deps.mailboxClients(group, batch.mailbox);
  let deleted = 0;
  for (let start = 0; start < itemIds.length; start += MAX_ITEM_BATCH) {
    const results = await deleteItems(client, itemIds.slice(start, start + MAX_ITEM_BATCH), mode === 'hardDelete' ? 'HardDelete' : 'MoveToDeletedItems');
    for (const result of results) {
      if (result.ok || result.error.code === 'ErrorItemNotFound') deleted += result.ok ? 1 : 0;
      else {
        // Not deleted: a later real deletion by a user must be reported again.
        await deps.suppressedDeletions.release(ref, result.itemId);
        log.warn('process-and-delete could not delete a message', { errorCode: result.error.code });
      }
    }
  }
  return deleted;
}

/** The Graph counterpart: DELETE (hardDelete) or move to Deleted Items, in $batch requests. */
async function processAndDeleteOverGraph(group: GroupRecord, batch: ChangeBatch, itemIds: readonly string[], mode: ProcessAndDeleteMode, deps: BatchDeliveryDependencies, log: Logger): Promise<number> {
  if (!deps.graphMailboxes) {
    log.warn('process-and-delete is configured but no Graph mailbox access is wired; messages were not deleted', { count: itemIds.length });
    return 0;
  }
  const ref = { tenantId: batch.tenantId, groupId: batch.groupId, mailbox: batch.mailbox };
  await deps.suppressedDeletions.suppress(ref, itemIds, deps.now());
  const client = await deps.graphMailboxes(group, batch.mailbox);
  let deleted = 0;
  for (const result of await deleteMessages(client, itemIds, mode)) {
    if (result.ok) deleted++;
    else if (result.error.code !== 'ErrorItemNotFound') {
      await deps.suppressedDeletions.release(ref, result.itemId);
      log.warn('process-and-delete could not delete a message', { errorCode: result.error.code });
    }
  }
  return deleted;
}

async function deadLetter(message: DeliveryMessage, batch: ChangeBatch, outcome: Extract<DeliveryOutcome, { ok: false }>, deps: BatchDeliveryDependencies): Promise<string> {
  const blobName = message.blobName ?? batchBlobName(batch);
  if (!message.blobName) await deps.blobs.put(blobName, JSON.stringify(batch));
  const at = deps.now();
  const id = newestFirstRowKey(at, randomUUID().slice(0, 8));
  await deps.deadLetters.create({
    tenantId: batch.tenantId,
    id,
    groupId: batch.groupId,
    mailbox: batch.mailbox,
    batchId: batch.batchId,
    recordCount: batch.records.length,
    attempts: message.attempt,
    lastErrorCode: outcome.code,
    lastErrorMessage: outcome.message,
    deadLetteredAt: at.toISOString(),
    blobName,
    replayCount: 0,
  });
  return id;
}

/** A change older than this when the connector first saw it is an initial-sync item, not lag. */
const LAG_HORIZON_IN_MS = 24 * 3600 * 1000;

/** Per record: from the change in the mailbox (the item's last modification, else when the connector saw it) to now, acknowledged. */
function syncLagInSeconds(batch: ChangeBatch, acknowledgedAt: Date): number[] {
  const lags: number[] = [];
  for (const record of batch.records) {
    if (record.fullResync || !record.occurredAt) continue;
    const observed = Date.parse(record.occurredAt);
    const modified = record.item?.lastModifiedAt ? Date.parse(record.item.lastModifiedAt) : NaN;
    const changedAt = Number.isFinite(modified) && modified <= observed && observed - modified < LAG_HORIZON_IN_MS ? modified : observed;
    if (Number.isFinite(changedAt)) lags.push((acknowledgedAt.getTime() - changedAt) / 1000);
  }
  return lags;
}

export async function deliverBatch(rawMessage: unknown, deps: BatchDeliveryDependencies, log: Logger): Promise<DeliveryResult> {
  const parsed = deliveryMessageSchema.safeParse(rawMessage);
  if (!parsed.success || (!parsed.data.batch && !parsed.data.blobName)) {
    log.error('deliveries queue message is malformed; dropped');
    return { kind: 'dropped', reason: 'malformed message' };
  }
  const message = parsed.data as DeliveryMessage;
  const scoped = log.with({ tenantId: message.tenantId, groupId: message.groupId, batchId: message.batchId, attempt: String(message.attempt) });
  const group = await deps.groups.find(message.tenantId, message.groupId);
  if (!group) {
    scoped.warn('group no longer exists; batch dropped');
    return { kind: 'dropped', reason: 'group deleted' };
  }
  const loaded = await loadBatch(message, deps);
  if (!loaded.ok) {
    scoped.error('deliveries queue message has no deliverable batch; dropped', { reason: loaded.reason });
    return { kind: 'dropped', reason: loaded.reason };
  }
  const batch = loaded.batch;
  const target = group.delivery?.kind ?? 'none';
  const dimensions = { tenantId: group.tenantId, groupId: group.id };
  const outcome = await withSpan(`deliver ${target}`, { kind: SpanKind.CLIENT, attributes: { ...groupAttributes(dimensions), 'connector.delivery.target': target, 'connector.delivery.attempt': message.attempt, 'connector.delivery.records': batch.records.length } }, async (span) => {
    const result = await sendToTarget(group, batch, message, deps);
    if (!result.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: result.code });
    return result;
  });
  const lastAttempt = message.attempt >= deps.retrySchedule.maxAttempts;
  recordDeliveryAttempt(dimensions, target, outcome.ok ? { ok: true } : { ok: false, code: outcome.code, deadLettered: lastAttempt });
  if (outcome.ok) recordSyncLag(syncLagInSeconds(batch, deps.now()), dimensions);
  if (outcome.ok) {
    // The target has acknowledged: from here on nothing may throw, or the host would send the batch again.
    await bestEffort('recording the delivery status', scoped, () => deps.status.recordSuccess(group.tenantId, group.id, deps.now()));
    // Claim-check blobs of dead letters stay (the dead letter row points at them).
    const blobName = message.blobName;
    if (blobName && !message.replayOf) await bestEffort('removing the claim-check blob', scoped, () => deps.blobs.delete(blobName));
    let processedAndDeleted = 0;
    try {
      processedAndDeleted = await processAndDelete(group, batch, deps, scoped);
    } catch (error) {
      // Delivery is done and acknowledged; a failed delete only leaves the message in the Inbox.
      scoped.warn('process-and-delete failed', { error });
    }
    scoped.debug('batch delivered', { records: batch.records.length, target: group.delivery?.kind, processedAndDeleted, ...(outcome.partCount !== undefined ? { parts: outcome.partCount } : {}) });
    return { kind: 'delivered', processedAndDeleted };
  }
  // Status is for display; the retry or dead letter below is what must happen.
  await bestEffort('recording the delivery failure', scoped, () => deps.status.recordFailure(group.tenantId, group.id, { code: outcome.code, message: outcome.message }, deps.now()));
  if (message.attempt < deps.retrySchedule.maxAttempts) {
    const nextAttempt = message.attempt + 1;
    const delayInSeconds = retryDelayInSeconds(deps.retrySchedule, nextAttempt, deps.random);
    // Queue parts the target already accepted are not sent again by the retry.
    const partsAccepted = outcome.partsAccepted ?? message.partsAccepted;
    await deps.outbox.schedule({ ...message, attempt: nextAttempt, ...(partsAccepted ? { partsAccepted } : {}) }, delayInSeconds);
    scoped.warn('delivery failed; retry scheduled', { errorCode: outcome.code, detail: outcome.message, status: outcome.status, nextAttempt, delayInSeconds: Math.round(delayInSeconds), ...(partsAccepted ? { partsAccepted } : {}) });
    return { kind: 'retryScheduled', nextAttempt, delayInSeconds, error: outcome };
  }
  const deadLetterId = await deadLetter(message, batch, outcome, deps);
  scoped.error('delivery failed on the last attempt; batch dead-lettered', { errorCode: outcome.code, detail: outcome.message, status: outcome.status, deadLetterId });
  return { kind: 'deadLettered', deadLetterId, error: outcome };
}
