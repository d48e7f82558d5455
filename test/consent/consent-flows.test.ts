import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConsentStateSigner } from '../../shared/auth/consent-state';
import { ReauthenticationRequiredError, delegatedEwsCredential } from '../../shared/auth/delegated-token';
import { createMailboxClient, checkMailboxAccess } from '../../shared/ews';
import { secretNames } from '../../shared/secrets/secret-names';
import { answerAdminConsent as answerConsentInBrowser } from '../support/admin-consent-browser';
import { d, resultCode, startConsentStack } from './consent-stack';
import type { ConsentStack } from './consent-stack';

let stack: ConsentStack;
const FABRIKAM = '00000000-0000-4000-8000-0000000000f2';

before(async () => {
  stack = await startConsentStack();
  stack.idp.control.addTenant({ id: FABRIKAM, displayName: 'Fabrikam', domains: ['fabrikam.com'] });
  stack.idp.control.addUser({ tenantId: FABRIKAM, userPrincipalName: 'admin@fabrikam.com', password: 'Fabrikam-Admin-Pass1', displayName: 'Fabrikam Admin', isTenantAdmin: true });
});

after(async () => {
  await stack?.close();
});

/** Many test tenants share Contoso: a Connector.Admin allows it (the binding rule is tested in security-binding.test.ts). */
async function createTenant(displayName: string, entraTenantId?: string): Promise<string> {
  const created = await stack.request('POST', '/api/admin/tenants', { displayName, allowSharedEntraTenant: true, ...(entraTenantId ? { entraTenantId } : {}) });
  assert.equal(created.status, 201, created.text);
  return created.body.id as string;
}

/** Follows an admin-consent link as the customer's admin would (both legs: consent prompt, then the proving sign-in). */
function answerAdminConsent(url: string, admin: { upn: string; password: string }, decision: 'accept' | 'decline', tweakSignIn?: (signIn: URL) => void) {
  return answerConsentInBrowser(url, admin, { decision, ...(tweakSignIn ? { tweakSignIn } : {}) });
}

async function openCallback(url: string): Promise<{ status: number; code: string | undefined; html: string }> {
  const page = await fetch(url);
  const html = await page.text();
  return { status: page.status, code: resultCode(html), html };
}

