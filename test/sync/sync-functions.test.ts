/**
 * End to end through the local Functions host: the real sync function files, Azurite, the local
 * Key Vault (the group's service-account password), the identity provider (the app's own
 * identity for Key Vault) and the EWS simulator, changed through its HTTP control API. The timer
 * is fired through the host's admin API; the queue trigger then runs one job per mailbox.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAzurite } from '../../dev/azurite/azurite';
import type { AzuriteInstance } from '../../dev/azurite/azurite';
import { devStateDir, ensureDevCertificate } from '../../dev/certs';
import { startEwsSimulator } from '../../dev/ews-simulator/server';
import type { EwsSimulator } from '../../dev/ews-simulator/server';
import { startFunctionsHost } from '../../dev/functions-host/host';
import type { FunctionsHost } from '../../dev/functions-host/host';
import { DEMO_IDENTITY, demoIdentitySeed } from '../../dev/identity/demo-seed';
import { startIdentityProvider } from '../../dev/identity/server';
import type { RunningIdentityProvider } from '../../dev/identity/server';
import { startKeyVaultServer } from '../../dev/keyvault';
import type { RunningKeyVaultServer } from '../../dev/keyvault';
import { projectRoot } from '../../dev/project-paths';
import { createAppCredential } from '../../shared/auth/azure-credential';
import { SecretString } from '../../shared/logging';
import { createSecretStore, secretNames } from '../../shared/secrets';
import { GroupsRepository, MailboxesRepository, TableStorage, TenantsRepository } from '../../shared/storage';
import { useSyncOverrides } from '../../shared/sync/sync-composition';
import { RecordingOutbox } from './sync-fixture';

const OPERATOR_TENANT = DEMO_IDENTITY.operatorTenantId;
const MASTER_KEY = 'sync-test-master-key';
const SVC = 'svc@fabrikam.test';
const SVC_PASSWORD = 'Fabrikam-Svc-Pass1';
const MAILBOXES = ['anna@fabrikam.test', 'ben@fabrikam.test'];

let idp: RunningIdentityProvider;
let azurite: AzuriteInstance;
let vault: RunningKeyVaultServer;
let simulator: EwsSimulator;
let host: FunctionsHost;
const outbox = new RecordingOutbox();
const logs: string[] = [];

async function control(method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${simulator.controlUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  assert.ok(response.ok, `${method} ${path}: ${response.status}`);
  return response.status === 204 ? undefined : response.json();
}

async function invoke(name: string, input = ''): Promise<void> {
  const response = await fetch(`${host.url}/admin/functions/${name}`, { method: 'POST', headers: { 'x-functions-key': MASTER_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
  assert.equal(response.status, 202);
}

async function waitForSyncs(count: number, since: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const done = host.invocations().filter((r) => r.functionName === 'sync-mailbox' && r.startedAt.getTime() >= since && r.status !== 'running');
    if (done.length >= count) {
      assert.deepEqual(done.map((r) => r.status), done.map(() => 'succeeded'), done.map((r) => r.error ?? '').join('; '));
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`expected ${count} sync-mailbox invocations; logs:\n${logs.slice(-30).join('\n')}`);
}

before(async () => {
  const root = projectRoot();
  const cert = await ensureDevCertificate(join(devStateDir(root), 'certs'));
  const tls = { cert: cert.cert, key: cert.key };
  idp = await startIdentityProvider({ port: 0, tlsCertificate: tls, seed: demoIdentitySeed() });
  azurite = await startAzurite({ inMemory: true });
  vault = await startKeyVaultServer({ port: 0, tlsCertificate: tls, tenantId: OPERATOR_TENANT, authorityHost: idp.url });
  simulator = await startEwsSimulator({
    seed: (store) => {
      store.addOrganisation({ id: 'fabrikam', name: 'Fabrikam', domains: ['fabrikam.test'] });
      for (const address of MAILBOXES) store.addMailbox({ smtpAddress: address, displayName: address, password: 'User-Pass1' });
      store.addServiceAccount({ userPrincipalName: SVC, password: SVC_PASSWORD, organisationId: 'fabrikam' });
      store.grantImpersonation({ organisationId: 'fabrikam', principal: SVC, scope: { kind: 'all' } });
    },
  });
  const settings: Record<string, string> = {
    CONNECTOR_ENVIRONMENT: 'development',
    PUBLIC_BASE_URL: 'http://127.0.0.1:7071',
    AzureWebJobsStorage: azurite.connectionString,
    KEY_VAULT_URL: vault.url,
    AZURE_CLIENT_ID: DEMO_IDENTITY.appIdentity.clientId,
    AZURE_TENANT_ID: OPERATOR_TENANT,
    AZURE_CLIENT_SECRET: DEMO_IDENTITY.appIdentity.clientSecret,
    AZURE_AUTHORITY_HOST: idp.url,
    ADMIN_API_AUDIENCE: DEMO_IDENTITY.adminApi.audience,
    ADMIN_API_TENANT_ID: OPERATOR_TENANT,
    CONNECTOR_APP_CLIENT_ID: DEMO_IDENTITY.connectorApp.clientId,
    EWS_DEFAULT_URL: simulator.url,
  };
  // The app's own data: a tenant, an impersonation group whose password is in Key Vault, two mailboxes.
  const credential = createAppCredential({ clientId: settings.AZURE_CLIENT_ID!, tenantId: OPERATOR_TENANT, clientSecret: new SecretString(settings.AZURE_CLIENT_SECRET!), authorityHost: idp.url });
  const secrets = createSecretStore(vault.url, credential, { environment: 'development' });
  const secretName = secretNames.groupPassword('fabrikam', 'sales');
  const stored = await secrets.setSecret(secretName, new SecretString(SVC_PASSWORD));
  const storage = new TableStorage({ storage: { kind: 'connectionString', connectionString: new SecretString(azurite.connectionString) } });
  const at = new Date().toISOString();
  await new TenantsRepository(storage).create({ id: 'fabrikam', displayName: 'Fabrikam', status: 'active', createdAt: at, updatedAt: at });
  await new GroupsRepository(storage).create({
    tenantId: 'fabrikam', id: 'sales', name: 'Sales', externalId: 'sales', mailboxAccessType: 'impersonation',
    impersonation: { serviceAccount: SVC, authScheme: 'basic' },
    credential: { kind: 'password', secretName, secretVersion: stored.version, updatedAt: at },
    folders: ['mail'], pollIntervalMinutes: 15, initialSync: { kind: 'all' }, enabled: true, createdAt: at, updatedAt: at,
  });
  const mailboxes = new MailboxesRepository(storage);
  for (const address of MAILBOXES) await mailboxes.create({ tenantId: 'fabrikam', groupId: 'sales', smtpAddress: address, enabled: true, status: 'pending', counts: { created: 0, updated: 0, deleted: 0 }, createdAt: at, updatedAt: at });

  useSyncOverrides({ outbox });
  host = await startFunctionsHost({
    projectRoot: root,
    port: 0,
    settings,
    appEntryPoints: ['sync-schedule', 'sync-mailbox'].map((name) => join(root, 'dist', 'functions', `${name}.js`)),
    functionKeys: { masterKey: MASTER_KEY },
    queues: { maxPollingIntervalInMs: 200, visibilityTimeoutInMs: 0 },
    log: (level, message) => logs.push(`${level} ${message}`),
    shutdownGracePeriodInMs: 5_000,
  });
});

after(async () => {
  await host?.close();
  useSyncOverrides({});
  await simulator?.close();
  await vault?.close();
  await azurite?.close();
  await idp?.close();
});

describe('sync through the Functions host', () => {
  it('the timer fans out one job per mailbox and the queue worker delivers changes made through the simulator', async () => {
    const created = await control('POST', `/mailboxes/${MAILBOXES[0]}/items`, { folder: 'inbox', item: { kind: 'message', subject: 'Order 1001' } });
    await control('POST', `/mailboxes/${MAILBOXES[1]}/items`, { folder: 'inbox', item: { kind: 'message', subject: 'Invoice 77' } });
    const started = Date.now();
    await invoke('schedule-due-groups');
    await waitForSyncs(2, started);
    const subjects = outbox.records().map((r) => `${r.mailbox}:${r.changeType}:${r.item?.subject}`).sort();
    assert.deepEqual(subjects, [`${MAILBOXES[0]}:created:Order 1001`, `${MAILBOXES[1]}:created:Invoice 77`]);

    // Not due again within the poll interval: a second timer run enqueues nothing.
    const mark = Date.now();
    await invoke('schedule-due-groups');
    await host.waitForInvocation((r) => r.functionName === 'schedule-due-groups' && r.startedAt.getTime() >= mark && r.status !== 'running', { timeoutInMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.equal(host.invocations().filter((r) => r.functionName === 'sync-mailbox' && r.startedAt.getTime() >= mark).length, 0);

    // Changes through the control API, then one job for the mailbox.
    await control('PATCH', `/items/${encodeURIComponent(created.id)}`, { isRead: true });
    const other = await control('POST', `/mailboxes/${MAILBOXES[0]}/items`, { folder: 'inbox', item: { kind: 'message', subject: 'Order 1002' } });
    await control('DELETE', `/items/${encodeURIComponent(other.id)}?mode=HardDelete`);
    await control('POST', `/mailboxes/${MAILBOXES[0]}/items`, { folder: 'inbox', item: { kind: 'message', subject: 'Order 1003' } });
    const before = outbox.records().length;
    const again = Date.now();
    await invoke('sync-mailbox', JSON.stringify({ version: 1, tenantId: 'fabrikam', groupId: 'sales', mailbox: MAILBOXES[0], reason: 'manual', enqueuedAt: new Date().toISOString() }));
    await waitForSyncs(1, again);
    const next = outbox.records().slice(before).map((r) => `${r.changeType}:${r.item?.subject ?? r.itemId}`);
    assert.ok(next.includes(`readFlagChanged:${created.id}`), next.join(', '));
    assert.ok(next.includes('created:Order 1003'), next.join(', '));
    // Created and deleted between two polls: either nothing, or its creation followed by its deletion.
    if (next.includes('created:Order 1002')) assert.ok(next.includes(`deleted:${other.id}`), next.join(', '));

    const storage = new TableStorage({ storage: { kind: 'connectionString', connectionString: new SecretString(azurite.connectionString) } });
    const status = await new MailboxesRepository(storage).get('fabrikam', 'sales', MAILBOXES[0]!);
    assert.equal(status.status, 'ok');
    assert.ok(status.lastSuccessfulSyncAt);
    assert.ok(!logs.join('\n').includes(SVC_PASSWORD), 'the password never reaches the logs');
  });
});
