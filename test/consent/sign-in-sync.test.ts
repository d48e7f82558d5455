/**
 * A completed sign-in queues its mailbox's sync at once (reason `signIn` on the `sync-jobs`
 * queue), the first time and after re-authentication, instead of waiting for the group's next
 * poll. Best effort: a queue failure leaves the sign-in completed and is logged. The stack loads
 * no sync function, so queued jobs stay on the queue for the test to read.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { QueueClient } from '@azure/storage-queue';
import { ReauthenticationRequiredError } from '../../shared/auth/delegated-token';
import { completeSignIn } from '../../shared/consent/sign-in';
import { createLogger } from '../../shared/logging';
import { decodeQueueMessage } from '../../shared/storage';
import { parseSyncJob, SYNC_JOBS_QUEUE } from '../../shared/sync/sync-jobs';
import type { SyncJob } from '../../shared/sync/sync-jobs';
import { d, resultCode, startConsentStack } from './consent-stack';
import type { ConsentStack } from './consent-stack';

const ALICE = 'alice@contoso.com';
const BOB = 'bob@contoso.com';

let stack: ConsentStack;
let tenantId: string;
let groupId: string;

before(async () => {
  stack = await startConsentStack();
  const tenant = await stack.request('POST', '/api/admin/tenants', { displayName: 'Contoso sign-in sync', entraTenantId: d.contosoTenantId });
  assert.equal(tenant.status, 201, tenant.text);
  tenantId = tenant.body.id;
  const group = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, { name: 'Field staff', externalId: 'field', mailboxAccessType: 'delegated', folders: ['mail'] });
  assert.equal(group.status, 201, group.text);
  groupId = group.body.id;
  for (const smtpAddress of [ALICE, BOB]) {
    const added = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups/${groupId}/mailboxes`, { smtpAddress });
    assert.equal(added.status, 201, added.text);
  }
});

after(async () => {
  await stack?.close();
});

/** Every job on the sync-jobs queue (peeked, so they stay), oldest first. */
async function queuedSyncJobs(): Promise<SyncJob[]> {
  const queue = new QueueClient(stack.settings.AzureWebJobsStorage!, SYNC_JOBS_QUEUE);
  if (!(await queue.exists())) return [];
  const peeked = await queue.peekMessages({ numberOfMessages: 32 });
  return peeked.peekedMessageItems.map((message) => parseSyncJob(decodeQueueMessage(message.messageText)));
}

async function signInJobsFor(mailbox: string): Promise<SyncJob[]> {
  return (await queuedSyncJobs()).filter((job) => job.mailbox === mailbox && job.reason === 'signIn');
}

