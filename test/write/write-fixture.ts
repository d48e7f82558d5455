/**
 * The write-back tests' world: the production function files (write API + write-operation queue
 * function + sync-mailbox) in the local Functions host with Azurite, Key Vault, the identity
 * provider and the EWS simulator; two connector tenants (the second one the attacker's), an
 * impersonation group per tenant, recording outboxes for sync records and operation results.
 * With `protocol: 'graph'` the groups are app-only Graph groups (the customer's own app, consented
 * in Contoso's Entra tenant) and the Graph simulator serves the same mailbox store.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { QueueClient } from '@azure/storage-queue';
import { DEMO_IDENTITY } from '../../dev/identity/demo-seed';
import type { ChangeBatch, ChangeRecord, OperationResultEvent } from '../../shared/delivery/change-batch';
import { SecretString } from '../../shared/logging';
import { secretNames } from '../../shared/secrets';
import { GroupsRepository, MailboxesRepository, TableStorage, TenantsRepository } from '../../shared/storage';
import { useSyncOverrides } from '../../shared/sync/sync-composition';
import { useWriteOverrides } from '../../shared/write/write-composition';
import { storageWriteJobQueue, WRITE_OPERATIONS_QUEUE } from '../../shared/write/write-jobs';
import type { WriteOperationRequest } from '../../shared/write/write-operation';
import { WriteStore } from '../../shared/write/write-store';
import { startConnectorStack } from '../support/connector-stack';
import type { ConnectorStack } from '../support/connector-stack';
import { requestJson } from '../support/http-json';
import type { JsonResponse } from '../support/http-json';
import { RecordingOutbox } from '../sync/sync-fixture';

export const MASTER_KEY = 'write-test-master-key';
export const SVC = 'svc@contoso.test';
export const SVC_PASSWORD = 'Contoso-Svc-Pass1';
export const ALICE = 'alice@contoso.test';
export const BOB = 'bob@contoso.test';
export const CAROL = 'carol@contoso.test';
/** In Exchange and the other tenant's group; never in ours. */
export const MALLORY = 'mallory@contoso.test';

export interface WriteWorld {
  readonly stack: ConnectorStack;
  readonly tenantId: string;
  readonly groupId: string;
  readonly otherTenantId: string;
  readonly otherGroupId: string;
  readonly syncOutbox: RecordingOutbox;
  readonly resultOutbox: RecordingOutbox;
  readonly storage: TableStorage;
  adminToken(): string;
  tenantAdminToken(tenantIds: readonly string[]): string;
  api(method: string, path: string, body?: unknown, token?: string | null): Promise<JsonResponse>;
  control(method: string, path: string, body?: unknown): Promise<any>;
  submit(body: Record<string, unknown>, mailbox?: string): Promise<any>;
  /** Polls GET .../operations/{id} until the operation is finished. */
  waitFor(operationId: string, mailbox?: string): Promise<any>;
  /** Runs one sync-mailbox job for the mailbox and returns the records it delivered. */
  sync(mailbox?: string): Promise<ChangeRecord[]>;
  results(): OperationResultEvent[];
  /**
   * Stores `request` as the API would and runs it in a child process (the real runtime) that
   * SIGKILLs itself right after Exchange answered, before any bookkeeping; then puts the job back
   * on the queue, as its visibility timeout would, for the host's worker. Returns the operation id.
   */
  crashAfterExchangeThenRedeliver(request: WriteOperationRequest, options?: { readonly mailbox?: string; readonly beforeRedelivery?: () => Promise<void> }): Promise<string>;
  close(): Promise<void>;
}

/** The customer's own Entra app of the Graph groups (application permissions, admin-consented). */
export const CUSTOMER_APP = 'c0ffee00-0000-4000-8000-0000000c0517';
const CUSTOMER_SECRET = 'contoso-crm-writer-secret';

export interface WriteWorldOptions {
  /** Default 'ews' (impersonation groups); 'graph': app-only Graph groups. */
  readonly protocol?: 'ews' | 'graph';
}

