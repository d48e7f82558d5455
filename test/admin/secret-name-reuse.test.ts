/**
 * Key Vault soft delete keeps deleted secret names taken (409 ObjectIsDeletedButRecoverable) and
 * the vault has purge protection, so every lifecycle that deletes a secret and later writes the
 * same name must work through recovery (issue 11). Through the admin API, against the local Key
 * Vault, which refuses such writes exactly as Key Vault does.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { devStateDir, ensureDevCertificate } from '../../dev/certs';
import { projectRoot } from '../../dev/project-paths';
import { secretNames } from '../../shared/secrets/secret-names';
import { createGroupThroughApi, createTenantThroughApi, impersonationGroupBody, startAdminStack, type AdminStack } from './admin-stack';

let stack: AdminStack;

before(async () => {
  stack = await startAdminStack();
});
after(async () => {
  await stack?.close();
});

const createTenant = (): Promise<string> => createTenantThroughApi(stack, 'Reuse');
const createGroup = (tenantId: string, body: object): Promise<string> => createGroupThroughApi(stack, tenantId, body);
const impersonationGroup = (externalId: string) => impersonationGroupBody(externalId);
const appOnlyGroup = (externalId: string) => ({
  name: 'Online',
  externalId,
  mailboxAccessType: 'appOnly',
  appOnly: { entraTenantId: '00000000-0000-4000-8000-0000000000d1', clientId: '0a0a0a0a-0000-4000-8000-0000000000a1' },
});

describe('Key Vault secret names are reusable', () => {
  test('switching an app-only group between client secret and certificate, back and forth', async () => {
    const tenantId = await createTenant();
    const groupId = await createGroup(tenantId, appOnlyGroup('switch'));
    const url = `/api/admin/tenants/${tenantId}/groups/${groupId}/credentials`;
    const cert = await ensureDevCertificate(join(devStateDir(projectRoot()), 'certs'));
    for (let round = 1; round <= 2; round++) {
      const clientSecret = `client~secret~round${round}`;
      const secretSet = await stack.request('PUT', url, { body: { clientSecret } });
      assert.equal(secretSet.status, 200, `round ${round}: ${secretSet.text}`);
      assert.equal(secretSet.body.kind, 'clientSecret');
      assert.equal((await stack.secrets.getSecret(secretSet.body.reference, { version: secretSet.body.version })).reveal(), clientSecret);
      assert.equal((await stack.secrets.getSecret(secretSet.body.reference)).reveal(), clientSecret, 'the latest version is the new value');
      if (round > 1) {
        // The versions that came back with the recovery (the deleted client secrets) stay unreadable.
        const versions = [];
        for await (const version of stack.secrets.listVersions(secretSet.body.reference)) versions.push(version);
        assert.equal(versions.length, round, 'every earlier version came back with the recovery');
        assert.deepEqual(versions.filter((v) => v.enabled).map((v) => v.version), [secretSet.body.version], 'only the new version is enabled');
      }
      // Make the next round's versions fall in a later second, so the recovered ones are told apart.
      await sleep(1_100);
      const certSet = await stack.request('PUT', url, { body: { certificate: cert.cert + '\n' + cert.key } });
      assert.equal(certSet.status, 200, `round ${round}: ${certSet.text}`);
      assert.equal(certSet.body.kind, 'certificate');
      assert.equal(await stack.secrets.findSecret(secretSet.body.reference), undefined, 'the client secret is deleted when the kind changes');
      const status = await stack.request('GET', url);
      assert.equal(status.body.kind, 'certificate');
      assert.equal(status.body.version, certSet.body.version);
      await sleep(1_100);
    }
  });

  test('rotation, then delete the group and re-create it with the same external id, then set credentials again', async () => {
    const tenantId = await createTenant();
    for (let round = 1; round <= 2; round++) {
      const groupId = await createGroup(tenantId, impersonationGroup('same-external-id'));
      const url = `/api/admin/tenants/${tenantId}/groups/${groupId}/credentials`;
      const versions = new Set<string>();
      for (let rotation = 1; rotation <= 3; rotation++) {
        const put = await stack.request('PUT', url, { body: { password: `Pass-${round}-${rotation}` } });
        assert.equal(put.status, 200, put.text);
        versions.add(put.body.version);
        assert.equal((await stack.secrets.getSecret(put.body.reference)).reveal(), `Pass-${round}-${rotation}`);
      }
      assert.equal(versions.size, 3);
      assert.equal((await stack.request('DELETE', `/api/admin/tenants/${tenantId}/groups/${groupId}`)).status, 204);
      for (const name of secretNames.groupCredentials(tenantId, groupId)) assert.equal(await stack.secrets.findSecret(name), undefined);
    }
  });

  test('a credential PUT racing a group DELETE: no 5xx, and no live secret outlives the group', async () => {
    const tenantId = await createTenant();
    for (let round = 0; round < 6; round++) {
      const groupId = await createGroup(tenantId, impersonationGroup(`race-${round}`));
      const url = `/api/admin/tenants/${tenantId}/groups/${groupId}/credentials`;
      // A credential that the delete removes, so the racing PUT writes a soft-deleted name in some interleavings.
      assert.equal((await stack.request('PUT', url, { body: { password: 'before-race' } })).status, 200);
      const [put, del] = await Promise.all([
        sleep(round * 15).then(() => stack.request('PUT', url, { body: { password: `racing-${round}` } })),
        stack.request('DELETE', `/api/admin/tenants/${tenantId}/groups/${groupId}`),
      ]);
      assert.ok([200, 404].includes(put.status), `round ${round}: PUT ${put.status} ${put.text}`);
      assert.ok([204, 404, 412].includes(del.status), `round ${round}: DELETE ${del.status} ${del.text}`);
      const group = await stack.request('GET', `/api/admin/tenants/${tenantId}/groups/${groupId}`);
      if (group.status === 404) {
        for (const name of secretNames.groupCredentials(tenantId, groupId)) assert.equal(await stack.secrets.findSecret(name), undefined, `round ${round}: ${name} outlived the group`);
      } else {
        // The delete lost the race (412): deleting again finishes the job.
        assert.equal((await stack.request('DELETE', `/api/admin/tenants/${tenantId}/groups/${groupId}`)).status, 204);
      }
    }
  });
});