async function invitationLink(mailbox: string): Promise<string> {
  const created = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups/${groupId}/invitations`, { mailboxes: [mailbox], sendEmail: false });
  assert.equal(created.status, 201, created.text);
  return created.body.items[0].link;
}

/** Start -> Entra authorize (dev auto sign-in) -> the callback URL Entra redirects the browser to. */
async function callbackAfterSignIn(link: string, user: { upn: string; password: string }): Promise<string> {
  const start = await fetch(link, { redirect: 'manual' });
  assert.equal(start.status, 302, await start.text());
  const authorize = new URL(start.headers.get('location')!);
  authorize.searchParams.set('login_hint', user.upn);
  authorize.searchParams.set('dev_password', user.password);
  authorize.searchParams.set('dev_consent', 'accept');
  const answer = await fetch(authorize, { redirect: 'manual' });
  assert.equal(answer.status, 302, await answer.text());
  return answer.headers.get('location')!;
}

async function signIn(mailbox: string, user: { upn: string; password: string }): Promise<void> {
  const page = await fetch(await callbackAfterSignIn(await invitationLink(mailbox), user));
  const html = await page.text();
  assert.equal(page.status, 200, html);
  assert.equal(resultCode(html), 'SignInCompleted');
}

async function mailboxStatus(mailbox: string): Promise<string> {
  const response = await stack.request('GET', `/api/admin/tenants/${tenantId}/groups/${groupId}/mailboxes/${mailbox}`);
  assert.equal(response.status, 200, response.text);
  return response.body.status;
}

describe('a completed sign-in syncs the mailbox now', () => {
  test('first sign-in queues one sync job for the mailbox, visible at once', async () => {
    assert.deepEqual(await signInJobsFor(ALICE), []);
    const before = Date.now();
    await signIn(ALICE, d.users.alice);
    const jobs = await signInJobsFor(ALICE);
    assert.equal(jobs.length, 1, JSON.stringify(await queuedSyncJobs()));
    assert.equal(jobs[0]!.tenantId, tenantId);
    assert.equal(jobs[0]!.groupId, groupId);
    assert.ok(Date.parse(jobs[0]!.enqueuedAt) >= before - 1000);
    assert.deepEqual(await signInJobsFor(BOB), [], 'only the signed-in user\'s mailbox');
    assert.ok(stack.logs.some((line) => line.includes('Sync queued after sign-in')), 'the host logged the queued sync');
  });

  test('signing in again after needsReauthentication resumes the mailbox and queues its sync', async () => {
    stack.idp.control.setPassword(d.users.alice.upn, 'Alice-Resume-Pass2');
    await assert.rejects(stack.inProcess.tokens.acquireEwsToken({ tenantId, mailbox: ALICE }, { forceRefresh: true }), (error: unknown) => error instanceof ReauthenticationRequiredError);
    assert.equal(await mailboxStatus(ALICE), 'needsReauthentication');
    const queuedBefore = (await signInJobsFor(ALICE)).length;

    await signIn(ALICE, { upn: d.users.alice.upn, password: 'Alice-Resume-Pass2' });
    assert.equal(await mailboxStatus(ALICE), 'pending');
    assert.equal((await signInJobsFor(ALICE)).length, queuedBefore + 1);
  });

  test('signing in again also resumes the mailboxes linked to the user (a shared mailbox reached with her token)', async () => {
    const DISPATCH = 'dispatch@contoso.com';
    const linked = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups/${groupId}/mailboxes`, { smtpAddress: DISPATCH, delegatedUserObjectId: d.users.alice.objectId });
    assert.equal(linked.status, 201, linked.text);
    // What the sync worker records when the linked mailbox's job finds that Alice must sign in again.
    const stored = (await stack.inProcess.mailboxes.find(tenantId, groupId, DISPATCH))!;
    const { etag, ...record } = stored;
    await stack.inProcess.mailboxes.replace({ ...record, status: 'needsReauthentication', lastError: { code: 'ReauthenticationRequired', message: 'Alice must sign in again', at: new Date().toISOString() } }, etag);
    const queuedBefore = (await signInJobsFor(DISPATCH)).length;

    await signIn(ALICE, { upn: d.users.alice.upn, password: 'Alice-Resume-Pass2' });
    assert.equal(await mailboxStatus(DISPATCH), 'pending');
    assert.equal((await signInJobsFor(DISPATCH)).length, queuedBefore + 1, 'its sync is queued too');
  });

  test('a queue failure does not fail the sign-in: the page says connected and a warning is logged', async () => {
    const callback = new URL(await callbackAfterSignIn(await invitationLink(BOB), d.users.bob));
    const lines: string[] = [];
    const failingQueue = { enqueue: async () => Promise.reject(new Error('queue unavailable (injected)')) };
    const page = await completeSignIn({ ...stack.inProcess, syncJobs: failingQueue }, callback.searchParams, createLogger({}, (level, line) => lines.push(`${level} ${line}`)));
    assert.equal(page.code, 'SignInCompleted', page.message);
    assert.equal(page.status, 200);
    const warning = lines.find((line) => line.includes('Could not queue the sync after sign-in'));
    assert.ok(warning, lines.join('\n'));
    assert.match(warning, /^warn/);
    assert.match(warning, /queue unavailable \(injected\)/);
    assert.deepEqual(await signInJobsFor(BOB), []);
    const users = await stack.request('GET', `/api/admin/tenants/${tenantId}/delegated-users`);
    assert.ok(users.body.items.some((user: { userPrincipalName: string }) => user.userPrincipalName === BOB), 'bob is signed in');
  });
});
