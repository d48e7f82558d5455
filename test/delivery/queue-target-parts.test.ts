/**
 * Queue targets and the 64 KiB message limit, against Azurite: a batch larger than one message
 * arrives as ordered part messages that each fit; a record too large alone arrives without its
 * body; a retry after a refused part resumes after the parts already accepted.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { QueueClient } from '@azure/storage-queue';
import { startAzurite } from '../../dev/azurite/azurite';
import type { AzuriteInstance } from '../../dev/azurite/azurite';
import type { StorageConfig } from '../../shared/config';
import { deliverBatch } from '../../shared/delivery/batch-delivery';
import type { BatchDeliveryDependencies } from '../../shared/delivery/batch-delivery';
import { changeBatchSchema, createChangeBatch, createChangeRecord } from '../../shared/delivery/change-batch';
import type { ChangeBatch, ChangeRecord } from '../../shared/delivery/change-batch';
import { BatchBlobStore, createBatchContainerClient, createDeliveriesQueueClient } from '../../shared/delivery/delivery-storage';
import { StorageDeliveryOutbox } from '../../shared/delivery/outbox';
import { MAX_QUEUE_MESSAGE_CHARS } from '../../shared/delivery/queue-message-parts';
import { SuppressedDeletions } from '../../shared/delivery/suppressed-deletions';
import { createLogger, SecretString } from '../../shared/logging';
import { DeadLetterRepository, decodeQueueMessage, DeliveryStatusRepository, GroupsRepository, TableStorage } from '../../shared/storage';
import type { DeliveryTarget } from '../../shared/storage';

let azurite: AzuriteInstance;
let proxy: Server;
/** POSTs of queue messages through the proxy beyond this many are refused with 403 (not retried by the SDK). */
let acceptMessages = Number.POSITIVE_INFINITY;
let groups: GroupsRepository;
let deliveries: QueueClient;
let deps: BatchDeliveryDependencies;
const log = createLogger({ functionName: 'test' }, () => undefined);
const settings: NodeJS.ProcessEnv = {};

