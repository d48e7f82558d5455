/**
 * A delegated (per-user OAuth) mailbox end to end, through the same composition `npm start` runs
 * (dev/local-stack.ts, ephemeral): the Functions host with every function of the app, Azurite,
 * Key Vault, the identity provider, the EWS simulator trusting it, and the demo webhook receiver
 * (the customer's application, verifying signatures).
 *
 * An admin creates the tenant and a delegated group through the admin API and invites Alice; she
 * signs in (the IdP's dev auto sign-in); her mailbox syncs with her own token and signed records
 * reach the receiver. Her password changes: the next sync pauses the mailbox (no failure, no
 * retry) and a re-authentication email lands in her inbox; she signs in again through that link
 * and the next sync delivers the mail that arrived meanwhile.
 *
 * The IdP issues 4-minute access tokens here, so every sync redeems Alice's refresh token (as
 * production does once the hour-long token nears expiry); that is where the password change shows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ReceivedBatch } from '../../dev/webhook-receiver/receiver';
import { DEMO_IDENTITY } from '../../dev/identity/demo-seed';
import { startLocalStack } from '../../dev/local-stack';
import type { LocalStack } from '../../dev/local-stack';
import { projectRoot } from '../../dev/project-paths';
import type { ChangeRecord } from '../../shared/delivery/change-batch';
import { SecretString } from '../../shared/logging';
import { createQueueClient } from '../../shared/storage';
import { newSyncJob, storageSyncJobQueue, SYNC_JOBS_QUEUE } from '../../shared/sync/sync-jobs';
import type { SyncJobQueue } from '../../shared/sync/sync-jobs';
import { answerAdminConsent } from '../support/admin-consent-browser';
import { eventually, resultCode } from '../support/eventually';
import { requestJson } from '../support/http-json';
import type { JsonResponse } from '../support/http-json';

const d = DEMO_IDENTITY;
const ALICE = d.users.alice.upn;
const NEW_PASSWORD = 'Alice-Pass2';
const REAUTH_SUBJECT = 'Please sign in again to keep your mailbox connected';

let stack: LocalStack;
let jobs: SyncJobQueue;
let tenantId: string;
let groupId: string;

async function api(method: string, path: string, body?: unknown): Promise<JsonResponse> {
  return requestJson(method, `${stack.apiBaseUrl}/admin${path}`, { headers: { authorization: `Bearer ${stack.adminToken(3600)}` }, body });
}

/** Follows a sign-in link as Alice's browser would, with the local IdP's automatic sign-in. */
async function signIn(link: string, password: string): Promise<string | undefined> {
  const start = await fetch(link, { redirect: 'manual' });
  assert.equal(start.status, 302, await start.text());
  const authorize = new URL(start.headers.get('location')!);
  authorize.searchParams.set('login_hint', ALICE);
  authorize.searchParams.set('dev_password', password);
  authorize.searchParams.set('dev_consent', 'accept');
  const answer = await fetch(authorize, { redirect: 'manual' });
  assert.equal(answer.status, 302, await answer.text());
  const page = await fetch(answer.headers.get('location')!);
  return resultCode(await page.text());
}

function inbox(): { subject?: string; body?: { content?: string } }[] {
  const store = stack.ewsSimulator.store;
  return store.folderItems(store.getFolder(ALICE, { distinguished: 'inbox' } as never)) as { subject?: string; body?: { content?: string } }[];
}

function receivedRecords(): ChangeRecord[] {
  return stack.webhookReceiver.received().filter((b: ReceivedBatch) => b.batch.groupId === groupId).flatMap((b) => [...b.batch.records]);
}

async function mailboxStatus(): Promise<{ status: string; lastError?: { code: string; message: string } }> {
  const response = await api('GET', `/tenants/${tenantId}/groups/${groupId}/mailboxes/${ALICE}`);
  assert.equal(response.status, 200, response.text);
  return response.body;
}

function syncInvocationsSince(mark: Date) {
  return stack.functionsHost!.invocations().filter((r) => r.functionName === 'sync-mailbox' && r.startedAt >= mark);
}

