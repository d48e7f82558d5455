/**
 * Review fixes in the deliveries and outbound-mail workers (in-memory fakes, a loopback webhook
 * receiver and the EWS simulator): payloads that can never be delivered are dropped visibly
 * instead of burning the host's five retries, and bookkeeping after the target (or Exchange)
 * accepted the work never throws, because a throw makes the host deliver or send it again.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { ContainerClient } from '@azure/storage-blob';
import { startEwsSimulator } from '../../dev/ews-simulator/server';
import type { EwsSimulator } from '../../dev/ews-simulator/server';
import { deliverBatch } from '../../shared/delivery/batch-delivery';
import type { BatchDeliveryDependencies, MailboxClientSource } from '../../shared/delivery/batch-delivery';
import { createChangeBatch, createChangeRecord } from '../../shared/delivery/change-batch';
import type { ChangeBatch } from '../../shared/delivery/change-batch';
import { BatchBlobStore } from '../../shared/delivery/delivery-storage';
import { sendOutboundMail } from '../../shared/delivery/outbound-mail';
import type { StorageDeliveryOutbox } from '../../shared/delivery/outbox';
import type { SuppressedDeletions } from '../../shared/delivery/suppressed-deletions';
import { createMailboxClient } from '../../shared/ews';
import { createLogger, SecretString } from '../../shared/logging';
import type { DeadLetterRepository, DeliveryStatusRepository, GroupRecord } from '../../shared/storage';
import { PASSWORDS, seedSmallOrganisation } from '../ews-simulator/fixture';

/** Blob storage in memory, answering a missing blob the way the SDK does (RestError, statusCode 404). */
class MemoryBlobs extends BatchBlobStore {
  readonly blobs = new Map<string, string>();
  failDeletes = false;
  constructor() {
    super({} as ContainerClient);
  }
  override async put(name: string, json: string): Promise<void> {
    this.blobs.set(name, json);
  }
  override async get(name: string): Promise<string> {
    const text = this.blobs.get(name);
    if (text === undefined) throw Object.assign(new Error('The specified blob does not exist.'), { name: 'RestError', statusCode: 404 });
    return text;
  }
  override async exists(name: string): Promise<boolean> {
    return this.blobs.has(name);
  }
  override async delete(name: string): Promise<void> {
    if (this.failDeletes) throw Object.assign(new Error('Server busy'), { name: 'RestError', statusCode: 503 });
    this.blobs.delete(name);
  }
}

let receiver: Server;
let receiverUrl: string;
let received: string[] = [];
let answerStatus = 200;
let sim: EwsSimulator;

before(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(answerStatus).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  sim = await startEwsSimulator({ seed: seedSmallOrganisation });
});

after(async () => {
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  await sim.close();
});

function groupRecord(ids: { tenantId: string; groupId: string }): GroupRecord {
  const at = new Date().toISOString();
  return {
    tenantId: ids.tenantId, id: ids.groupId, name: 'Dispatch', externalId: 'x', mailboxAccessType: 'impersonation', ewsUrl: sim.url,
    impersonation: { serviceAccount: 'svc@contoso.com', authScheme: 'basic' }, folders: ['mail'], pollIntervalMinutes: 5,
    delivery: { kind: 'webhook', url: receiverUrl }, initialSync: { kind: 'all' }, enabled: true, createdAt: at, updatedAt: at,
  };
}

interface Harness {
  readonly deps: BatchDeliveryDependencies;
  readonly blobs: MemoryBlobs;
  readonly lines: string[];
  readonly ids: { tenantId: string; groupId: string };
  failStatus: boolean;
}