describe('admin consent to the connector app', () => {
  test('refused consent is recorded with Entra\'s error text and shows a page', async () => {
    const tenantId = await createTenant('Contoso refusing', d.contosoTenantId);
    const link = await stack.request('POST', `/api/admin/tenants/${tenantId}/consent`);
    assert.equal(link.status, 200, link.text);
    assert.equal(link.body.redirectUri, `${stack.baseUrl}/api/consent/admin/callback`);
    const result = await answerAdminConsent(link.body.url, d.users.contosoAdmin, 'decline');
    assert.equal(result.code, 'AdminConsentRefused');
    assert.match(result.html, /AADSTS65004/);
    const status = await stack.request('GET', `/api/admin/tenants/${tenantId}/consent`);
    assert.equal(status.body.status, 'refused');
    assert.equal(status.body.error.code, 'access_denied');
    assert.match(status.body.error.description, /AADSTS65004/);
    assert.equal(status.body.requestedBy, 'Operator Admin');
  });

  test('granted consent is recorded once; replaying the callback is refused and changes nothing', async () => {
    const tenantId = await createTenant('Contoso without Entra id');
    const link = await stack.request('POST', `/api/admin/tenants/${tenantId}/consent`);
    const result = await answerAdminConsent(link.body.url, d.users.contosoAdmin, 'accept');
    assert.equal(result.status, 200, result.html);
    assert.equal(result.code, 'AdminConsentGranted');
    const status = await stack.request('GET', `/api/admin/tenants/${tenantId}/consent`);
    assert.equal(status.body.status, 'granted');
    assert.equal(status.body.entraTenantId, d.contosoTenantId);
    const tenant = await stack.request('GET', `/api/admin/tenants/${tenantId}`);
    assert.equal(tenant.body.entraTenantId, d.contosoTenantId, 'the tenant learns its Entra tenant from the consent');

    const replay = await openCallback(result.callback);
    assert.equal(replay.status, 400);
    assert.equal(replay.code, 'StateReplayed');
    const forgedRefusal = await openCallback(result.callback.replace('admin_consent=True', 'error=access_denied&error_description=forged'));
    assert.equal(forgedRefusal.code, 'StateReplayed');
    assert.equal((await stack.request('GET', `/api/admin/tenants/${tenantId}/consent`)).body.status, 'granted');
  });

  test('consent granted by another organisation than the tenant\'s is refused and nothing is stored', async () => {
    const tenantId = await createTenant('Contoso expecting its own admin', d.contosoTenantId);
    const link = await stack.request('POST', `/api/admin/tenants/${tenantId}/consent`);
    // The link names Contoso's authority; an admin of Fabrikam answering through /organizations comes back with tenant=Fabrikam.
    const url = new URL(link.body.url);
    url.pathname = url.pathname.replace(d.contosoTenantId, 'organizations');
    // The sign-in that proves the grant is sent to Contoso's authority too; the attacker reroutes it to /organizations as well.
    const result = await answerAdminConsent(url.href, { upn: 'admin@fabrikam.com', password: 'Fabrikam-Admin-Pass1' }, 'accept', (signIn) => {
      signIn.pathname = signIn.pathname.replace(d.contosoTenantId, 'organizations');
    });
    // The code was issued by /organizations but is redeemed at Contoso's authority (the link's), so Entra refuses it.
    assert.equal(result.status, 400, result.html);
    assert.equal(result.code, 'AdminVerificationFailed');
    assert.equal((await stack.request('GET', `/api/admin/tenants/${tenantId}/consent`)).body.status, 'notRequested');
    assert.equal((await stack.request('GET', `/api/admin/tenants/${tenantId}`)).body.entraTenantId, d.contosoTenantId);
  });

  test('forged, altered, expired, wrong-purpose and missing states are refused with a page', async () => {
    const tenantId = await createTenant('Contoso state checks', d.contosoTenantId);
    const callback = `${stack.baseUrl}/api/consent/admin/callback`;
    const issued = await stack.inProcess.states.issue({ purpose: 'adminConsent', tenantId, entraTenantId: d.contosoTenantId });
    const [version, payload, signature] = issued.state.split('.');
    const otherTenantPayload = Buffer.from(Buffer.from(payload!, 'base64url').toString().replace(tenantId, '11111111-1111-4111-8111-111111111111')).toString('base64url');
    const cases: [string, string][] = [
      ['StateMissing', ''],
      ['StateMalformed', 'not-a-state'],
      ['StateSignatureInvalid', `${version}.${otherTenantPayload}.${signature}`],
      ['StateSignatureInvalid', `${version}.${payload}.${'A'.repeat(43)}`],
    ];
    const expired = await new ConsentStateSigner({ vault: stack.secrets, now: () => Date.now() - 3600_000 }).issue({ purpose: 'adminConsent', tenantId });
    cases.push(['StateExpired', expired.state]);
    const signIn = await stack.inProcess.states.issue({ purpose: 'signIn', tenantId });
    cases.push(['StateWrongPurpose', signIn.state]);
    for (const [code, state] of cases) {
      const page = await openCallback(`${callback}?admin_consent=True&tenant=${d.contosoTenantId}&state=${encodeURIComponent(state)}`);
      assert.equal(page.code, code, `state ${state.slice(0, 30)}`);
      assert.ok(page.status === 400 || page.status === 403);
    }
    assert.equal((await stack.request('GET', `/api/admin/tenants/${tenantId}/consent`)).body.status, 'notRequested');
  });
});

