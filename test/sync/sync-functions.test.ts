/**
 * End to end through the local Functions host: the real sync function files, Azurite, the local
 * Key Vault (the group's service-account password), the identity provider (the app's own
 * identity for Key Vault) and the EWS simulator, changed through its HTTP control API. The timer
 * is fired through the host's admin API; the queue trigger then runs one job per mailbox.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SecretString } from '../../shared/logging';
import { secretNames } from '../../shared/secrets';
import { GroupsRepository, MailboxesRepository, TableStorage, TenantsRepository } from '../../shared/storage';
import { useSyncOverrides } from '../../shared/sync/sync-composition';
import { waitForSyncs } from '../support/sync-invocations';
import { startConnectorStack } from '../support/connector-stack';
import type { ConnectorStack } from '../support/connector-stack';
import { RecordingOutbox } from './sync-fixture';

const MASTER_KEY = 'sync-test-master-key';
const SVC = 'svc@fabrikam.test';
const SVC_PASSWORD = 'Fabrikam-Svc-Pass1';
const MAILBOXES = ['anna@fabrikam.test', 'ben@fabrikam.test'];

let stack: ConnectorStack;
let controlUrl: string;
const outbox = new RecordingOutbox();

async function control(method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${controlUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  assert.ok(response.ok, `${method} ${path}: ${response.status}`);
  return response.status === 204 ? undefined : response.json();
}

async function invoke(name: string, input = ''): Promise<void> {
  const response = await fetch(`${stack.host.url}/admin/functions/${name}`, { method: 'POST', headers: { 'x-functions-key': MASTER_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
  assert.equal(response.status, 202);
}

/** The "Scheduled due groups" summary logged by the first timer run started at or after `since`. */
async function scheduledSummary(since: number): Promise<string> {
  const run = await stack.host.waitForInvocation((r) => r.functionName === 'schedule-due-groups' && r.startedAt.getTime() >= since && r.status !== 'running', { timeoutInMs: 10_000 });
  assert.equal(run.status, 'succeeded', run.error);
  const summary = stack.logs.find((line) => line.includes('Scheduled due groups') && line.includes(run.invocationId));
  assert.ok(summary, `no scheduler summary; logs:\n${stack.logs.slice(-30).join('\n')}`);
  return summary;
}

let firstOrderId: string;

before(async () => {
  stack = await startConnectorStack({
    functions: ['sync-schedule', 'sync-mailbox'],
    ews: {
      seed: (store) => {
        store.addOrganisation({ id: 'fabrikam', name: 'Fabrikam', domains: ['fabrikam.test'] });
        for (const address of MAILBOXES) store.addMailbox({ smtpAddress: address, displayName: address, password: 'User-Pass1' });
        store.addServiceAccount({ userPrincipalName: SVC, password: SVC_PASSWORD, organisationId: 'fabrikam' });
        store.grantImpersonation({ organisationId: 'fabrikam', principal: SVC, scope: { kind: 'all' } });
      },
    },
    functionKeys: { masterKey: MASTER_KEY },
    queues: { maxPollingIntervalInMs: 200, visibilityTimeoutInMs: 0 },
    shutdownGracePeriodInMs: 5_000,
    beforeHost: async ({ azurite, secrets, ews }) => {
      controlUrl = ews!.controlUrl;
      // The app's own data: a tenant, an impersonation group whose password is in Key Vault, two mailboxes.
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
      // Mail made through the simulator's control API before the host (and its every-minute timer)
      // starts: whichever schedules the group first, the timer on the minute or the test, syncs it.
      firstOrderId = (await control('POST', `/mailboxes/${MAILBOXES[0]}/items`, { folder: 'inbox', item: { kind: 'message', subject: 'Order 1001' } })).id;
      await control('POST', `/mailboxes/${MAILBOXES[1]}/items`, { folder: 'inbox', item: { kind: 'message', subject: 'Invoice 77' } });
      useSyncOverrides({ outbox });
    },
  });
});

after(async () => {
  await stack?.close();
  useSyncOverrides({});
});

describe('sync through the Functions host', () => {
  it('the timer fans out one job per mailbox and the queue worker delivers changes made through the simulator', async () => {
    await invoke('schedule-due-groups');
    await waitForSyncs(stack, 2, 0);
    const subjects = outbox.records().map((r) => `${r.mailbox}:${r.changeType}:${r.item?.subject}`).sort();
    assert.deepEqual(subjects, [`${MAILBOXES[0]}:created:Order 1001`, `${MAILBOXES[1]}:created:Invoice 77`]);

    // Not due again within the poll interval: a second timer run enqueues nothing.
    const mark = Date.now();
    await invoke('schedule-due-groups');
    assert.match(await scheduledSummary(mark), /jobsEnqueued\W+0\b/);
    assert.equal(stack.host.invocations().filter((r) => r.functionName === 'sync-mailbox').length, 2, 'one sync per mailbox so far');

    // Changes through the control API, then one job for the mailbox.
    await control('PATCH', `/items/${encodeURIComponent(firstOrderId)}`, { isRead: true });
    const other = await control('POST', `/mailboxes/${MAILBOXES[0]}/items`, { folder: 'inbox', item: { kind: 'message', subject: 'Order 1002' } });
    await control('DELETE', `/items/${encodeURIComponent(other.id)}?mode=HardDelete`);
    await control('POST', `/mailboxes/${MAILBOXES[0]}/items`, { folder: 'inbox', item: { kind: 'message', subject: 'Order 1003' } });
    const before = outbox.records().length;
    const again = Date.now();
    await invoke('sync-mailbox', JSON.stringify({ version: 1, tenantId: 'fabrikam', groupId: 'sales', mailbox: MAILBOXES[0], reason: 'manual', enqueuedAt: new Date().toISOString() }));
    await waitForSyncs(stack, 1, again);
    const next = outbox.records().slice(before).map((r) => `${r.changeType}:${r.item?.subject ?? r.itemId}`);
    assert.ok(next.includes(`readFlagChanged:${firstOrderId}`), next.join(', '));
    assert.ok(next.includes('created:Order 1003'), next.join(', '));
    // Created and deleted between two polls: either nothing, or its creation followed by its deletion.
    if (next.includes('created:Order 1002')) assert.ok(next.includes(`deleted:${other.id}`), next.join(', '));

    const storage = new TableStorage({ storage: { kind: 'connectionString', connectionString: new SecretString(stack.azurite.connectionString) } });
    const status = await new MailboxesRepository(storage).get('fabrikam', 'sales', MAILBOXES[0]!);
    assert.equal(status.status, 'ok');
    assert.ok(status.lastSuccessfulSyncAt);
    assert.ok(!stack.logs.join('\n').includes(SVC_PASSWORD), 'the password never reaches the logs');
  });
});