before(async () => {
  stack = await startLocalStack({ projectRoot: projectRoot(), mode: 'ephemeral', identity: { accessTokenLifetimeInSeconds: 240 } });
  const queue = createQueueClient({ kind: 'connectionString', connectionString: new SecretString(stack.azurite.connectionString) }, SYNC_JOBS_QUEUE);
  await queue.createIfNotExists();
  jobs = storageSyncJobQueue(queue);

  const tenant = await api('POST', '/tenants', { displayName: 'Contoso (delegated)', entraTenantId: d.contosoTenantId });
  assert.equal(tenant.status, 201, tenant.text);
  tenantId = tenant.body.id;
  // Admin consent lets the product email invitations and re-authentication links from a Contoso mailbox.
  const consent = await api('POST', `/tenants/${tenantId}/consent`);
  assert.equal((await answerAdminConsent(consent.body.url, d.users.contosoAdmin)).code, 'AdminConsentGranted');
  const settings = await api('PUT', `/tenants/${tenantId}/consent-settings`, { senderMailbox: 'dispatch@contoso.com', emailInvitations: true, emailReauthentication: true });
  assert.equal(settings.status, 200, settings.text);

  const group = await api('POST', `/tenants/${tenantId}/groups`, {
    name: 'Field staff',
    externalId: 'field-delegated',
    mailboxAccessType: 'delegated',
    folders: ['mail', 'calendar'],
    // Long, so the every-minute timer queues the group at most once while the test drives the queue itself.
    pollIntervalMinutes: 60,
    initialSync: { kind: 'all' },
    delivery: { kind: 'webhook', url: stack.webhookReceiver.url },
  });
  assert.equal(group.status, 201, group.text);
  groupId = group.body.id;
  assert.equal((await api('POST', `/tenants/${tenantId}/groups/${groupId}/mailboxes`, { smtpAddress: ALICE })).status, 201);
  const signingKey = await api('POST', `/tenants/${tenantId}/groups/${groupId}/delivery/signing-key`);
  assert.ok(signingKey.body?.secret, signingKey.text);
  stack.useSigningSecret(signingKey.body.secret);
});

after(async () => {
  await stack?.close();
});

