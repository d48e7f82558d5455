/**
 * The worker with delegated (per-user) and app-only groups against the EWS simulator trusting the
 * local identity provider: the user's own token without impersonation, per-user folders, pausing
 * on re-authentication (no failure, no retry, no noise while paused), resuming after a new
 * sign-in, and one token refresh on 401 before giving up (delegated: pause; app-only: error).
 * The delegated token provider is a stand-in minting the IdP's real tokens; the consent module's
 * provider itself runs in test/e2e/delegated-sync.test.ts.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { devStateDir, ensureDevCertificate } from '../../dev/certs';
import { DEMO_IDENTITY, demoIdentitySeed } from '../../dev/identity/demo-seed';
import { startIdentityProvider } from '../../dev/identity/server';
import type { RunningIdentityProvider } from '../../dev/identity/server';
import { projectRoot } from '../../dev/project-paths';
import { ReauthenticationRequiredError } from '../../shared/auth/delegated-token';
import type { DelegatedEwsToken, DelegatedTokenProvider, DelegatedUserRef } from '../../shared/auth/delegated-token';
import { SecretString } from '../../shared/logging';
import type { SyncFolderKind } from '../../shared/storage';
import { createEwsMailboxSource } from '../../shared/sync/ews-mailbox-source';
import { openMailboxClient } from '../../shared/sync/mailbox-access';
import { scheduleDueGroups } from '../../shared/sync/scheduler';
import { newSyncJob } from '../../shared/sync/sync-jobs';
import { runSyncJob } from '../../shared/sync/sync-worker';
import type { DelegatedCredentialsRefused, DelegatedUserLinks, SyncWorkerDependencies } from '../../shared/sync/sync-worker';
import { TENANT, startSyncWorld } from './sync-fixture';
import type { SyncWorld } from './sync-fixture';

const d = DEMO_IDENTITY;
const ALICE = 'alice@contoso.com';
const BOB = 'bob@contoso.com';
const EWS_AUDIENCE = 'https://outlook.office365.com';

/** Mints real delegated tokens at the IdP; can be told to demand a new sign-in or to hand out tokens Exchange refuses. */
class StandInDelegatedTokens implements DelegatedTokenProvider {
  readonly calls: { mailbox: string; forceRefresh: boolean }[] = [];
  mustSignInAgain = new Set<string>();
  refusedByExchange = new Set<string>();

  constructor(private readonly idp: RunningIdentityProvider) {}

  async acquireEwsTokenWithDetails(user: DelegatedUserRef, options: { readonly forceRefresh?: boolean } = {}): Promise<DelegatedEwsToken> {
    const mailbox = (user.mailbox ?? '').toLowerCase();
    this.calls.push({ mailbox, forceRefresh: options.forceRefresh ?? false });
    if (this.mustSignInAgain.has(mailbox)) throw new ReauthenticationRequiredError('RefreshTokenInvalid', 'AADSTS50173: The provided grant has expired due to it being revoked.', user.tenantId, undefined, mailbox);
    const token = this.idp.control.issueUserAccessToken({
      user: mailbox,
      audience: this.refusedByExchange.has(mailbox) ? 'api://not-exchange' : EWS_AUDIENCE,
      scp: 'EWS.AccessAsUser.All',
      appId: d.connectorApp.clientId,
    });
    return { token: new SecretString(token), expiresOn: undefined, userObjectId: mailbox };
  }

  async acquireEwsToken(user: DelegatedUserRef, options?: { readonly forceRefresh?: boolean }): Promise<SecretString> {
    return (await this.acquireEwsTokenWithDetails(user, options)).token;
  }

  forget(): void {}
}

class StandInUserLinks implements DelegatedUserLinks {
  readonly links = new Map<string, { groupId: string; mailbox: string; folders?: readonly SyncFolderKind[] }>();
  async findByMailbox(_tenantId: string, mailbox: string) {
    const link = this.links.get(mailbox.toLowerCase());
    return link ? { link } : undefined;
  }
}

let idp: RunningIdentityProvider;
let world: SyncWorld;
let tokens: StandInDelegatedTokens;
const links = new StandInUserLinks();
const refused: DelegatedCredentialsRefused[] = [];