export async function startWriteWorld(options: WriteWorldOptions = {}): Promise<WriteWorld> {
  const graph = options.protocol === 'graph';
  const tenantId = randomUUID();
  const groupId = randomUUID();
  const otherTenantId = randomUUID();
  const otherGroupId = randomUUID();
  const syncOutbox = new RecordingOutbox();
  const resultOutbox = new RecordingOutbox();
  let controlUrl = '';
  const control = async (method: string, path: string, body?: unknown): Promise<any> => {
    const response = await fetch(`${controlUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
    return response.status === 204 ? undefined : response.json();
  };
  const stack = await startConnectorStack({
    functions: ['write-operations', 'sync-mailbox'],
    ews: {
      seed: (store) => {
        store.addOrganisation({ id: 'contoso', name: 'Contoso', domains: ['contoso.test'], ...(graph ? { entraTenantId: DEMO_IDENTITY.contosoTenantId } : {}) });
        for (const address of [ALICE, BOB, CAROL, MALLORY]) store.addMailbox({ smtpAddress: address, displayName: address.split('@')[0]!, password: 'User-Pass1' });
        store.addServiceAccount({ userPrincipalName: SVC, password: SVC_PASSWORD, organisationId: 'contoso' });
        store.grantImpersonation({ organisationId: 'contoso', principal: SVC, scope: { kind: 'all' } });
      },
    },
    ...(graph ? { graph: {} } : {}),
    functionKeys: { masterKey: MASTER_KEY },
    queues: { maxPollingIntervalInMs: 200, visibilityTimeoutInMs: 0 },
    shutdownGracePeriodInMs: 5_000,
    beforeHost: async ({ azurite, secrets, ews, idp }) => {
      controlUrl = ews!.controlUrl;
      if (graph) {
        idp.control.addApp({
          appId: CUSTOMER_APP,
          displayName: 'Contoso CRM writer',
          homeTenantId: DEMO_IDENTITY.contosoTenantId,
          secrets: [{ value: CUSTOMER_SECRET, displayName: 'write tests' }],
          requiredResourceAccess: [{ resource: 'https://graph.microsoft.com', applicationPermissions: ['Mail.ReadWrite', 'Calendars.ReadWrite', 'Contacts.ReadWrite', 'Tasks.ReadWrite.All'] }],
        });
        idp.control.grantAdminConsent(DEMO_IDENTITY.contosoTenantId, CUSTOMER_APP);
      }
      const storage = new TableStorage({ storage: { kind: 'connectionString', connectionString: new SecretString(azurite.connectionString) } });
      const at = new Date().toISOString();
      for (const [tenant, group, mailbox] of [[tenantId, groupId, ALICE], [otherTenantId, otherGroupId, MALLORY]] as const) {
        const secretName = graph ? secretNames.groupClientSecret(tenant, group) : secretNames.groupPassword(tenant, group);
        const stored = await secrets.setSecret(secretName, new SecretString(graph ? CUSTOMER_SECRET : SVC_PASSWORD));
        await new TenantsRepository(storage).create({ id: tenant, displayName: tenant, status: 'active', createdAt: at, updatedAt: at });
        const access = graph
          ? { mailboxAccessType: 'appOnly' as const, protocol: 'graph' as const, appOnly: { entraTenantId: DEMO_IDENTITY.contosoTenantId, clientId: CUSTOMER_APP } }
          : { mailboxAccessType: 'impersonation' as const, impersonation: { serviceAccount: SVC, authScheme: 'basic' as const } };
        await new GroupsRepository(storage).create({
          tenantId: tenant, id: group, name: 'Sales', externalId: `sales-${tenant}`, ...access,
          credential: { kind: graph ? 'clientSecret' : 'password', secretName, secretVersion: stored.version, updatedAt: at },
          folders: ['mail', 'calendar', 'contacts', 'tasks'], pollIntervalMinutes: 60, initialSync: { kind: 'all' }, enabled: true, createdAt: at, updatedAt: at,
        });
        await new MailboxesRepository(storage).create({ tenantId: tenant, groupId: group, smtpAddress: mailbox, enabled: true, status: 'pending', counts: { created: 0, updated: 0, deleted: 0 }, createdAt: at, updatedAt: at });
      }
      useSyncOverrides({ outbox: syncOutbox });
      // Short re-queue delays: the crash test's redelivered job meets the dead worker's lease once.
      useWriteOverrides({ outbox: resultOutbox, limits: { busyRetryDelayInMs: 1_000 } });
    },
  });
  const storage = new TableStorage({ storage: { kind: 'connectionString', connectionString: new SecretString(stack.azurite.connectionString) } });
  const mint = (roles: string[], extraClaims: Record<string, unknown> = {}) =>
    stack.idp.control.issueAccessToken({ tenantId: DEMO_IDENTITY.operatorTenantId, audience: DEMO_IDENTITY.adminApi.audience, roles, oid: DEMO_IDENTITY.users.operatorAdmin.objectId, name: 'CRM', upn: 'crm@operator.example.com', extraClaims });
  const adminToken = () => mint(['Connector.Admin']);
  const base = (mailbox: string) => `/api/admin/tenants/${tenantId}/groups/${groupId}/mailboxes/${encodeURIComponent(mailbox)}`;
  const api = (method: string, path: string, body?: unknown, token: string | null = adminToken()) =>
    requestJson(method, stack.host.url + path, { headers: token === null ? {} : { authorization: `Bearer ${token}` }, ...(body !== undefined ? { body } : {}) });

  const world: WriteWorld = {
    stack, tenantId, groupId, otherTenantId, otherGroupId, syncOutbox, resultOutbox, storage,
    adminToken,
    tenantAdminToken: (tenantIds) => mint(['Connector.TenantAdmin'], { connector_tenants: [...tenantIds] }),
    api,
    control,
    async submit(body, mailbox = ALICE) {
      const response = await api('POST', `${base(mailbox)}/operations`, body);
      assert.equal(response.status, 202, `${response.text}\n${stack.logs.filter((l) => /error|warn/i.test(l)).slice(-5).join('\n')}`);
      assert.match(response.headers.get('location') ?? '', new RegExp(`/operations/${response.body.operationId}$`));
      return response.body;
    },
    async waitFor(operationId, mailbox = ALICE) {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const response = await api('GET', `${base(mailbox)}/operations/${operationId}`);
        assert.equal(response.status, 200, response.text);
        if (['succeeded', 'conflict', 'failed'].includes(response.body.status)) return response.body;
        if (Date.now() > deadline) assert.fail(`operation ${operationId} still ${response.body.status}; logs:\n${stack.logs.slice(-30).join('\n')}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async sync(mailbox = ALICE) {
      const before = syncOutbox.batches.length;
      const since = Date.now();
      const response = await fetch(`${stack.host.url}/admin/functions/sync-mailbox`, {
        method: 'POST',
        headers: { 'x-functions-key': MASTER_KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ input: JSON.stringify({ version: 1, tenantId, groupId, mailbox, reason: 'manual', enqueuedAt: new Date().toISOString() }) }),
      });
      assert.equal(response.status, 202);
      const run = await stack.host.waitForInvocation((r) => r.functionName === 'sync-mailbox' && r.startedAt.getTime() >= since && r.status !== 'running', { timeoutInMs: 20_000 });
      assert.equal(run.status, 'succeeded', run.error);
      return syncOutbox.batches.slice(before).flatMap((batch: ChangeBatch) => batch.records);
    },
    results: () => resultOutbox.batches.flatMap((batch) => batch.operationResults ?? []),
    async crashAfterExchangeThenRedeliver(request, options = {}) {
      const mailbox = options.mailbox ?? ALICE;
      const store = new WriteStore(storage);
      const key = { tenantId, groupId, mailbox };
      const operationId = randomUUID();
      assert.equal(await store.claimKey(key, request.idempotencyKey, operationId), operationId);
      await store.saveOperation({ ...key, operationId, request, status: 'queued', attempts: 0, acceptedAt: new Date().toISOString() });
      const job = { v: 1 as const, ...key, operationId, enqueuedAt: new Date().toISOString() };
      const child = spawn(process.execPath, [join(__dirname, 'crash-child.js')], { env: { ...process.env, ...stack.settings, CRASH_WRITE_JOB: JSON.stringify(job) }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
      assert.equal(signal, 'SIGKILL', `child exited ${code}: ${output}`);
      assert.match(output, /exchange answered/);
      assert.equal((await store.findOperation(key, operationId))?.status, 'running', 'no bookkeeping happened');
      await options.beforeRedelivery?.();
      await storageWriteJobQueue(new QueueClient(stack.azurite.connectionString, WRITE_OPERATIONS_QUEUE)).enqueue(job);
      return operationId;
    },
    async close() {
      await stack.close();
      useSyncOverrides({});
      useWriteOverrides({});
    },
  };
  return world;
}
