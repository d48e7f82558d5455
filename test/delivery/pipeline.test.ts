/**
 * The delivery pipeline against real storage (in-process Azurite): outbox -> deliveries queue
 * (-> blob claim-check) -> deliverBatch -> webhook / customer queue, retries through the queue
 * with visibility delays, dead letters and replay.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { QueueClient } from '@azure/storage-queue';
import { startAzurite } from '../../dev/azurite/azurite';
import type { AzuriteInstance } from '../../dev/azurite/azurite';
import { startWebhookReceiver } from '../../dev/webhook-receiver/receiver';
import type { RunningWebhookReceiver } from '../../dev/webhook-receiver/receiver';
import type { StorageConfig } from '../../shared/config';
import { deliverBatch } from '../../shared/delivery/batch-delivery';
import type { BatchDeliveryDependencies } from '../../shared/delivery/batch-delivery';
import { createChangeBatch, createChangeRecord } from '../../shared/delivery/change-batch';
import type { ChangeBatch } from '../../shared/delivery/change-batch';
import { replayDeadLetter } from '../../shared/delivery/dead-letter-replay';
import { BatchBlobStore, createBatchContainerClient, createDeliveriesQueueClient } from '../../shared/delivery/delivery-storage';
import { StorageDeliveryOutbox } from '../../shared/delivery/outbox';
import { SuppressedDeletions } from '../../shared/delivery/suppressed-deletions';
import { createLogger, SecretString } from '../../shared/logging';
import type { DeliveryTarget } from '../../shared/storage';
import { DeadLetterRepository, decodeQueueMessage, DeliveryStatusRepository, GroupsRepository, TableStorage } from '../../shared/storage';

const SECRET = 'whsec_pipeline';
let azurite: AzuriteInstance;
let receiver: RunningWebhookReceiver;
let storageConfig: StorageConfig;
let storage: TableStorage;
let groups: GroupsRepository;
let deliveries: QueueClient;
let deps: BatchDeliveryDependencies;
let respondWith: number | undefined;
const logLines: string[] = [];
const log = createLogger({ functionName: 'test' }, (_level, line) => logLines.push(line));

before(async () => {
  azurite = await startAzurite({ inMemory: true });
  receiver = await startWebhookReceiver({ port: 0, secret: SECRET, print: () => undefined, respondWith: () => respondWith });
  storageConfig = { kind: 'connectionString', connectionString: new SecretString(azurite.connectionString) };
  storage = new TableStorage({ storage: storageConfig });
  groups = new GroupsRepository(storage);
  deliveries = createDeliveriesQueueClient(storageConfig);
  await deliveries.createIfNotExists();
  const blobs = new BatchBlobStore(createBatchContainerClient(storageConfig));
  deps = {
    environment: 'development',
    groups,
    status: new DeliveryStatusRepository(storage),
    deadLetters: new DeadLetterRepository(storage),
    blobs,
    outbox: new StorageDeliveryOutbox(deliveries, blobs),
    signingKeys: { current: async () => new SecretString(SECRET) },
    suppressedDeletions: new SuppressedDeletions(storage),
    retrySchedule: { maxAttempts: 3, baseDelayInSeconds: 1, maxDelayInSeconds: 1 },
    webhookTimeoutInMs: 2000,
    now: () => new Date(),
    random: () => 1,
  };
});

after(async () => {
  await receiver.close();
  await azurite.close();
});

async function createGroup(delivery: DeliveryTarget): Promise<{ tenantId: string; groupId: string }> {
  const tenantId = randomUUID();
  const groupId = randomUUID();
  const at = new Date().toISOString();
  await groups.create({
    tenantId, id: groupId, name: 'Dispatch', externalId: `ext-${groupId}`, mailboxAccessType: 'impersonation', folders: ['mail'],
    pollIntervalMinutes: 5, delivery, initialSync: { kind: 'all' }, enabled: true, createdAt: at, updatedAt: at,
  });
  return { tenantId, groupId };
}

function batchFor(ids: { tenantId: string; groupId: string }, records = 1, subjectSize = 10): ChangeBatch {
  const mailbox = 'dispatch@contoso.com';
  return createChangeBatch({
    ...ids,
    mailbox,
    records: Array.from({ length: records }, (_, i) =>
      createChangeRecord({ ...ids, mailbox, folder: 'inbox', changeType: 'created', itemId: `item-${i}-${randomUUID()}`, changeKey: 'ck', fullResync: false, occurredAt: new Date().toISOString(),
        item: { kind: 'message', id: `item-${i}`, changeKey: 'ck', subject: 'x'.repeat(subjectSize) } as never }),
    ),
  });
}

/** Takes the next visible message off the deliveries queue (deleting it, as the host does on success). */
async function takeMessage(): Promise<unknown | undefined> {
  const { receivedMessageItems } = await deliveries.receiveMessages({ numberOfMessages: 1 });
  const item = receivedMessageItems[0];
  if (!item) return undefined;
  await deliveries.deleteMessage(item.messageId, item.popReceipt);
  return decodeQueueMessage(item.messageText);
}