function harness(): Harness {
  const ids = { tenantId: randomUUID(), groupId: randomUUID() };
  const group = groupRecord(ids);
  const blobs = new MemoryBlobs();
  const lines: string[] = [];
  const h: Harness = { blobs, lines, ids, failStatus: false, deps: undefined as never };
  const status = {
    recordSuccess: async () => {
      if (h.failStatus) throw Object.assign(new Error('table unavailable'), { name: 'RestError', statusCode: 503 });
    },
    recordFailure: async () => undefined,
  } as unknown as DeliveryStatusRepository;
  (h as { deps: BatchDeliveryDependencies }).deps = {
    environment: 'development',
    groups: { find: async (tenantId: string, groupId: string) => (tenantId === ids.tenantId && groupId === ids.groupId ? { ...group, etag: '"1"' } : undefined) },
    status,
    deadLetters: {} as DeadLetterRepository,
    blobs,
    outbox: {} as StorageDeliveryOutbox,
    signingKeys: { current: async () => new SecretString('whsec_review') },
    suppressedDeletions: {} as SuppressedDeletions,
    retrySchedule: { maxAttempts: 3, baseDelayInSeconds: 1, maxDelayInSeconds: 1 },
    webhookTimeoutInMs: 2000,
    now: () => new Date(),
  };
  return h;
}

function batchOf(ids: { tenantId: string; groupId: string }): ChangeBatch {
  const mailbox = 'dispatch@contoso.com';
  return createChangeBatch({
    ...ids,
    mailbox,
    records: [createChangeRecord({ ...ids, mailbox, folder: 'inbox', changeType: 'deleted', itemId: `item-${randomUUID()}`, fullResync: false })],
  });
}

function messageFor(batch: Pick<ChangeBatch, 'batchId' | 'tenantId' | 'groupId' | 'mailbox'>, payload: { batch?: unknown; blobName?: string }): Record<string, unknown> {
  return { v: 1, batchId: batch.batchId, tenantId: batch.tenantId, groupId: batch.groupId, mailbox: batch.mailbox, attempt: 1, firstEnqueuedAt: new Date().toISOString(), ...payload };
}

function logOf(h: Harness) {
  return createLogger({ functionName: 'deliver-batch' }, (level, line) => h.lines.push(`${level} ${line}`));
}

describe('deliver-batch: payloads that can never be delivered are dropped, not retried', () => {
  test('an inline payload that is not a change batch is dropped and logged as an error', async () => {
    const h = harness();
    received = [];
    const batch = batchOf(h.ids);
    const result = await deliverBatch(messageFor(batch, { batch: { hello: 'world' } }), h.deps, logOf(h));
    assert.equal(result.kind, 'dropped');
    assert.equal(received.length, 0, 'nothing reached the target');
    assert.ok(h.lines.some((line) => line.startsWith('error ') && line.includes('dropped')), h.lines.join('\n'));
  });

  test('a claim-check blob that is gone (already delivered) is dropped', async () => {
    const h = harness();
    received = [];
    const batch = batchOf(h.ids);
    const result = await deliverBatch(messageFor(batch, { blobName: `batches/${batch.batchId}.json` }), h.deps, logOf(h));
    assert.deepEqual(result.kind, 'dropped');
    assert.equal(received.length, 0);
  });

  test('a claim-check blob that is not JSON is dropped', async () => {
    const h = harness();
    const batch = batchOf(h.ids);
    h.blobs.blobs.set('b.json', '{not json');
    const result = await deliverBatch(messageFor(batch, { blobName: 'b.json' }), h.deps, logOf(h));
    assert.equal(result.kind, 'dropped');
  });

  test("a batch of another group is never sent to this group's target with this group's key", async () => {
    const h = harness();
    received = [];
    const foreign = batchOf({ tenantId: h.ids.tenantId, groupId: randomUUID() });
    const result = await deliverBatch(messageFor({ ...foreign, groupId: h.ids.groupId }, { batch: foreign }), h.deps, logOf(h));
    assert.equal(result.kind, 'dropped');
    assert.equal(received.length, 0);
  });

  test('a claim-check batch is delivered and its blob removed', async () => {
    const h = harness();
    received = [];
    const batch = batchOf(h.ids);
    h.blobs.blobs.set('c.json', JSON.stringify(batch));
    const result = await deliverBatch(messageFor(batch, { blobName: 'c.json' }), h.deps, logOf(h));
    assert.equal(result.kind, 'delivered');
    assert.equal(received.length, 1);
    assert.equal(h.blobs.blobs.has('c.json'), false);
  });
});