describe('delegated users: invitation, sign-in, token lifecycle', () => {
  let tenantId: string;
  let groupId: string;

  before(async () => {
    tenantId = await createTenant('Contoso delegated', d.contosoTenantId);
    // Admin consent lets the product send emails from the sender mailbox with the connector app.
    const link = await stack.request('POST', `/api/admin/tenants/${tenantId}/consent`);
    assert.equal((await answerAdminConsent(link.body.url, d.users.contosoAdmin, 'accept')).code, 'AdminConsentGranted');
    const group = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, { name: 'Field staff', externalId: 'field', mailboxAccessType: 'delegated', folders: ['mail', 'calendar'] });
    assert.equal(group.status, 201, group.text);
    groupId = group.body.id;
    for (const smtpAddress of ['alice@contoso.com', 'bob@contoso.com', 'carol@contoso.com']) {
      assert.equal((await stack.request('POST', `/api/admin/tenants/${tenantId}/groups/${groupId}/mailboxes`, { smtpAddress })).status, 201);
    }
    const settings = await stack.request('PUT', `/api/admin/tenants/${tenantId}/consent-settings`, { senderMailbox: 'dispatch@contoso.com', emailInvitations: true, emailReauthentication: true });
    assert.equal(settings.status, 200, settings.text);
  });

  async function invite(mailbox: string, sendEmail = false): Promise<{ code: string; link: string; id: string; email?: { sentAt?: string; error?: string } }> {
    const created = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups/${groupId}/invitations`, { mailboxes: [mailbox], sendEmail, message: 'Please connect before Friday.' });
    assert.equal(created.status, 201, created.text);
    return created.body.items[0];
  }

  /** Opens an invitation link like a browser: start -> Entra authorize (dev auto sign-in) -> our callback. */
  async function signInThrough(link: string, user: { upn: string; password: string }, tweak?: (authorize: URL) => void): Promise<{ status: number; code: string | undefined; html: string; callback: string }> {
    const start = await fetch(link, { redirect: 'manual' });
    assert.equal(start.status, 302, await start.text());
    const authorize = new URL(start.headers.get('location')!);
    assert.equal(authorize.origin, stack.idp.url);
    assert.equal(authorize.searchParams.get('redirect_uri'), `${stack.baseUrl}/api/consent/signin/callback`);
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(authorize.searchParams.get('nonce'));
    authorize.searchParams.set('login_hint', user.upn);
    authorize.searchParams.set('dev_password', user.password);
    authorize.searchParams.set('dev_consent', 'accept');
    tweak?.(authorize);
    const answer = await fetch(authorize, { redirect: 'manual' });
    assert.equal(answer.status, 302, await answer.text());
    const callback = answer.headers.get('location')!;
    const page = await openCallback(callback);
    return { ...page, callback };
  }

  function inboxSubjects(mailbox: string): string[] {
    const folder = stack.ews.store.getFolder(mailbox, { distinguished: 'inbox' } as never);
    return stack.ews.store.folderItems(folder).map((item) => (item as { subject?: string }).subject ?? '');
  }

  function ewsClientFor(mailbox: string) {
    return createMailboxClient(stack.ews.url, delegatedEwsCredential(stack.inProcess.tokens, { tenantId, mailbox }), { mailbox, access: 'delegated', allowInsecureHttp: true });
  }

  test('invitation email -> sign-in -> token cache in Key Vault only -> EWS call with the delegated token', async () => {
    const invitation = await invite('alice@contoso.com', true);
    assert.match(invitation.code, /^[A-Z2-9]{4}(-[A-Z2-9]{4}){3}$/);
    assert.ok(invitation.email?.sentAt, `email not sent: ${invitation.email?.error}`);
    assert.ok(inboxSubjects('alice@contoso.com').includes('Connect your mailbox'), 'the invitation arrives in the user\'s inbox');

    const result = await signInThrough(invitation.link, d.users.alice);
    assert.equal(result.status, 200, result.html);
    assert.equal(result.code, 'SignInCompleted');

    const users = await stack.request('GET', `/api/admin/tenants/${tenantId}/delegated-users`);
    assert.equal(users.body.items.length, 1);
    assert.equal(users.body.items[0].userPrincipalName, 'alice@contoso.com');
    assert.equal(users.body.items[0].userObjectId, d.users.alice.objectId);
    assert.deepEqual(users.body.items[0].link, { groupId, mailbox: 'alice@contoso.com' });
    const invitations = await stack.request('GET', `/api/admin/tenants/${tenantId}/invitations`);
    assert.equal(invitations.body.items.find((i: { id: string }) => i.id === invitation.id).state, 'accepted');

    const cache = await stack.secrets.getSecret(secretNames.userTokenCache(tenantId, d.users.alice.objectId));
    const parsed = JSON.parse(cache.reveal()) as { RefreshToken: Record<string, { secret: string }>; AccessToken: Record<string, { secret: string }> };
    const refreshToken = Object.values(parsed.RefreshToken)[0]!.secret;
    const accessToken = Object.values(parsed.AccessToken)[0]!.secret;
    const tables = await stack.dumpTables();
    const logs = stack.logs.join('\n');
    for (const secret of [refreshToken, accessToken, invitation.code.replaceAll('-', ''), invitation.code]) {
      assert.ok(!tables.includes(secret), 'no token or invitation code in any table');
      assert.ok(!logs.includes(secret), 'no token or invitation code in the logs');
    }

    const check = await checkMailboxAccess(ewsClientFor('alice@contoso.com'));
    assert.equal(check.ok, true, check.ok ? '' : check.error.message);

    // The invitation is single-use.
    const again = await fetch(invitation.link, { redirect: 'manual' });
    assert.equal(again.status, 410);
    assert.equal(resultCode(await again.text()), 'InvitationUsed');
    // And so is the sign-in response.
    assert.equal((await openCallback(result.callback)).code, 'StateReplayed');
  });

  test('password change -> invalid_grant -> needsReauthentication + paused mailbox + re-auth email -> sign in again -> resumes', async () => {
    stack.idp.control.setPassword(d.users.alice.upn, 'Alice-Pass2');
    await assert.rejects(stack.inProcess.tokens.acquireEwsToken({ tenantId, mailbox: 'alice@contoso.com' }, { forceRefresh: true }), (error: unknown) => {
      assert.ok(error instanceof ReauthenticationRequiredError, String(error));
      assert.equal(error.code, 'ReauthenticationRequired');
      assert.equal(error.reason, 'RefreshTokenInvalid');
      assert.match(error.message, /AADSTS50173/);
      return true;
    });
    const failing = await stack.request('GET', `/api/admin/tenants/${tenantId}/delegated-users?status=errors`);
    assert.equal(failing.body.items.length, 1);
    assert.equal(failing.body.items[0].status, 'needsReauthentication');
    assert.match(failing.body.items[0].error.message, /sign in again/);
    assert.equal((await stack.request('GET', `/api/admin/tenants/${tenantId}/delegated-users?status=ok`)).body.items.length, 0);
    const mailbox = await stack.request('GET', `/api/admin/tenants/${tenantId}/groups/${groupId}/mailboxes/alice@contoso.com`);
    assert.equal(mailbox.body.status, 'needsReauthentication');

    // Paused: further calls fail at once without asking Entra, and send no second email.
    await assert.rejects(stack.inProcess.tokens.acquireEwsToken({ tenantId, mailbox: 'alice@contoso.com' }), (error: unknown) => error instanceof ReauthenticationRequiredError && error.reason === 'AlreadyMarked');
    const reauthMails = inboxSubjects('alice@contoso.com').filter((s) => s === 'Please sign in again to keep your mailbox connected');
    assert.equal(reauthMails.length, 1, 'exactly one re-authentication email');

    const invitations = await stack.request('GET', `/api/admin/tenants/${tenantId}/invitations`);
    const reauth = invitations.body.items.find((i: { purpose: string }) => i.purpose === 'reauthentication');
    assert.equal(reauth.state, 'pending');
    // The link comes from the email body, as the user would click it.
    const inbox = stack.ews.store.folderItems(stack.ews.store.getFolder('alice@contoso.com', { distinguished: 'inbox' } as never));
    const mail = inbox.find((item) => (item as { subject?: string }).subject === 'Please sign in again to keep your mailbox connected') as { body?: { content?: string } } | undefined;
    const link = /href="([^"]+)"/.exec(mail?.body?.content ?? JSON.stringify(mail))?.[1]?.replaceAll('&amp;', '&');
    assert.ok(link, 'the email carries a sign-in link');

    const result = await signInThrough(link, { upn: d.users.alice.upn, password: 'Alice-Pass2' });
    assert.equal(result.code, 'SignInCompleted', result.html);
    assert.equal((await stack.request('GET', `/api/admin/tenants/${tenantId}/groups/${groupId}/mailboxes/alice@contoso.com`)).body.status, 'pending', 'sync resumes');
    assert.equal((await stack.request('GET', `/api/admin/tenants/${tenantId}/delegated-users?status=ok`)).body.items.length, 1);
    const check = await checkMailboxAccess(ewsClientFor('alice@contoso.com'));
    assert.equal(check.ok, true);
  });

  test('a PKCE mismatch fails the sign-in and stores nothing', async () => {
    const invitation = await invite('bob@contoso.com');
    const result = await signInThrough(invitation.link, d.users.bob, (authorize) => authorize.searchParams.set('code_challenge', 'x'.repeat(43)));
    assert.equal(result.status, 400);
    assert.equal(result.code, 'SignInFailed');
    assert.match(result.html, /AADSTS501481/);
    assert.equal(await stack.secrets.findSecret(secretNames.userTokenCache(tenantId, d.users.bob.objectId)), undefined);
    const invitations = await stack.request('GET', `/api/admin/tenants/${tenantId}/invitations`);
    assert.equal(invitations.body.items.find((i: { id: string }) => i.id === invitation.id).state, 'pending');
  });

  test('signing in as someone else than the invited user is refused and stores nothing', async () => {
    const invitation = await invite('carol@contoso.com');
    const result = await signInThrough(invitation.link, d.users.bob);
    assert.equal(result.status, 403);
    assert.equal(result.code, 'WrongUser');
    assert.equal(await stack.secrets.findSecret(secretNames.userTokenCache(tenantId, d.users.bob.objectId)), undefined);
  });

  test('unknown, malformed and cross-tenant invitation codes show the same page', async () => {
    const invitation = await invite('carol@contoso.com');
    const otherTenant = await createTenant('Other', d.contosoTenantId);
    const url = new URL(invitation.link);
    const variants = [
      url.href.replace(tenantId, otherTenant),
      url.href.replace(/code=[^&]+/, 'code=AAAA-AAAA-AAAA-AAAA'),
      url.href.replace(/code=[^&]+/, 'code=%3Cscript%3E'),
      `${stack.baseUrl}/api/consent/signin`,
    ];
    for (const variant of variants) {
      const page = await fetch(variant, { redirect: 'manual' });
      assert.equal(page.status, 404, variant);
      assert.equal(resultCode(await page.text()), 'InvitationInvalid');
    }
  });

  test('admin links a user to a mailbox with item kinds', async () => {
    const linked = await stack.request('PUT', `/api/admin/tenants/${tenantId}/groups/${groupId}/mailboxes/alice@contoso.com/delegated-user`, { userObjectId: d.users.alice.objectId, folders: ['mail'] });
    assert.equal(linked.status, 200, linked.text);
    assert.deepEqual(linked.body.link, { groupId, mailbox: 'alice@contoso.com', folders: ['mail'] });
    const unknown = await stack.request('PUT', `/api/admin/tenants/${tenantId}/groups/${groupId}/mailboxes/bob@contoso.com/delegated-user`, { userObjectId: d.users.bob.objectId });
    assert.equal(unknown.status, 404);
  });

  test('deleting registrations removes token caches and invitations; the user must sign in again', async () => {
    const deleted = await stack.request('DELETE', `/api/admin/tenants/${tenantId}/registrations`);
    assert.equal(deleted.status, 200, deleted.text);
    assert.equal(deleted.body.users, 1);
    assert.equal(deleted.body.tokenCaches, 1);
    assert.ok(deleted.body.invitations >= 4);
    assert.equal(await stack.secrets.findSecret(secretNames.userTokenCache(tenantId, d.users.alice.objectId)), undefined);
    assert.equal((await stack.request('GET', `/api/admin/tenants/${tenantId}/invitations`)).body.items.length, 0);
    assert.equal((await stack.request('GET', `/api/admin/tenants/${tenantId}/delegated-users`)).body.items.length, 0);
    await assert.rejects(stack.inProcess.tokens.acquireEwsToken({ tenantId, mailbox: 'alice@contoso.com' }), (error: unknown) => error instanceof ReauthenticationRequiredError && error.reason === 'NotSignedIn');
  });
});

describe('credential expiry', () => {
  test('group secrets expiring within 7/30 days and the connector app secret are listed', async () => {
    const tenantId = await createTenant('Expiring', d.contosoTenantId);
    const group = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, { name: 'Online', externalId: 'online', mailboxAccessType: 'appOnly', appOnly: { entraTenantId: d.contosoTenantId, clientId: '00000000-0000-4000-8000-0000000000e1' } });
    const soon = new Date(Date.now() + 5 * 24 * 3600_000).toISOString();
    const set = await stack.request('PUT', `/api/admin/tenants/${tenantId}/groups/${group.body.id}/credentials`, { clientSecret: 'customer-secret-value', expiresOn: soon });
    assert.ok(set.status === 200 || set.status === 201, set.text);
    // Rotation in Key Vault: a new connector secret version that expires in 20 days.
    await stack.secrets.setSecret(secretNames.connectorAppClientSecret(), (await stack.secrets.getSecret(secretNames.connectorAppClientSecret())), { expiresOn: new Date(Date.now() + 20 * 24 * 3600_000) });
    const status = await stack.request('GET', '/api/admin/credential-status');
    assert.equal(status.status, 200, status.text);
    const groupEntry = status.body.items.find((i: { groupId?: string }) => i.groupId === group.body.id);
    assert.equal(groupEntry.state, 'expiresWithin7Days');
    assert.match(groupEntry.message, /client secret expires in 5 days/);
    const connector = status.body.items.find((i: { owner: string }) => i.owner === 'connectorApp');
    assert.equal(connector.state, 'expiresWithin30Days');
    assert.ok(!status.text.includes('customer-secret-value'));
  });
});
