import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startAzurite } from '../../dev/azurite/azurite';
import type { AzuriteInstance } from '../../dev/azurite/azurite';
import { SecretString } from '../../shared/logging';
import {
  AuditRepository,
  EntityConflictError,
  EntityNotFoundError,
  GroupsRepository,
  InvalidContinuationTokenError,
  MailboxesRepository,
  PreconditionFailedError,
  TableStorage,
  TenantsRepository,
  createQueueClient,
  decodeKeyPart,
  decodeQueueMessage,
  encodeKeyPart,
  sendQueueMessage,
} from '../../shared/storage';
import type { GroupRecord, MailboxRecord, TenantRecord } from '../../shared/storage';

let azurite: AzuriteInstance;
let storage: TableStorage;

before(async () => {
  azurite = await startAzurite({ inMemory: true });
  storage = new TableStorage({ storage: { kind: 'connectionString', connectionString: new SecretString(azurite.connectionString) } });
});

after(async () => {
  await azurite.close();
});

const now = '2025-01-01T00:00:00.000Z';

function tenant(id: string, displayName = 'Contoso'): TenantRecord {
  return { id, displayName, status: 'active', createdAt: now, updatedAt: now };
}

function group(tenantId: string, id: string, externalId: string): GroupRecord {
  return {
    tenantId, id, externalId, name: `Group ${id}`, mailboxAccessType: 'impersonation',
    impersonation: { serviceAccount: 'svc@contoso.com', authScheme: 'basic' },
    folders: ['mail'], pollIntervalMinutes: 5, initialSync: { kind: 'all' }, enabled: true, createdAt: now, updatedAt: now,
  };
}

function mailbox(tenantId: string, groupId: string, smtpAddress: string): MailboxRecord {
  return { tenantId, groupId, smtpAddress, enabled: true, status: 'pending', counts: { created: 0, updated: 0, deleted: 0 }, createdAt: now, updatedAt: now };
}

test('keys: any string, including characters Table Storage forbids, round-trips through a safe key', () => {
  for (const raw of ['a/b\\c#d?e', "x' or PartitionKey ne '", '\u0000\u001f\u007f\u0085', '😀 ünïcödé', '']) {
    const key = encodeKeyPart(raw);
    assert.match(key, /^[A-Za-z0-9_-]*$/);
    assert.equal(decodeKeyPart(key), raw);
  }
});

test('tenants: create, read, replace with ETag, stale ETag rejected, delete', async () => {
  const tenants = new TenantsRepository(storage);
  const created = await tenants.create(tenant('t-1'));
  await assert.rejects(tenants.create(tenant('t-1')), EntityConflictError);
  const read = await tenants.get('t-1');
  assert.equal(read.displayName, 'Contoso');
  const renamed = await tenants.replace({ ...read, displayName: 'Contoso Ltd' }, read.etag);
  assert.notEqual(renamed.etag, created.etag);
  await assert.rejects(tenants.replace({ ...read, displayName: 'Lost update' }, read.etag), (e: unknown) => e instanceof PreconditionFailedError && e.code === 'PreconditionFailed');
  assert.equal((await tenants.get('t-1')).displayName, 'Contoso Ltd');
  await tenants.delete('t-1');
  await assert.rejects(tenants.get('t-1'), (e: unknown) => e instanceof EntityNotFoundError && e.code === 'NotFound');
});

test('tenants: hostile ids are stored and found as themselves, never as a query', async () => {
  const tenants = new TenantsRepository(storage);
  const hostile = "t' or RowKey ne 'x";
  await tenants.create(tenant(hostile, 'Hostile'));
  await tenants.create(tenant('plain', 'Plain'));
  assert.equal((await tenants.get(hostile)).displayName, 'Hostile');
  assert.equal(await tenants.find("' or true or '"), undefined);
  await tenants.delete(hostile);
  await tenants.delete('plain');
});