describe('deliver-batch: after the target acknowledged, bookkeeping failures do not cause a second delivery', () => {
  test('the status table failing after a 2xx still reports delivered (the host would otherwise redeliver)', async () => {
    const h = harness();
    received = [];
    h.failStatus = true;
    const batch = batchOf(h.ids);
    const result = await deliverBatch(messageFor(batch, { batch }), h.deps, logOf(h));
    assert.equal(result.kind, 'delivered');
    assert.equal(received.length, 1);
    assert.ok(h.lines.some((line) => line.startsWith('warn ') && line.includes('delivery status')), h.lines.join('\n'));
  });

  test('removing the claim-check blob failing after a 2xx still reports delivered', async () => {
    const h = harness();
    received = [];
    h.blobs.failDeletes = true;
    const batch = batchOf(h.ids);
    h.blobs.blobs.set('d.json', JSON.stringify(batch));
    const result = await deliverBatch(messageFor(batch, { blobName: 'd.json' }), h.deps, logOf(h));
    assert.equal(result.kind, 'delivered');
    assert.equal(received.length, 1);
  });
});

describe('deliver-batch: failure logs name the failure', () => {
  test('a retry log line carries the failure code (a field named code is redacted by the logger)', async () => {
    const h = harness();
    const scheduled: number[] = [];
    const deps: BatchDeliveryDependencies = { ...h.deps, outbox: { schedule: async (_m: unknown, delay: number) => void scheduled.push(delay) } as unknown as StorageDeliveryOutbox };
    answerStatus = 500;
    try {
      const batch = batchOf(h.ids);
      const result = await deliverBatch(messageFor(batch, { batch }), deps, logOf(h));
      assert.equal(result.kind, 'retryScheduled');
    } finally {
      answerStatus = 200;
    }
    assert.equal(scheduled.length, 1);
    const line = h.lines.find((l) => l.includes('retry scheduled')) ?? '';
    assert.match(line, /"errorCode":"HttpStatus"/);
    assert.match(line, /answered 500/);
  });
});

describe('send-mail: unusable requests are dropped; a sent mail is never sent again because of cleanup', () => {
  const request = { to: ['alice@contoso.com'], subject: 'Review', body: { contentType: 'text', content: 'Hello' } };

  function sendHarness() {
    const h = harness();
    const mailboxClients: MailboxClientSource = async (_group, mailbox) =>
      createMailboxClient(sim.url, { kind: 'basic', username: 'svc@contoso.com', password: new SecretString(PASSWORDS.svc) }, { mailbox, access: 'impersonation', allowInsecureHttp: true });
    const message = { v: 1, id: randomUUID(), ...h.ids, mailbox: 'bob@contoso.com', blobName: `outbound-mail/${randomUUID()}.json` };
    return { h, message, deps: { groups: h.deps.groups, blobs: h.blobs, mailboxClients } };
  }

  test('a request blob that is gone (mail already sent) is dropped without touching Exchange', async () => {
    const { h, message, deps } = sendHarness();
    let opened = 0;
    const outcome = await sendOutboundMail(message, { ...deps, mailboxClients: async () => { opened++; throw new Error('must not be called'); } }, logOf(h));
    assert.equal(outcome, 'dropped');
    assert.equal(opened, 0);
  });

  test('a request blob that is not a send-mail request is dropped', async () => {
    const { h, message, deps } = sendHarness();
    h.blobs.blobs.set(message.blobName, JSON.stringify({ to: 'nobody' }));
    assert.equal(await sendOutboundMail(message, deps, logOf(h)), 'dropped');
    h.blobs.blobs.set(message.blobName, 'not json');
    assert.equal(await sendOutboundMail(message, deps, logOf(h)), 'dropped');
    assert.ok(h.lines.some((line) => line.startsWith('error ') && line.includes('dropped')));
  });

  test('the request blob failing to delete after Exchange accepted the mail still reports sent', async () => {
    const { h, message, deps } = sendHarness();
    h.blobs.blobs.set(message.blobName, JSON.stringify({ ...request, subject: `Review ${message.id}` }));
    h.blobs.failDeletes = true;
    assert.equal(await sendOutboundMail(message, deps, logOf(h)), 'sent');
    const inbox = sim.store.folderItems(sim.store.getFolder('alice@contoso.com', { distinguished: 'inbox' })).filter((item) => item.subject === `Review ${message.id}`);
    assert.equal(inbox.length, 1, 'the mail arrived once');
  });
});