before(async () => {
  const cert = await ensureDevCertificate(join(devStateDir(projectRoot()), 'certs'));
  idp = await startIdentityProvider({ port: 0, tlsCertificate: { cert: cert.cert, key: cert.key }, seed: demoIdentitySeed() });
  world = await startSyncWorld({
    identityAuthorityHost: idp.url,
    seed: (store) => {
      store.addOrganisation({ id: 'contoso-online', name: 'Contoso online', domains: ['contoso.com'], entraTenantId: d.contosoTenantId });
      store.addMailbox({ smtpAddress: ALICE, displayName: 'Alice', organisationId: 'contoso-online', entraObjectId: d.users.alice.objectId, password: d.users.alice.password });
      store.addMailbox({ smtpAddress: BOB, displayName: 'Bob', organisationId: 'contoso-online', entraObjectId: d.users.bob.objectId, password: d.users.bob.password });
    },
  });
  tokens = new StandInDelegatedTokens(idp);
});

after(async () => {
  await world?.close();
  await idp?.close();
});

function delegatedDeps(extra: Partial<SyncWorkerDependencies> = {}): SyncWorkerDependencies {
  const access = { ...world.access, delegatedTokens: tokens };
  return world.workerDeps({
    openSource: async (group, mailbox) => createEwsMailboxSource(await openMailboxClient(group, { smtpAddress: mailbox.smtpAddress }, access), { sleep: async () => undefined }),
    delegatedUsers: links,
    onDelegatedCredentialsRefused: async (event) => void refused.push(event),
    ...extra,
  });
}