test('tenants: paging walks every row exactly once; a forged continuation token is a typed error', async () => {
  const tenants = new TenantsRepository(storage);
  const ids = Array.from({ length: 7 }, (_, i) => `page-${i}`);
  for (const id of ids) await tenants.create(tenant(id));
  const seen: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await tenants.page({ maxPageSize: 3, continuationToken: token });
    seen.push(...page.items.map((t) => t.id));
    token = page.continuationToken;
    pages++;
  } while (token);
  assert.deepEqual(seen.sort(), [...ids].sort());
  assert.ok(pages >= 3);
  for (const forged of ['not base64!', Buffer.from('{"x":1}').toString('base64'), Buffer.from('[').toString('base64')]) {
    await assert.rejects(tenants.page({ continuationToken: forged }), InvalidContinuationTokenError);
  }
  for (const id of ids) await tenants.delete(id);
});

test('groups: external ID is unique within a tenant (atomically), free in other tenants, released on delete', async () => {
  const groups = new GroupsRepository(storage);
  await groups.create(group('ta', 'g1', 'sales/emea#1'));
  await assert.rejects(groups.create(group('ta', 'g2', 'sales/emea#1')), (e: unknown) => e instanceof EntityConflictError && /external ID/.test(e.message));
  assert.equal(await groups.find('ta', 'g2'), undefined, 'the losing create left no group behind');
  await groups.create(group('tb', 'g1', 'sales/emea#1'));
  const listed = [];
  for await (const g of groups.list('ta')) listed.push(g.id);
  assert.deepEqual(listed, ['g1'], 'the external-ID index rows are not listed as groups');
  const g1 = await groups.get('ta', 'g1');
  assert.deepEqual(g1.impersonation, { serviceAccount: 'svc@contoso.com', authScheme: 'basic' });
  await groups.delete(g1);
  await groups.create(group('ta', 'g3', 'sales/emea#1'));
  assert.equal(await groups.hasAny('tb'), true);
});

test('mailboxes: keyed by lower-cased address per group; delete all in a group', async () => {
  const mailboxes = new MailboxesRepository(storage);
  await mailboxes.create(mailbox('ta', 'g1', 'alice@contoso.com'));
  await assert.rejects(mailboxes.create(mailbox('ta', 'g1', 'ALICE@contoso.com')), EntityConflictError);
  await mailboxes.create(mailbox('ta', 'g2', 'alice@contoso.com'));
  for (let i = 0; i < 120; i++) await mailboxes.create(mailbox('ta', 'g1', `user${i}@contoso.com`));
  assert.equal(await mailboxes.deleteAllInGroup('ta', 'g1'), 121);
  assert.equal(await mailboxes.find('ta', 'g1', 'alice@contoso.com'), undefined);
  assert.ok(await mailboxes.find('ta', 'g2', 'Alice@Contoso.com'));
});

test('audit: appended entries list newest first', async () => {
  const audit = new AuditRepository(storage);
  const actor = { objectId: 'o1', name: 'Ops' };
  await audit.append({ tenantId: 'ta', actor, action: 'tenant.created', target: '/tenants/ta', details: {} }, new Date('2025-01-01T00:00:00Z'));
  await audit.append({ tenantId: 'ta', actor, action: 'group.created', target: '/tenants/ta/groups/g1', details: { name: 'x' } }, new Date('2025-01-02T00:00:00Z'));
  const page = await audit.page('ta', {});
  assert.deepEqual(page.items.map((e) => e.action), ['group.created', 'tenant.created']);
  assert.deepEqual(page.items[0]?.details, { name: 'x' });
});

test('queues: messages are base64 JSON as Functions queue triggers expect; the queue is created on first send', async () => {
  const client = createQueueClient({ kind: 'connectionString', connectionString: new SecretString(azurite.connectionString) }, 'sync-requests');
  await sendQueueMessage(client, { mailbox: 'alice@contoso.com', n: 1 });
  const received = await client.receiveMessages({ numberOfMessages: 1 });
  const text = received.receivedMessageItems[0]?.messageText ?? '';
  assert.match(text, /^[A-Za-z0-9+/=]+$/);
  assert.deepEqual(decodeQueueMessage(text), { mailbox: 'alice@contoso.com', n: 1 });
  assert.throws(() => createQueueClient({ kind: 'connectionString', connectionString: new SecretString('x') }, 'Bad_Name'), RangeError);
});
