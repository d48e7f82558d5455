/**
 * Delivery's EWS actions against the EWS simulator (with Azurite for tables, queues, blobs):
 * process-and-delete removes acknowledged Inbox messages and suppresses their delete records;
 * send-mail arrives in the recipient's Inbox and in the sender's Sent Items.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startAzurite } from '../../dev/azurite/azurite';
import type { AzuriteInstance } from '../../dev/azurite/azurite';
import { startEwsSimulator } from '../../dev/ews-simulator/server';
import type { EwsSimulator } from '../../dev/ews-simulator/server';
import { startWebhookReceiver } from '../../dev/webhook-receiver/receiver';
import type { RunningWebhookReceiver } from '../../dev/webhook-receiver/receiver';
import { deliverBatch } from '../../shared/delivery/batch-delivery';
import type { BatchDeliveryDependencies, MailboxClientSource } from '../../shared/delivery/batch-delivery';
import { createChangeBatch, createChangeRecord } from '../../shared/delivery/change-batch';
import { BatchBlobStore, createBatchContainerClient, createDeliveriesQueueClient, OUTBOUND_MAIL_QUEUE } from '../../shared/delivery/delivery-storage';
import { enqueueOutboundMail, sendMailRequest, sendOutboundMail } from '../../shared/delivery/outbound-mail';
import { StorageDeliveryOutbox } from '../../shared/delivery/outbox';
import { SuppressedDeletions } from '../../shared/delivery/suppressed-deletions';
import { createMailboxClient } from '../../shared/ews';
import { createLogger, SecretString } from '../../shared/logging';
import type { StorageConfig } from '../../shared/config';
import { createQueueClient, DeadLetterRepository, decodeQueueMessage, DeliveryStatusRepository, GroupsRepository, TableStorage } from '../../shared/storage';
import { seedSmallOrganisation, PASSWORDS } from '../ews-simulator/fixture';

const SECRET = 'whsec_ews';
let azurite: AzuriteInstance;
let sim: EwsSimulator;
let receiver: RunningWebhookReceiver;
let deps: BatchDeliveryDependencies;
let groups: GroupsRepository;
let blobs: BatchBlobStore;
let storageConfig: StorageConfig;
const log = createLogger({ functionName: 'test' }, () => undefined);

before(async () => {
  azurite = await startAzurite({ inMemory: true });
  sim = await startEwsSimulator({ seed: seedSmallOrganisation });
  receiver = await startWebhookReceiver({ port: 0, secret: SECRET, print: () => undefined });
  storageConfig = { kind: 'connectionString', connectionString: new SecretString(azurite.connectionString) };
  const storage = new TableStorage({ storage: storageConfig });
  groups = new GroupsRepository(storage);
  blobs = new BatchBlobStore(createBatchContainerClient(storageConfig));
  const mailboxClients: MailboxClientSource = async (_group, mailbox) =>
    createMailboxClient(sim.url, { kind: 'basic', username: 'svc@contoso.com', password: new SecretString(PASSWORDS.svc) }, { mailbox, access: 'impersonation', allowInsecureHttp: true });
  deps = {
    environment: 'development', groups, status: new DeliveryStatusRepository(storage), deadLetters: new DeadLetterRepository(storage), blobs,
    outbox: new StorageDeliveryOutbox(createDeliveriesQueueClient(storageConfig), blobs), signingKeys: { current: async () => new SecretString(SECRET) },
    suppressedDeletions: new SuppressedDeletions(storage), mailboxClients, retrySchedule: { maxAttempts: 2, baseDelayInSeconds: 1, maxDelayInSeconds: 1 },
    now: () => new Date(),
  };
});

after(async () => {
  await receiver.close();
  await sim.close();
  await azurite.close();
});

async function createGroup(processAndDelete?: 'hardDelete' | 'moveToDeletedItems'): Promise<{ tenantId: string; groupId: string }> {
  const ids = { tenantId: randomUUID(), groupId: randomUUID() };
  const at = new Date().toISOString();
  await groups.create({
    tenantId: ids.tenantId, id: ids.groupId, name: 'Dispatch', externalId: 'x', mailboxAccessType: 'impersonation', ewsUrl: sim.url,
    impersonation: { serviceAccount: 'svc@contoso.com', authScheme: 'basic' }, folders: ['mail'], pollIntervalMinutes: 5,
    delivery: { kind: 'webhook', url: receiver.url, ...(processAndDelete ? { processAndDelete } : {}) }, initialSync: { kind: 'all' }, enabled: true, createdAt: at, updatedAt: at,
  });
  return ids;
}

function inboxIds(mailbox: string): string[] {
  return sim.store.folderItems(sim.store.getFolder(mailbox, { distinguished: 'inbox' })).map((item) => item.id);
}

describe('process-and-delete', () => {
  test('acknowledged created Inbox messages are deleted in Exchange and their delete records suppressed', async () => {
    const ids = await createGroup('hardDelete');
    const mailbox = 'bob@contoso.com';
    const created = [0, 1].map((i) => sim.store.createItem(mailbox, { distinguished: 'inbox' }, { kind: 'message', subject: `Job ${i}`, from: { name: 'D', address: 'd@example.net' }, toRecipients: [{ name: 'Bob', address: mailbox }] }));
    const kept = sim.store.createItem(mailbox, { distinguished: 'inbox' }, { kind: 'message', subject: 'Not in the batch' });
    const batch = createChangeBatch({
      ...ids, mailbox,
      records: created.map((item) => createChangeRecord({ ...ids, mailbox, folder: 'inbox', changeType: 'created', itemId: item.id, fullResync: false })),
    });
    const result = await deliverBatch({ v: 1, batchId: batch.batchId, tenantId: ids.tenantId, groupId: ids.groupId, mailbox, attempt: 1, firstEnqueuedAt: new Date().toISOString(), batch }, deps, log);
    assert.deepEqual(result, { kind: 'delivered', processedAndDeleted: 2 });
    const remaining = inboxIds(mailbox);
    for (const item of created) assert.equal(remaining.includes(item.id), false, 'acknowledged message deleted');
    assert.ok(remaining.includes(kept.id));
    const ref = { ...ids, mailbox };
    for (const item of created) assert.equal(await deps.suppressedDeletions.isSuppressed(ref, item.id), true);
    assert.equal(await deps.suppressedDeletions.isSuppressed(ref, kept.id), false);
  });

  test('without process-and-delete nothing is deleted', async () => {
    const ids = await createGroup();
    const mailbox = 'carol@contoso.com';
    const item = sim.store.createItem(mailbox, { distinguished: 'inbox' }, { kind: 'message', subject: 'Stay' });
    const batch = createChangeBatch({ ...ids, mailbox, records: [createChangeRecord({ ...ids, mailbox, folder: 'inbox', changeType: 'created', itemId: item.id, fullResync: false })] });
    const result = await deliverBatch({ v: 1, batchId: batch.batchId, tenantId: ids.tenantId, groupId: ids.groupId, mailbox, attempt: 1, firstEnqueuedAt: new Date().toISOString(), batch }, deps, log);
    assert.deepEqual(result, { kind: 'delivered', processedAndDeleted: 0 });
    assert.ok(inboxIds(mailbox).includes(item.id));
  });
});

describe('send-mail', () => {
  test('input is validated strictly, naming fields', () => {
    const parsed = sendMailRequest.safeParse({ to: ['not-an-address'], subject: 'x', body: { contentType: 'rtf', content: '' }, colour: 'red', attachments: [{ name: 'a.txt', contentBase64: '***' }] });
    assert.equal(parsed.success, false);
    const paths = [...new Set(parsed.error!.issues.map((issue) => issue.path.join('/')))].sort();
    assert.deepEqual(paths, ['', 'attachments/0/contentBase64', 'body/contentType', 'to/0']);
  });

  test('a queued message is sent from the mailbox and arrives in the recipient\'s Inbox', async () => {
    const ids = await createGroup();
    const queue = createQueueClient(storageConfig, OUTBOUND_MAIL_QUEUE);
    const subject = `Dispatch update ${randomUUID().slice(0, 8)}`;
    const request = sendMailRequest.parse({ to: ['alice@contoso.com'], subject, body: { contentType: 'text', content: 'The job is done.' }, attachments: [{ name: 'note.txt', contentType: 'text/plain', contentBase64: Buffer.from('hello').toString('base64') }] });
    await enqueueOutboundMail({ queue, blobs }, { ...ids, mailbox: 'bob@contoso.com' }, request);
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 1 });
    assert.equal(receivedMessageItems.length, 1);
    const outcome = await sendOutboundMail(decodeQueueMessage(receivedMessageItems[0]!.messageText), { groups, blobs, mailboxClients: deps.mailboxClients }, log);
    assert.equal(outcome, 'sent');
    const inbox = sim.store.folderItems(sim.store.getFolder('alice@contoso.com', { distinguished: 'inbox' }));
    const arrived = inbox.find((item) => item.subject === subject);
    assert.ok(arrived, 'message in the recipient inbox');
    const sent = sim.store.folderItems(sim.store.getFolder('bob@contoso.com', { distinguished: 'sentitems' }));
    assert.ok(sent.some((item) => item.subject === subject), 'copy in Sent Items');
  });
});
