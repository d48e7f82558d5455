import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { QueueServiceClient } from '@azure/storage-queue';
import { startAzurite, type AzuriteInstance } from '../../dev/azurite/azurite';
import { startFunctionsHost, type FunctionsHost } from '../../dev/functions-host/host';
import { decodeQueueMessage, QueueMessageDecodingError } from '../../dev/functions-host/queue-trigger';
import { projectRoot } from '../../dev/project-paths';
import { doomedAttempts, heldGate, orders } from './fixtures/queue-functions';

const fixture = join(__dirname, 'fixtures', 'queue-functions.js');
const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

test('message decoding: base64 JSON becomes an object, other text stays a string', () => {
  assert.deepEqual(decodeQueueMessage(base64('{"a":1}'), 'base64').value, { a: 1 });
  assert.deepEqual(decodeQueueMessage(base64('[1,2]'), 'base64').value, [1, 2]);
  assert.equal(decodeQueueMessage(base64('42'), 'base64').value, '42');
  assert.equal(decodeQueueMessage(base64('{not json'), 'base64').value, '{not json');
  assert.equal(decodeQueueMessage('plain', 'none').value, 'plain');
  assert.throws(() => decodeQueueMessage('not base64!', 'base64'), QueueMessageDecodingError);
});

describe('functions host: storage queue triggers against Azurite', () => {
  let azurite: AzuriteInstance;
  let host: FunctionsHost;
  let queues: QueueServiceClient;

  before(async () => {
    azurite = await startAzurite({ inMemory: true });
    queues = QueueServiceClient.fromConnectionString(azurite.connectionString);
    host = await startFunctionsHost({
      projectRoot: projectRoot(),
      port: 0,
      settings: { AzureWebJobsStorage: azurite.connectionString, DOOMED_QUEUE_NAME: 'doomed' },
      appEntryPoints: [fixture],
      log: () => {},
      functionKeys: { masterKey: 'queue-test-master-key' },
      queues: { maxDequeueCount: 3, visibilityTimeoutInMs: 0, maxPollingIntervalInMs: 250 },
    });
  });
  after(async () => {
    await host?.close();
    await azurite?.close();
  });

  test('the host creates the trigger queues', async () => {
    const names: string[] = [];
    for await (const queue of queues.listQueues()) names.push(queue.name);
    assert.ok(names.includes('orders') && names.includes('doomed'), `queues: ${names.join(', ')}`);
  });

  test('a base64 JSON message reaches the handler as an object with trigger metadata, then is deleted', async () => {
    const orderQueue = queues.getQueueClient('orders');
    const sent = await orderQueue.sendMessage(base64(JSON.stringify({ orderId: 42, items: ['pen'] })));
    const record = await host.waitForInvocation((r) => r.functionName === 'process-order', { timeoutInMs: 10_000 });
    assert.equal(record.status, 'succeeded');
    const delivery = orders.find((o) => o.metadata.id === sent.messageId);
    assert.ok(delivery, 'the handler saw the message');
    assert.deepEqual(delivery.value, { orderId: 42, items: ['pen'] });
    assert.equal(delivery.metadata.dequeueCount, 1);
    assert.equal(delivery.metadata.queueTrigger, '{"orderId":42,"items":["pen"]}');
    for (const key of ['insertionTime', 'expirationTime', 'nextVisibleTime', 'popReceipt']) assert.ok(delivery.metadata[key], `metadata has ${key}`);
    assert.ok(!Number.isNaN(Date.parse(String(delivery.metadata.insertionTime))));
    // Deleted after success: nothing left, even once any visibility timeout has passed.
    const peeked = await orderQueue.peekMessages({ numberOfMessages: 32 });
    assert.equal(peeked.peekedMessageItems.length, 0);
  });

  test('a plain-text message reaches the handler as a string', async () => {
    const sent = await queues.getQueueClient('orders').sendMessage(base64('just text'));
    await host.waitForInvocation((r) => r.functionName === 'process-order' && orders.some((o) => o.metadata.id === sent.messageId), { timeoutInMs: 10_000 });
    assert.equal(orders.find((o) => o.metadata.id === sent.messageId)?.value, 'just text');
  });

  test('a failing message is retried maxDequeueCount times, then moved to <queue>-poison', async () => {
    const text = base64(JSON.stringify({ bad: true }));
    await queues.getQueueClient('doomed').sendMessage(text);
    const poison = queues.getQueueClient('doomed-poison');
    let poisoned: string | undefined;
    for (let i = 0; i < 100 && poisoned === undefined; i++) {
      if ((await poison.exists()) === true) {
        poisoned = (await poison.peekMessages()).peekedMessageItems[0]?.messageText;
      }
      if (poisoned === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(poisoned, text, 'the poison queue holds the original message text');
    assert.deepEqual(doomedAttempts, [1, 2, 3], 'one invocation per attempt, with the dequeue count visible');
    assert.equal((await queues.getQueueClient('doomed').peekMessages()).peekedMessageItems.length, 0, 'removed from the original queue');
    assert.equal(host.invocations().filter((r) => r.functionName === 'always-fails' && r.status === 'failed').length, 3);
  });

  test('the admin API runs a queue function on a given input', async () => {
    const invoke = (headers: Record<string, string>) =>
      fetch(`${host.url}/admin/functions/process-order`, { method: 'POST', headers, body: JSON.stringify({ input: '{"manual":true}' }) });
    assert.equal((await invoke({})).status, 401);
    assert.equal((await invoke({ 'x-functions-key': 'queue-test-master-key' })).status, 202);
    await host.waitForInvocation(() => orders.some((o) => (o.value as { manual?: boolean }).manual === true), { timeoutInMs: 10_000 });
  });
});

test('a queue trigger without its connection setting stops the host from starting', async () => {
  await assert.rejects(
    startFunctionsHost({ projectRoot: projectRoot(), port: 0, settings: { DOOMED_QUEUE_NAME: 'doomed' }, appEntryPoints: [fixture], log: () => {} }),
    /AzureWebJobsStorage/,
  );
});

test('at shutdown, the message of an abandoned invocation is released for another attempt', async () => {
  const azurite = await startAzurite({ inMemory: true });
  const lines: string[] = [];
  try {
    const host = await startFunctionsHost({
      projectRoot: projectRoot(),
      port: 0,
      settings: { AzureWebJobsStorage: azurite.connectionString, DOOMED_QUEUE_NAME: 'doomed' },
      appEntryPoints: [fixture],
      log: (_level, message) => void lines.push(message),
      shutdownGracePeriodInMs: 200,
    });
    const held = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient('held');
    const started = new Promise<void>((resolve) => (heldGate.started = resolve));
    await held.sendMessage(base64('{"order":1}'));
    await started;
    assert.equal((await held.peekMessages()).peekedMessageItems.length, 0, 'invisible while being processed');
    await host.close();
    assert.equal(host.invocations().find((r) => r.functionName === 'held-order')?.status, 'abandoned');
    assert.ok(lines.some((l) => l.includes('abandoned') && l.includes('held-order')));
    const visibleAgain = (await held.peekMessages()).peekedMessageItems[0];
    assert.equal(visibleAgain?.messageText, base64('{"order":1}'));
    assert.equal(visibleAgain?.dequeueCount, 1);
  } finally {
    await azurite.close();
  }
});
