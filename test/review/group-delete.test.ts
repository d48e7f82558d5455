/**
 * Review fix: deleting a group removes every Key Vault secret it owns (credential and webhook
 * signing key), and a Key Vault failure leaves the group in place so the admin's retry can finish.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import type { AdminDependencies } from '../../shared/admin/admin-dependencies';
import { deleteGroup } from '../../shared/admin/group-service';
import type { AdminPrincipal } from '../../shared/admin/principal';
import { secretNames } from '../../shared/secrets/secret-names';
import type { GroupRecord, Stored } from '../../shared/storage';

const principal: AdminPrincipal = { objectId: randomUUID(), name: 'Operator', roles: ['Connector.Admin'], scope: { kind: 'all' } };

function world(options: { vaultDown?: boolean } = {}) {
  const tenantId = randomUUID();
  const groupId = randomUUID();
  const at = new Date().toISOString();
  const groups = new Map<string, Stored<GroupRecord>>();
  groups.set(groupId, {
    tenantId, id: groupId, name: 'Dispatch', externalId: 'x', mailboxAccessType: 'impersonation', ewsUrl: 'https://mail.contoso.com/EWS/Exchange.asmx',
    impersonation: { serviceAccount: 'svc@contoso.com', authScheme: 'basic' }, folders: ['mail'], pollIntervalMinutes: 5,
    delivery: { kind: 'webhook', url: 'https://hooks.contoso.com/x' }, initialSync: { kind: 'all' }, enabled: true, createdAt: at, updatedAt: at,
    credential: { kind: 'password', secretName: secretNames.groupPassword(tenantId, groupId), secretVersion: 'v1', updatedAt: at },
    etag: '"g1"',
  });
  const secrets = new Set([secretNames.groupPassword(tenantId, groupId), secretNames.webhookSigningKey(tenantId, groupId)]);
  const deps = {
    environment: 'production',
    now: () => new Date(),
    tenants: { find: async (id: string) => (id === tenantId ? { id, displayName: 'Contoso', status: 'active', createdAt: at, updatedAt: at, etag: '"t"' } : undefined) },
    groups: {
      find: async (_t: string, id: string) => groups.get(id),
      replace: async (group: GroupRecord) => { const stored = { ...group, etag: '"g2"' }; groups.set(group.id, stored); return stored; },
      delete: async (group: GroupRecord) => void groups.delete(group.id),
    },
    mailboxes: { deleteAllInGroup: async () => 0 },
    groupData: { delegatedUsersOf: async () => [], removeAll: async () => ({}) },
    batchBlobs: { deleteUnder: async () => 0 },
    audit: { append: async () => undefined },
    vault: {
      deleteSecret: async (name: string) => {
        if (options.vaultDown) throw Object.assign(new Error('Key Vault is unavailable'), { code: 'SecretStoreUnavailable' });
        return secrets.delete(name) ? { name } : undefined;
      },
    },
  } as unknown as AdminDependencies;
  return { deps, tenantId, groupId, groups, secrets };
}

describe('deleting a group', () => {
  test('removes its credential and its webhook signing key from Key Vault', async () => {
    const w = world();
    await deleteGroup(w.deps, principal, w.tenantId, w.groupId, undefined);
    assert.equal(w.groups.size, 0);
    assert.deepEqual([...w.secrets], [], 'no secret of the group is left behind');
  });

  test('when Key Vault fails, the group stays so that deleting again removes its secrets', async () => {
    const w = world({ vaultDown: true });
    await assert.rejects(deleteGroup(w.deps, principal, w.tenantId, w.groupId, undefined), { code: 'SecretStoreUnavailable' });
    assert.equal(w.groups.size, 1, 'the group still names its secrets');
  });

  test('deleting again after a partial failure succeeds (an absent secret is not an error)', async () => {
    const w = world();
    w.secrets.delete(secretNames.groupPassword(w.tenantId, w.groupId));
    await deleteGroup(w.deps, principal, w.tenantId, w.groupId, undefined);
    assert.equal(w.groups.size, 0);
    assert.equal(w.secrets.size, 0);
  });
});
