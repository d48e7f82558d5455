import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TableClient } from '@azure/data-tables';
import { QueueServiceClient } from '@azure/storage-queue';
import { startAzurite } from '../../dev/azurite/azurite';

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

test('in-memory Azurite serves queues and tables through the real SDK clients, and frees its ports on close', async () => {
  const azurite = await startAzurite({ inMemory: true });
  try {
    assert.match(azurite.connectionString, /AccountName=devstoreaccount1;/);
    assert.ok(azurite.queueEndpoint.startsWith('http://127.0.0.1:') && azurite.queueEndpoint.endsWith('/devstoreaccount1'));
    const queue = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient('work');
    await queue.create();
    await queue.sendMessage('hello');
    assert.equal((await queue.receiveMessages()).receivedMessageItems[0]?.messageText, 'hello');

    const table = TableClient.fromConnectionString(azurite.connectionString, 'tenants', { allowInsecureConnection: true });
    await table.createTable();
    await table.createEntity({ partitionKey: 'p', rowKey: 'r', name: 'Contoso' });
    assert.equal((await table.getEntity<{ name: string }>('p', 'r')).name, 'Contoso');
  } finally {
    await azurite.close();
  }
  for (const port of Object.values(azurite.ports)) assert.equal(await portIsFree(port), true, `port ${port} is free after close`);
});

test('two in-memory instances do not share data', async () => {
  const [a, b] = await Promise.all([startAzurite({ inMemory: true }), startAzurite({ inMemory: true })]);
  try {
    await QueueServiceClient.fromConnectionString(a.connectionString).getQueueClient('only-in-a').create();
    const names: string[] = [];
    for await (const q of QueueServiceClient.fromConnectionString(b.connectionString).listQueues()) names.push(q.name);
    assert.deepEqual(names, []);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('persisted Azurite keeps data across restarts in its location', async () => {
  const location = mkdtempSync(join(tmpdir(), 'azurite-test-'));
  try {
    const first = await startAzurite({ inMemory: false, location, ports: { blob: 0, queue: 0, table: 0 } });
    const queue = QueueServiceClient.fromConnectionString(first.connectionString).getQueueClient('durable');
    await queue.create();
    await queue.sendMessage('kept');
    await first.close();
    assert.ok(readdirSync(location).some((f) => f.startsWith('__azurite_db_queue')), 'metadata written to the location');

    const second = await startAzurite({ inMemory: false, location, ports: { blob: 0, queue: 0, table: 0 } });
    try {
      const again = QueueServiceClient.fromConnectionString(second.connectionString).getQueueClient('durable');
      assert.equal((await again.peekMessages()).peekedMessageItems[0]?.messageText, 'kept');
    } finally {
      await second.close();
    }
  } finally {
    rmSync(location, { recursive: true, force: true });
  }
});

test('a persisted instance needs a location', async () => {
  await assert.rejects(startAzurite({ inMemory: false }), /location is required/);
});
