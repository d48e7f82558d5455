/**
 * Deleting a group leaves nothing keyed by it in Table or Blob storage (Azurite, real
 * repositories): sync state, leases, schedule, delivery status, dead letters and their blobs,
 * claim-check blobs, suppressed deletions, invitations, delegated users, mailboxes. Another group
 * of the same tenant keeps all of its data. A Key Vault failure midway leaves the group (disabled)
 * and deleting it again completes the job. Only the audit trail keeps the group's id, by design.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { BlobServiceClient } from '@azure/storage-blob';
import { TableClient, TableServiceClient } from '@azure/data-tables';
import { startAzurite } from '../../dev/azurite/azurite';
import type { AzuriteInstance } from '../../dev/azurite/azurite';
import type { AdminDependencies } from '../../shared/admin/admin-dependencies';
import { deleteGroup, loadGroup } from '../../shared/admin/group-service';
import type { AdminPrincipal } from '../../shared/admin/principal';
import type { StorageConfig } from '../../shared/config';
import { createChangeBatch } from '../../shared/delivery/change-batch';
import { BatchBlobStore, createBatchContainerClient } from '../../shared/delivery/delivery-storage';
import { batchBlobName } from '../../shared/delivery/outbox';
import { SuppressedDeletions } from '../../shared/delivery/suppressed-deletions';
import { SecretString } from '../../shared/logging';
import { secretNames } from '../../shared/secrets/secret-names';
import {
  AuditRepository, DeadLetterRepository, DelegatedUsersRepository, DeliveryStatusRepository, encodeKeyPart, GroupsRepository, InvitationsRepository,
  joinKeyParts, MailboxesRepository, TableStorage, TenantsRepository,
} from '../../shared/storage';
import { GroupDataStore } from '../../shared/storage/group-data-store';
import { LeaseRepository } from '../../shared/storage/lease-repository';
import { SyncScheduleRepository } from '../../shared/storage/sync-schedule-repository';
import { SyncStateRepository } from '../../shared/storage/sync-state-repository';

const principal: AdminPrincipal = { objectId: randomUUID(), name: 'Operator', roles: ['Connector.Admin'], scope: { kind: 'all' } };
const MAILBOXES = ['bob@contoso.com', 'carol@contoso.com'];

let azurite: AzuriteInstance;
let storage: TableStorage;
let blobs: BatchBlobStore;
let deps: AdminDependencies;
const secrets = new Set<string>();
let vaultDown = false;

before(async () => {
  azurite = await startAzurite({ inMemory: true });
  const config: StorageConfig = { kind: 'connectionString', connectionString: new SecretString(azurite.connectionString) };
  storage = new TableStorage({ storage: config });
  blobs = new BatchBlobStore(createBatchContainerClient(config));
  deps = {
    environment: 'development',
    now: () => new Date(),
    tenants: new TenantsRepository(storage),
    groups: new GroupsRepository(storage),
    mailboxes: new MailboxesRepository(storage),
    audit: new AuditRepository(storage),
    groupData: new GroupDataStore(storage),
    batchBlobs: blobs,
    vault: {
      deleteSecret: async (name: string) => {
        if (vaultDown) throw Object.assign(new Error('Key Vault is unavailable'), { code: 'SecretStoreUnavailable' });
        return secrets.delete(name) ? { name } : undefined;
      },
    },
  } as unknown as AdminDependencies;
});

after(async () => {
  await azurite.close();
});

/** A group with data in every place the product keeps some: what sync, delivery and consent would have written. */
async function populatedGroup(tenantId: string): Promise<string> {
  const groupId = randomUUID();
  const at = new Date();
  const iso = at.toISOString();
  await new GroupsRepository(storage).create({
    tenantId, id: groupId, name: 'Dispatch', externalId: `ext-${groupId}`, mailboxAccessType: 'impersonation', ewsUrl: 'https://mail.contoso.com/EWS/Exchange.asmx',
    impersonation: { serviceAccount: 'svc@contoso.com', authScheme: 'basic' }, folders: ['mail'], pollIntervalMinutes: 5,
    delivery: { kind: 'webhook', url: 'https://hooks.contoso.com/x' }, initialSync: { kind: 'all' }, enabled: true, createdAt: iso, updatedAt: iso,
    credential: { kind: 'password', secretName: secretNames.groupPassword(tenantId, groupId), secretVersion: 'v1', updatedAt: iso },
  });
  secrets.add(secretNames.groupPassword(tenantId, groupId));
  secrets.add(secretNames.webhookSigningKey(tenantId, groupId));
  const states = new SyncStateRepository(storage);
  const leases = new LeaseRepository(storage);
  for (const mailbox of MAILBOXES) {
    await deps.mailboxes.create({ tenantId, groupId, smtpAddress: mailbox, enabled: true, status: 'ok', counts: { created: 1, updated: 0, deleted: 0 }, createdAt: iso, updatedAt: iso });
    await states.save({ tenantId, groupId, mailbox, folder: 'inbox' }, { syncState: 'H4sIAAAA' + 'x'.repeat(40_000), phase: 'incremental', fullResync: false, updatedAt: iso }, undefined);
    await states.saveProgress({ tenantId, groupId, mailbox, itemsSyncedInPass: 3, continuationPending: false, lastRunAt: iso });
    // The scope the sync worker takes its mailbox lease in (a crashed worker's lease stays behind).
    await leases.tryAcquire(joinKeyParts('mailbox', encodeKeyPart(tenantId), encodeKeyPart(groupId)), encodeKeyPart(mailbox), 'crashed-worker', 60_000);
    await new SuppressedDeletions(storage).suppress({ tenantId, groupId, mailbox }, ['AAMkAD-1', 'AAMkAD-2'], at);
  }
  assert.equal(await new SyncScheduleRepository(storage).tryClaim(tenantId, groupId, at, 60_000), true);
  await new DeliveryStatusRepository(storage).recordFailure(tenantId, groupId, { code: 'HttpStatus', message: '503' }, at);
  const batch = createChangeBatch({ tenantId, groupId, mailbox: MAILBOXES[0]!, records: [] });
  await blobs.put(batchBlobName(batch), JSON.stringify(batch));
  await new DeadLetterRepository(storage).create({
    tenantId, id: `dl-${groupId}`, groupId, mailbox: MAILBOXES[0]!, batchId: batch.batchId, recordCount: 0, attempts: 8, lastErrorCode: 'HttpStatus',
    lastErrorMessage: '503', deadLetteredAt: iso, blobName: batchBlobName(batch), replayCount: 0,
  });
  const inFlight = createChangeBatch({ tenantId, groupId, mailbox: MAILBOXES[1]!, records: [] });
  await blobs.put(batchBlobName(inFlight), JSON.stringify(inFlight));
  await new InvitationsRepository(storage).create({
    tenantId, id: randomUUID().replaceAll('-', ''), groupId, mailbox: MAILBOXES[1]!, purpose: 'signIn', status: 'pending', createdAt: iso, expiresAt: iso,
    createdBy: { objectId: principal.objectId, name: principal.name },
  });
  const userObjectId = randomUUID();
  secrets.add(secretNames.userTokenCache(tenantId, userObjectId));
  await new DelegatedUsersRepository(storage).upsert({
    tenantId, userObjectId, entraTenantId: randomUUID(), homeAccountId: `${userObjectId}.x`, userPrincipalName: MAILBOXES[1]!, link: { groupId, mailbox: MAILBOXES[1]! },
    status: 'active', tokenCacheSecretName: secretNames.userTokenCache(tenantId, userObjectId), signedInAt: iso, createdAt: iso, updatedAt: iso,
  });
  return groupId;
}