async function waitForMessage(timeoutInMs = 8000): Promise<unknown> {
  const deadline = Date.now() + timeoutInMs;
  while (Date.now() < deadline) {
    const message = await takeMessage();
    if (message !== undefined) return message;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('no message became visible');
}

describe('delivery pipeline', () => {
  test('a batch goes outbox -> queue -> signed webhook; the group status shows the success', async () => {
    const ids = await createGroup({ kind: 'webhook', url: receiver.url });
    const batch = batchFor(ids, 2);
    const receipt = await deps.outbox.enqueue(batch);
    assert.deepEqual(receipt, { batchId: batch.batchId, claimCheck: false });
    const result = await deliverBatch(await waitForMessage(), deps, log);
    assert.equal(result.kind, 'delivered');
    const arrived = receiver.received().find((r) => r.batchId === batch.batchId);
    assert.deepEqual(arrived?.batch, batch);
    const status = await deps.status.find(ids.tenantId, ids.groupId);
    assert.ok(status?.lastDeliveredAt);
    assert.equal(status?.failingSince, undefined);
  });

  test('a write-back operationResult event goes through the same signed webhook delivery', async () => {
    const ids = await createGroup({ kind: 'webhook', url: receiver.url });
    const operationId = randomUUID();
    const batch: ChangeBatch = {
      ...createChangeBatch({ ...ids, mailbox: 'dispatch@contoso.com', records: [], batchId: `op-${operationId}` }),
      operationResults: [{ type: 'operationResult', operationId, idempotencyKey: 'crm-1', operation: 'update', status: 'conflict', itemId: 'AAMk1', version: 'CQAAAB2', currentItem: { kind: 'calendarItem', id: 'AAMk1', subject: 'Moved in Outlook' } as never, error: { code: 'VersionConflict', message: 'changed' }, completedAt: new Date().toISOString() }],
    };
    await deps.outbox.enqueue(batch);
    assert.equal((await deliverBatch(await waitForMessage(), deps, log)).kind, 'delivered');
    // The receiver keeps only batches whose signature it verified.
    const arrived = receiver.received().find((r) => r.batchId === batch.batchId);
    assert.deepEqual(arrived?.batch.operationResults, batch.operationResults);
  });

  test('a batch over 64 KiB is claim-checked through blob storage and arrives whole', async () => {
    const ids = await createGroup({ kind: 'webhook', url: receiver.url });
    const batch = batchFor(ids, 40, 4000);
    const receipt = await deps.outbox.enqueue(batch);
    assert.equal(receipt.claimCheck, true);
    const message = (await waitForMessage()) as { blobName?: string; batch?: unknown };
    assert.ok(message.blobName);
    assert.equal(message.batch, undefined);
    assert.equal((await deliverBatch(message, deps, log)).kind, 'delivered');
    assert.equal(receiver.received().find((r) => r.batchId === batch.batchId)?.batch.records.length, 40);
    assert.equal(await deps.blobs.exists(message.blobName), false, 'the claim-check blob is removed after delivery');
  });

  test('failures retry through the queue with a visibility delay, dead-letter after the last attempt, and replay delivers', async () => {
    const ids = await createGroup({ kind: 'webhook', url: receiver.url });
    const batch = batchFor(ids);
    await deps.outbox.enqueue(batch);
    respondWith = 503;
    try {
      const first = await deliverBatch(await waitForMessage(), deps, log);
      assert.equal(first.kind, 'retryScheduled');
      assert.equal(first.kind === 'retryScheduled' && first.nextAttempt, 2);
      assert.equal(first.kind === 'retryScheduled' && first.delayInSeconds, 1);
      // The retry is invisible at first: the queue holds it back for the backoff delay.
      assert.equal(await takeMessage(), undefined);
      const second = (await waitForMessage()) as { attempt: number };
      assert.equal(second.attempt, 2);
      assert.equal((await deliverBatch(second, deps, log)).kind, 'retryScheduled');
      const status = await deps.status.find(ids.tenantId, ids.groupId);
      assert.equal(status?.lastDeliveryError?.code, 'HttpStatus');
      assert.ok(status?.failingSince);
      const third = (await waitForMessage()) as { attempt: number };
      assert.equal(third.attempt, 3);
      const last = await deliverBatch(third, deps, log);
      assert.equal(last.kind, 'deadLettered');
      assert.equal(await takeMessage(), undefined, 'nothing more is scheduled after the last attempt');

      const page = await deps.deadLetters.page(ids.tenantId, { maxPageSize: 10 });
      assert.equal(page.items.length, 1);
      const dead = page.items[0]!;
      assert.equal(dead.batchId, batch.batchId);
      assert.equal(dead.attempts, 3);
      assert.equal(dead.lastErrorCode, 'HttpStatus');
      assert.equal(await deps.blobs.exists(dead.blobName), true);
      assert.equal(receiver.received().some((r) => r.batchId === batch.batchId), false);

      respondWith = undefined;
      const replayed = await replayDeadLetter({ deadLetters: deps.deadLetters, outbox: deps.outbox as StorageDeliveryOutbox, now: () => new Date() }, ids.tenantId, dead.id);
      assert.equal(replayed.replayCount, 1);
      assert.equal((await deliverBatch(await waitForMessage(), deps, log)).kind, 'delivered');
      assert.deepEqual(receiver.received().find((r) => r.batchId === batch.batchId)?.batch, batch);
      const recovered = await deps.status.find(ids.tenantId, ids.groupId);
      assert.equal(recovered?.failingSince, undefined);
    } finally {
      respondWith = undefined;
    }
  });

  test('queue target: the batch JSON lands on the customer\'s queue', async () => {
    process.env.CUSTOMER_QUEUE_CONNECTION = azurite.connectionString;
    const customerQueue = new QueueClient(azurite.connectionString, 'customer-changes');
    await customerQueue.createIfNotExists();
    const ids = await createGroup({ kind: 'queue', queueName: 'customer-changes', connection: 'CUSTOMER_QUEUE_CONNECTION' });
    const batch = batchFor(ids, 3);
    await deps.outbox.enqueue(batch);
    assert.equal((await deliverBatch(await waitForMessage(), deps, log)).kind, 'delivered');
    const { receivedMessageItems } = await customerQueue.receiveMessages({ numberOfMessages: 5 });
    assert.equal(receivedMessageItems.length, 1);
    assert.deepEqual(decodeQueueMessage(receivedMessageItems[0]!.messageText), batch);
  });

  test('a missing customer queue is a failure that is retried, not an exception', async () => {
    process.env.CUSTOMER_QUEUE_CONNECTION = azurite.connectionString;
    const ids = await createGroup({ kind: 'queue', queueName: 'no-such-queue', connection: 'CUSTOMER_QUEUE_CONNECTION' });
    await deps.outbox.enqueue(batchFor(ids));
    const result = await deliverBatch(await waitForMessage(), deps, log);
    assert.equal(result.kind, 'retryScheduled');
    assert.equal(result.kind === 'retryScheduled' && !result.error.ok && result.error.code, 'QueueSendFailed');
    await waitForMessage();
  });

  test('no secret material in what was logged', () => {
    assert.ok(logLines.length > 0);
    assert.equal(logLines.some((line) => line.includes(SECRET)), false);
  });
});