/** A pass-through to Azurite's queue endpoint that can refuse message sends, as a full or forbidden queue would. */
function startRefusingProxy(target: number): Promise<Server> {
  const server = createServer((incoming, outgoing) => {
    if (incoming.method === 'POST' && incoming.url?.includes('/messages')) {
      if (acceptMessages <= 0) {
        incoming.resume();
        outgoing.writeHead(403, { 'x-ms-error-code': 'AuthorizationFailure' }).end();
        return;
      }
      acceptMessages--;
    }
    const upstream = request({ host: '127.0.0.1', port: target, method: incoming.method, path: incoming.url, headers: incoming.headers }, (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(outgoing);
    });
    incoming.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

before(async () => {
  azurite = await startAzurite({ inMemory: true });
  proxy = await startRefusingProxy(azurite.ports.queue);
  const proxyPort = (proxy.address() as AddressInfo).port;
  settings.CUSTOMER_QUEUE = azurite.connectionString;
  settings.CUSTOMER_QUEUE_VIA_PROXY = azurite.connectionString.replace(`:${azurite.ports.queue}/`, `:${proxyPort}/`);
  const storageConfig: StorageConfig = { kind: 'connectionString', connectionString: new SecretString(azurite.connectionString) };
  const storage = new TableStorage({ storage: storageConfig });
  groups = new GroupsRepository(storage);
  deliveries = createDeliveriesQueueClient(storageConfig);
  await deliveries.createIfNotExists();
  const blobs = new BatchBlobStore(createBatchContainerClient(storageConfig));
  Object.assign(process.env, settings);
  deps = {
    environment: 'development',
    groups,
    status: new DeliveryStatusRepository(storage),
    deadLetters: new DeadLetterRepository(storage),
    blobs,
    outbox: new StorageDeliveryOutbox(deliveries, blobs),
    signingKeys: { current: async () => undefined },
    suppressedDeletions: new SuppressedDeletions(storage),
    retrySchedule: { maxAttempts: 3, baseDelayInSeconds: 0, maxDelayInSeconds: 0 },
    now: () => new Date(),
    random: () => 1,
  };
});

after(async () => {
  delete process.env.CUSTOMER_QUEUE;
  delete process.env.CUSTOMER_QUEUE_VIA_PROXY;
  proxy.closeAllConnections();
  await new Promise((resolve) => proxy.close(resolve));
  await azurite.close();
});

async function queueGroup(connection: string): Promise<{ tenantId: string; groupId: string; customerQueue: QueueClient }> {
  const tenantId = randomUUID();
  const groupId = randomUUID();
  const queueName = `changes-${groupId.slice(0, 8)}`;
  const customerQueue = new QueueClient(azurite.connectionString, queueName);
  await customerQueue.create();
  const delivery: DeliveryTarget = { kind: 'queue', queueName, connection };
  const at = new Date().toISOString();
  await groups.create({
    tenantId, id: groupId, name: 'Dispatch', externalId: `ext-${groupId}`, mailboxAccessType: 'impersonation', folders: ['mail'],
    pollIntervalMinutes: 5, delivery, initialSync: { kind: 'all' }, enabled: true, createdAt: at, updatedAt: at,
  });
  return { tenantId, groupId, customerQueue };
}

/** Text bodies of varied length, like a GetItem page of real mail (about 1-4 KB each). */
function mailRecord(ids: { tenantId: string; groupId: string }, index: number, bodyText: string, extra: Record<string, unknown> = {}): ChangeRecord {
  const mailbox = 'dispatch@contoso.com';
  return createChangeRecord({
    tenantId: ids.tenantId, groupId: ids.groupId, mailbox, folder: 'inbox', changeType: 'created', itemId: `AAMkAD-${index}-${randomUUID()}`, changeKey: `CQ-${index}`, fullResync: false,
    occurredAt: new Date().toISOString(),
    item: { kind: 'message', id: `AAMkAD-${index}`, changeKey: `CQ-${index}`, subject: `Job ${index}: tyre change`, from: { name: 'Bob', address: 'bob@contoso.com' },
      to: [{ name: 'Dispatch', address: 'dispatch@contoso.com' }], bodyText, attachments: [], ...extra } as never,
  });
}

function bodyOf(index: number): string {
  return `Message ${index}. ` + 'Please send a truck to the depot; the tyre on axle 2 is flat. Ünïcødé ✓ '.repeat(15 + (index % 40));
}

async function drain(queue: QueueClient): Promise<string[]> {
  const texts: string[] = [];
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
    if (receivedMessageItems.length === 0) return texts;
    for (const item of receivedMessageItems) {
      texts.push(item.messageText);
      await queue.deleteMessage(item.messageId, item.popReceipt);
    }
  }
}

async function nextDeliveryMessage(): Promise<unknown> {
  for (let tries = 0; tries < 40; tries++) {
    const { receivedMessageItems } = await deliveries.receiveMessages({ numberOfMessages: 1 });
    const item = receivedMessageItems[0];
    if (item) {
      await deliveries.deleteMessage(item.messageId, item.popReceipt);
      return decodeQueueMessage(item.messageText);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('no deliveries message became visible');
}

function partsOf(texts: readonly string[]): ChangeBatch[] {
  return texts.map((text) => changeBatchSchema.parse(decodeQueueMessage(text)) as ChangeBatch);
}

describe('queue target: batches over 64 KiB', () => {
  test('a 300-record batch with text bodies reaches the customer queue completely, in order, each message within 64 KiB', async () => {
    const ids = await queueGroup('CUSTOMER_QUEUE');
    const batch = createChangeBatch({ tenantId: ids.tenantId, groupId: ids.groupId, mailbox: 'dispatch@contoso.com', records: Array.from({ length: 300 }, (_, i) => mailRecord(ids, i, bodyOf(i))) });
    assert.ok(Buffer.byteLength(JSON.stringify(batch)) > 8 * MAX_QUEUE_MESSAGE_CHARS, 'the batch is many times the limit');
    await deps.outbox.enqueue(batch);
    assert.equal((await deliverBatch(await nextDeliveryMessage(), deps, log)).kind, 'delivered');

    const texts = await drain(ids.customerQueue);
    assert.ok(texts.length > 1);
    for (const text of texts) assert.ok(text.length <= MAX_QUEUE_MESSAGE_CHARS, `a message of ${text.length} characters`);
    const parts = partsOf(texts).sort((a, b) => (a.part ?? 0) - (b.part ?? 0));
    assert.deepEqual(parts.map((p) => p.part), Array.from({ length: texts.length }, (_, i) => i + 1));
    for (const part of parts) {
      assert.equal(part.parentBatchId, batch.batchId);
      assert.equal(part.partCount, texts.length);
      assert.equal(part.batchId, `${batch.batchId}.p${part.part}`);
      assert.equal(part.mailbox, batch.mailbox);
    }
    assert.deepEqual(parts.flatMap((p) => p.records), batch.records, 'every record, unchanged and in order');
  });

  test('a batch that fits is one message, unchanged (no part fields)', async () => {
    const ids = await queueGroup('CUSTOMER_QUEUE');
    const batch = createChangeBatch({ tenantId: ids.tenantId, groupId: ids.groupId, mailbox: 'dispatch@contoso.com', records: [mailRecord(ids, 1, 'short')] });
    await deps.outbox.enqueue(batch);
    assert.equal((await deliverBatch(await nextDeliveryMessage(), deps, log)).kind, 'delivered');
    assert.deepEqual(partsOf(await drain(ids.customerQueue)), [batch]);
  });

  test('a record too large alone arrives without its body (bodyOmitted), or reduced to its identity; its neighbours are whole', async () => {
    const ids = await queueGroup('CUSTOMER_QUEUE');
    const hugeBody = 'A scanned delivery note, pasted as text. '.repeat(3000);
    const manyRecipients = Array.from({ length: 3000 }, (_, i) => ({ name: `Recipient ${i}`, address: `r${i}@contoso.com` }));
    const records = [mailRecord(ids, 0, 'before'), mailRecord(ids, 1, hugeBody), mailRecord(ids, 2, 'x', { to: manyRecipients }), mailRecord(ids, 3, 'after')];
    const batch = createChangeBatch({ tenantId: ids.tenantId, groupId: ids.groupId, mailbox: 'dispatch@contoso.com', records });
    await deps.outbox.enqueue(batch);
    assert.equal((await deliverBatch(await nextDeliveryMessage(), deps, log)).kind, 'delivered');

    const texts = await drain(ids.customerQueue);
    for (const text of texts) assert.ok(text.length <= MAX_QUEUE_MESSAGE_CHARS);
    const arrived = partsOf(texts).sort((a, b) => (a.part ?? 0) - (b.part ?? 0)).flatMap((p) => p.records);
    assert.deepEqual(arrived.map((r) => r.idempotencyKey), records.map((r) => r.idempotencyKey));
    assert.deepEqual(arrived[0], records[0]);
    assert.deepEqual(arrived[3], records[3]);

    const noBody = arrived[1]!.item as unknown as Record<string, unknown>;
    assert.equal(noBody.bodyOmitted, true);
    assert.equal(noBody.omittedReason, 'queueMessageSizeLimit');
    assert.equal(noBody.bodyText, undefined);
    assert.equal(noBody.subject, 'Job 1: tyre change', 'everything but the body is kept');

    const identity = arrived[2]!.item as unknown as Record<string, unknown>;
    assert.equal(identity.detailsOmitted, true);
    assert.equal(identity.to, undefined);
    assert.equal(identity.id, 'AAMkAD-2');
    assert.equal(arrived[2]!.itemId, records[2]!.itemId);
  });

  test('a part the queue refuses is retried; the retry does not send the accepted parts again', async () => {
    const ids = await queueGroup('CUSTOMER_QUEUE_VIA_PROXY');
    const batch = createChangeBatch({ tenantId: ids.tenantId, groupId: ids.groupId, mailbox: 'dispatch@contoso.com', records: Array.from({ length: 120 }, (_, i) => mailRecord(ids, i, bodyOf(i))) });
    await deps.outbox.enqueue(batch);
    acceptMessages = 2;
    let first;
    try {
      first = await deliverBatch(await nextDeliveryMessage(), deps, log);
    } finally {
      acceptMessages = Number.POSITIVE_INFINITY;
    }
    assert.equal(first.kind, 'retryScheduled');
    assert.equal(partsOf(await drain(ids.customerQueue)).length, 2, 'two parts were accepted before the refusal');

    const retry = (await nextDeliveryMessage()) as { attempt: number; partsAccepted?: number };
    assert.equal(retry.attempt, 2);
    assert.equal(retry.partsAccepted, 2);
    assert.equal((await deliverBatch(retry, deps, log)).kind, 'delivered');
    const rest = partsOf(await drain(ids.customerQueue));
    const partCount = rest[0]!.partCount!;
    assert.ok(partCount > 3);
    assert.deepEqual(rest.map((p) => p.part).sort((a, b) => a! - b!), Array.from({ length: partCount - 2 }, (_, i) => i + 3), 'only parts 3.. were sent by the retry');
  });
});
