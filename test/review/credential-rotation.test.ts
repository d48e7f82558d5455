/**
 * Review fix: switching an app-only group from a certificate to a client secret stores the new
 * secret and points the group at it, then deletes the old one. When only that last delete failed,
 * the request answered 503 "nothing was changed" although the new credential was in force.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import type { AdminDependencies } from '../../shared/admin/admin-dependencies';
import { setGroupCredentials } from '../../shared/admin/credential-service';
import type { AdminPrincipal } from '../../shared/admin/principal';
import { secretNames } from '../../shared/secrets/secret-names';
import type { AuditDetailValue, GroupRecord, Stored } from '../../shared/storage';

const principal: AdminPrincipal = { objectId: randomUUID(), name: 'Operator', roles: ['Connector.Admin'], scope: { kind: 'all' } };

describe('rotating to another kind of credential', () => {
  test('the old secret failing to delete does not fail the request; the audit names the secret left behind', async () => {
    const tenantId = randomUUID();
    const groupId = randomUUID();
    const at = new Date().toISOString();
    let group: Stored<GroupRecord> = {
      tenantId, id: groupId, name: 'Online', externalId: 'x', mailboxAccessType: 'appOnly',
      appOnly: { entraTenantId: randomUUID(), clientId: randomUUID() }, folders: ['mail'], pollIntervalMinutes: 5,
      initialSync: { kind: 'all' }, enabled: true, createdAt: at, updatedAt: at,
      credential: { kind: 'certificate', secretName: secretNames.groupCertificate(tenantId, groupId), secretVersion: 'v1', updatedAt: at },
      etag: '"1"',
    };
    const audits: Record<string, AuditDetailValue>[] = [];
    const deps = {
      environment: 'production',
      now: () => new Date(),
      tenants: { find: async () => ({ id: tenantId, displayName: 'Contoso', status: 'active', createdAt: at, updatedAt: at, etag: '"t"' }) },
      groups: {
        find: async () => group,
        replace: async (next: GroupRecord) => (group = { ...next, etag: '"2"' }),
      },
      audit: { append: async (entry: { details: Record<string, AuditDetailValue> }) => void audits.push(entry.details) },
      vault: {
        setSecret: async (name: string) => ({ name, version: 'v2' }),
        deleteSecret: async () => {
          throw Object.assign(new Error('Key Vault is unavailable'), { code: 'SecretStoreUnavailable' });
        },
      },
    } as unknown as AdminDependencies;

    const after = await setGroupCredentials(deps, principal, tenantId, groupId, { clientSecret: 'new-client-secret' });
    assert.equal(after.credential?.kind, 'clientSecret');
    assert.equal(after.credential?.secretName, secretNames.groupClientSecret(tenantId, groupId));
    assert.equal(audits.length, 1);
    assert.equal(audits[0]?.previousSecretNotDeleted, secretNames.groupCertificate(tenantId, groupId));
    assert.doesNotMatch(JSON.stringify(audits), /new-client-secret/);
  });
});