async function addMessage(mailbox: string, subject: string): Promise<void> {
  const response = await fetch(`${world.simulator.controlUrl}/mailboxes/${mailbox}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ folder: 'inbox', item: { kind: 'message', subject } }) });
  assert.equal(response.status, 201, await response.text());
}

function requestsSince(mark: number) {
  return world.simulator.state.requestLog.slice(mark);
}

describe('delegated groups', () => {
  it('sync with the user\'s own token, without impersonation, and only the folders on the user\'s link', async () => {
    await world.addGroup('field', [ALICE, BOB], { mailboxAccessType: 'delegated', impersonation: undefined, credential: undefined, folders: ['mail', 'calendar'] });
    links.links.set(ALICE, { groupId: 'field', mailbox: ALICE, folders: ['mail'] });
    links.links.set(BOB, { groupId: 'field', mailbox: BOB });
    await addMessage(ALICE, 'For Alice');
    await addMessage(BOB, 'For Bob');
    const mark = world.simulator.state.requestLog.length;

    const alice = await runSyncJob(newSyncJob(TENANT, 'field', ALICE, 'scheduled'), delegatedDeps());
    assert.equal(alice.kind, 'completed', JSON.stringify(alice));
    const bob = await runSyncJob(newSyncJob(TENANT, 'field', BOB, 'scheduled'), delegatedDeps());
    assert.equal(bob.kind, 'completed', JSON.stringify(bob));

    const aliceRecords = world.outbox.records(ALICE);
    assert.ok(aliceRecords.some((r) => r.item?.subject === 'For Alice'));
    assert.deepEqual([...new Set(aliceRecords.map((r) => r.folder))], ['inbox'], 'Alice chose mail only');
    const syncs = requestsSince(mark).filter((r) => r.operation === 'SyncFolderItems');
    assert.ok(syncs.length >= 3, 'Alice: inbox; Bob: inbox and calendar');
    for (const request of syncs) {
      assert.equal(request.scheme, 'Bearer');
      assert.equal(request.impersonated, false, 'delegated access never impersonates');
      assert.equal(request.status, 200);
    }
    assert.equal(syncs.filter((r) => r.principal === ALICE).length, 1, 'one folder for Alice');
    assert.equal(syncs.filter((r) => r.principal === BOB).length, 2, 'the group\'s two folders for Bob');
    assert.equal((await world.mailbox('field', ALICE)).status, 'ok');
  });

  it('a user who must sign in again pauses the mailbox without failing the job; paused mailboxes are skipped quietly and resume when set back to pending', async () => {
    tokens.mustSignInAgain.add(ALICE);
    const jobsBefore = world.jobs.sent.length;
    const paused = await runSyncJob(newSyncJob(TENANT, 'field', ALICE, 'scheduled'), delegatedDeps());
    assert.equal(paused.kind, 'paused');
    const status = await world.mailbox('field', ALICE);
    assert.equal(status.status, 'needsReauthentication');
    assert.equal(status.lastError?.code, 'ReauthenticationRequired');
    assert.match(status.lastError?.message ?? '', /must sign in again.*AADSTS50173/);
    assert.equal(world.jobs.sent.length, jobsBefore, 'nothing re-queued');

    // Later polls: the scheduler leaves the mailbox out, and a job that still arrives ends without asking for a token.
    await addMessage(ALICE, 'While paused');
    const scheduled = await scheduleDueGroups({ tenants: world.tenants, groups: world.groups, mailboxes: world.mailboxes, schedule: world.schedule, jobs: world.jobs }, new Date('2031-01-01T00:00:00Z'));
    const fieldJobs = world.jobs.sent.slice(jobsBefore).filter((s) => s.job.groupId === 'field').map((s) => s.job.mailbox);
    assert.deepEqual(fieldJobs, [BOB]);
    assert.ok(scheduled.pausedMailboxes >= 1);
    const callsBefore = tokens.calls.length;
    const skipped = await runSyncJob(newSyncJob(TENANT, 'field', ALICE, 'manual'), delegatedDeps());
    assert.deepEqual(skipped, { kind: 'skipped', reason: 'needsReauthentication' });
    assert.equal(tokens.calls.length, callsBefore, 'no token requested for a paused mailbox');
    assert.ok(!world.outbox.records(ALICE).some((r) => r.item?.subject === 'While paused'));

    // The user signs in again: the consent module sets the mailbox back to pending.
    tokens.mustSignInAgain.delete(ALICE);
    const current = await world.mailboxes.get(TENANT, 'field', ALICE);
    const { etag, lastError: _lastError, ...rest } = current;
    await world.mailboxes.replace({ ...rest, status: 'pending' }, etag);
    const mark = world.jobs.sent.length;
    await scheduleDueGroups({ tenants: world.tenants, groups: world.groups, mailboxes: world.mailboxes, schedule: world.schedule, jobs: world.jobs }, new Date('2031-01-01T01:00:00Z'));
    assert.ok(world.jobs.sent.slice(mark).some((s) => s.job.mailbox === ALICE), 'scheduled again');
    const resumed = await runSyncJob(newSyncJob(TENANT, 'field', ALICE, 'scheduled'), delegatedDeps());
    assert.equal(resumed.kind, 'completed');
    assert.ok(world.outbox.records(ALICE).some((r) => r.item?.subject === 'While paused'), 'the message that arrived while paused is delivered');
    assert.equal((await world.mailbox('field', ALICE)).status, 'ok');
  });

  it('a user who signs in again while a failing job runs keeps the mailbox resumed', async () => {
    await world.addGroup('racing', [ALICE], { mailboxAccessType: 'delegated', impersonation: undefined, credential: undefined });
    // The consent module pauses the mailbox, then Alice signs in again, all before the worker records its outcome.
    const racing: DelegatedTokenProvider = {
      acquireEwsToken: async () => {
        const paused = await world.mailboxes.get(TENANT, 'racing', ALICE);
        const { etag, ...rest } = paused;
        const after = await world.mailboxes.replace({ ...rest, status: 'needsReauthentication', updatedAt: new Date().toISOString() }, etag);
        await world.mailboxes.replace({ ...rest, status: 'pending', updatedAt: new Date(Date.now() + 1).toISOString() }, after.etag);
        throw new ReauthenticationRequiredError('RefreshTokenInvalid', 'AADSTS50173', TENANT, undefined, ALICE);
      },
      acquireEwsTokenWithDetails: async () => assert.fail('not used'),
      forget: () => undefined,
    };
    const access = { ...world.access, delegatedTokens: racing };
    const outcome = await runSyncJob(
      newSyncJob(TENANT, 'racing', ALICE, 'scheduled'),
      world.workerDeps({ openSource: async (group, mailbox) => createEwsMailboxSource(await openMailboxClient(group, { smtpAddress: mailbox.smtpAddress }, access)) }),
    );
    assert.equal(outcome.kind, 'paused');
    assert.equal((await world.mailbox('racing', ALICE)).status, 'pending', 'the newer sign-in wins over the stale failure');
  });

  it('a token Exchange refuses even after one refresh pauses the mailbox and marks the user for re-authentication', async () => {
    tokens.refusedByExchange.add(BOB);
    const callsBefore = tokens.calls.length;
    const outcome = await runSyncJob(newSyncJob(TENANT, 'field', BOB, 'manual'), delegatedDeps());
    assert.equal(outcome.kind, 'paused', JSON.stringify(outcome));
    assert.deepEqual(tokens.calls.slice(callsBefore).map((c) => c.forceRefresh), [false, true], 'one refresh after the 401, then give up');
    const status = await world.mailbox('field', BOB);
    assert.equal(status.status, 'needsReauthentication');
    assert.equal(status.lastError?.code, 'AuthenticationFailed');
    assert.deepEqual(refused.map((e) => e.mailbox), [BOB]);
    tokens.refusedByExchange.delete(BOB);
  });
});

describe('app-only groups', () => {
  before(async () => {
    world.secrets.set('connector-secret', new SecretString(d.connectorApp.clientSecret));
    world.secrets.set('own-app-secret', new SecretString(d.appIdentity.clientSecret));
  });

  async function addAppOnlyGroup(id: string, entraTenantId: string, clientId: string, secretName: string): Promise<void> {
    await world.addGroup(id, [ALICE], {
      mailboxAccessType: 'appOnly',
      impersonation: undefined,
      appOnly: { entraTenantId, clientId },
      credential: { kind: 'clientSecret', secretName, secretVersion: 'v1', updatedAt: new Date().toISOString() },
    });
  }

  it('a token Exchange refuses is fetched fresh from Entra once, then the mailbox shows an actionable error', async () => {
    // A real token, but from the wrong Entra tenant (the operator's, which Exchange does not know).
    await addAppOnlyGroup('wrong-tenant', d.operatorTenantId, d.appIdentity.clientId, 'own-app-secret');
    const mark = world.simulator.state.requestLog.length;
    const outcome = await runSyncJob(newSyncJob(TENANT, 'wrong-tenant', ALICE, 'manual'), world.workerDeps());
    assert.equal(outcome.kind, 'failed', JSON.stringify(outcome));
    const unauthorized = requestsSince(mark).filter((r) => r.status === 401);
    assert.equal(unauthorized.length, 2, `the first token and one refreshed token; ${JSON.stringify(outcome)}`);
    const status = await world.mailbox('wrong-tenant', ALICE);
    assert.equal(status.status, 'error', 'an administrator must act: not a user re-authentication');
    assert.equal(status.lastError?.code, 'AuthenticationFailed');
    assert.match(status.lastError?.message ?? '', /Exchange refused the token .* even after a fresh token/);
    assert.match(status.lastError?.message ?? '', /full_access_as_app/);
  });

  it('Entra refusing to issue a token (no admin consent) is an error naming Entra\'s reason', async () => {
    await addAppOnlyGroup('not-consented', d.contosoTenantId, d.connectorApp.clientId, 'connector-secret');
    const mark = world.simulator.state.requestLog.length;
    const outcome = await runSyncJob(newSyncJob(TENANT, 'not-consented', ALICE, 'manual'), world.workerDeps());
    assert.equal(outcome.kind, 'failed', JSON.stringify(outcome));
    assert.equal(requestsSince(mark).length, 0, 'Exchange is never called without a token');
    const status = await world.mailbox('not-consented', ALICE);
    assert.equal(status.status, 'error');
    assert.equal(status.lastError?.code, 'AuthenticationFailed');
    assert.match(status.lastError?.message ?? '', /Entra ID did not issue a token.*AADSTS700016/);
    assert.ok(!(status.lastError?.message ?? '').includes(d.connectorApp.clientSecret));
  });
});