/** Every table row and blob (outside the audit trail) that names the group, by key, column or blob name. */
async function leftovers(groupId: string): Promise<string[]> {
  const found: string[] = [];
  const markers = [groupId, encodeKeyPart(groupId), secretNames.groupPassword(randomUUID(), groupId).split('-')[2]!];
  const service = TableServiceClient.fromConnectionString(azurite.connectionString, { allowInsecureConnection: true });
  for await (const table of service.listTables()) {
    if (!table.name || table.name === 'audit') continue;
    const client = TableClient.fromConnectionString(azurite.connectionString, table.name, { allowInsecureConnection: true });
    for await (const row of client.listEntities()) {
      const text = JSON.stringify(row);
      if (markers.some((marker) => text.includes(marker))) found.push(`${table.name}: ${row.partitionKey} / ${row.rowKey}`);
    }
  }
  const blobService = BlobServiceClient.fromConnectionString(azurite.connectionString);
  for await (const container of blobService.listContainers()) {
    for await (const blob of blobService.getContainerClient(container.name).listBlobsFlat()) {
      if (markers.some((marker) => blob.name.includes(marker))) found.push(`blob ${container.name}/${blob.name}`);
    }
  }
  return found;
}

async function newTenant(): Promise<string> {
  const tenantId = randomUUID();
  const at = new Date().toISOString();
  await deps.tenants.create({ id: tenantId, displayName: 'Contoso', status: 'active', createdAt: at, updatedAt: at } as never);
  return tenantId;
}

describe('deleting a group removes everything kept for it', () => {
  test('nothing keyed by the group is left in any table or blob container; the other group keeps its data', async () => {
    const tenantId = await newTenant();
    const doomed = await populatedGroup(tenantId);
    const kept = await populatedGroup(tenantId);
    assert.ok((await leftovers(doomed)).length >= 15, 'the group has data everywhere before the deletion');
    const keptBefore = (await leftovers(kept)).length;

    await deleteGroup(deps, principal, tenantId, doomed, undefined);

    assert.deepEqual(await leftovers(doomed), []);
    assert.equal((await leftovers(kept)).length, keptBefore, 'the other group is untouched');
    assert.equal([...secrets].some((name) => name.includes(doomed.replaceAll('-', ''))), false, 'no secret of the group is left');
    const audit = await deps.audit.page(tenantId, { maxPageSize: 10 });
    const entry = audit.items.find((item) => item.action === 'group.deleted');
    assert.ok(entry, 'the deletion is audited');
    assert.equal(entry.details.mailboxesRemoved, 2);
    assert.equal(entry.details.deadLetters, 1);
    assert.equal(entry.details.blobsRemoved, 2);
    assert.equal(entry.details.tokenCachesDeleted, 1);
  });

  test('a Key Vault failure midway leaves the group disabled and deletable; deleting again leaves nothing', async () => {
    const tenantId = await newTenant();
    const groupId = await populatedGroup(tenantId);
    vaultDown = true;
    try {
      await assert.rejects(deleteGroup(deps, principal, tenantId, groupId, undefined), { code: 'SecretStoreUnavailable' });
    } finally {
      vaultDown = false;
    }
    const stillThere = await loadGroup(deps, principal, tenantId, groupId);
    assert.equal(stillThere.enabled, false, 'no new sync starts for a group being deleted');

    await deleteGroup(deps, principal, tenantId, groupId, undefined);
    assert.deepEqual(await leftovers(groupId), []);
    await assert.rejects(loadGroup(deps, principal, tenantId, groupId), { status: 404 });
  });
});