describe('delegated mailbox end to end', () => {
  it('invite -> sign in -> sync delivers signed records of the folders on her link only', async () => {
    const invitation = await api('POST', `/tenants/${tenantId}/groups/${groupId}/invitations`, { mailboxes: [ALICE], sendEmail: true });
    assert.equal(invitation.status, 201, invitation.text);
    assert.equal(await signIn(invitation.body.items[0].link, d.users.alice.password), 'SignInCompleted');
    // The admin narrows what is synced for Alice to mail (the group also has calendar).
    const linked = await api('PUT', `/tenants/${tenantId}/groups/${groupId}/mailboxes/${ALICE}/delegated-user`, { userObjectId: d.users.alice.objectId, folders: ['mail'] });
    assert.equal(linked.status, 200, linked.text);

    const mark = new Date();
    await jobs.enqueue(newSyncJob(tenantId, groupId, ALICE, 'manual'));
    const status = await eventually('the mailbox synced', async () => {
      const current = await mailboxStatus();
      return current.status === 'ok' ? current : undefined;
    });
    assert.equal(status.lastError, undefined);
    const inboxCount = inbox().length;
    const records = await eventually('every inbox item reached the receiver', () => {
      const got = receivedRecords();
      return got.length >= inboxCount ? got : undefined;
    });
    assert.deepEqual([...new Set(records.map((r) => r.folder))], ['inbox'], 'calendar is not on her link');
    assert.ok(records.some((r) => r.changeType === 'created' && r.item?.subject === 'Connect your mailbox'), 'her invitation email is in her inbox and was synced');
    assert.ok(records.every((r) => r.mailbox === ALICE));
    assert.deepEqual(stack.webhookReceiver.refused(), [], 'every batch carried a valid signature');
    // The manual job found the sign-in's job holding the lease and was re-queued: on a busy machine it may still be running.
    const settled = await eventually('the sync invocations finished', () => {
      const invocations = syncInvocationsSince(mark);
      return invocations.every((r) => r.status !== 'running') ? invocations : undefined;
    });
    assert.deepEqual(settled.filter((r) => r.status !== 'succeeded').map((r) => r.status), []);
  });

  it('password change -> next sync pauses the mailbox and emails a link -> signing in again resumes and delivers what arrived meanwhile', async () => {
    stack.identity.control.setPassword(ALICE, NEW_PASSWORD);
    stack.ewsSimulator.store.deliverMail({ from: { name: 'Dispatch', address: 'dispatch@contoso.com' }, toRecipients: [{ address: ALICE }], subject: 'Job 4711 after the password change' });

    const mark = new Date();
    await jobs.enqueue(newSyncJob(tenantId, groupId, ALICE, 'manual'));
    const paused = await eventually('the mailbox paused', async () => {
      const current = await mailboxStatus();
      return current.status === 'needsReauthentication' ? current : undefined;
    });
    assert.equal(paused.lastError?.code, 'ReauthenticationRequired');
    assert.match(paused.lastError?.message ?? '', /AADSTS50173/);
    const users = await api('GET', `/tenants/${tenantId}/delegated-users?status=errors`);
    assert.deepEqual(users.body.items.map((u: { userPrincipalName: string; status: string }) => [u.userPrincipalName, u.status]), [[ALICE, 'needsReauthentication']]);
    // Not a failure of the job: the invocation succeeded, so the queue neither retries nor poisons it.
    const invocation = await eventually('the sync invocation ended', () => syncInvocationsSince(mark).find((r) => r.status !== 'running'));
    assert.equal(invocation.status, 'succeeded', invocation.error);

    const email = await eventually('the re-authentication email', () => inbox().find((item) => item.subject === REAUTH_SUBJECT));
    const link = /href="([^"]+)"/.exec(email.body?.content ?? '')?.[1]?.replaceAll('&amp;', '&');
    assert.ok(link, 'the email carries a sign-in link');

    // While paused, further jobs end quietly and deliver nothing.
    const quiet = new Date();
    await jobs.enqueue(newSyncJob(tenantId, groupId, ALICE, 'manual'));
    const skipped = await eventually('the paused job ended', () => syncInvocationsSince(quiet).find((r) => r.status !== 'running'));
    assert.equal(skipped.status, 'succeeded');
    assert.ok(!receivedRecords().some((r) => r.item?.subject === 'Job 4711 after the password change'));

    assert.equal(await signIn(link, NEW_PASSWORD), 'SignInCompleted');
    assert.equal((await mailboxStatus()).status, 'pending', 'a new sign-in resumes the mailbox');

    await jobs.enqueue(newSyncJob(tenantId, groupId, ALICE, 'manual'));
    const delivered = await eventually('the mail that arrived meanwhile reached the receiver', () => receivedRecords().find((r) => r.item?.subject === 'Job 4711 after the password change'));
    assert.equal(delivered.changeType, 'created');
    assert.equal(delivered.folder, 'inbox');
    assert.equal((await eventually('status ok again', async () => ((await mailboxStatus()).status === 'ok' ? 'ok' : undefined))), 'ok');
    assert.deepEqual(stack.webhookReceiver.refused(), []);
    const poison = createQueueClient({ kind: 'connectionString', connectionString: new SecretString(stack.azurite.connectionString) }, `${SYNC_JOBS_QUEUE}-poison`);
    const poisoned = (await poison.exists()) ? (await poison.peekMessages({ numberOfMessages: 32 })).peekedMessageItems.length : 0;
    assert.equal(poisoned, 0, 'no sync job was poisoned');
    // The sign-in queues a sync of its own: a job that found the lease held may still be running; wait for it to end.
    await eventually('running sync jobs ended', () => (syncInvocationsSince(mark).every((r) => r.status !== 'running') ? true : undefined));
    assert.ok(syncInvocationsSince(mark).every((r) => r.status === 'succeeded'), 'no sync invocation failed');
  });
});
