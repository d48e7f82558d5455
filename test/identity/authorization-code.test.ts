import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ConfidentialClientApplication, CryptoProvider, InteractionRequiredAuthError, type AccountInfo } from '@azure/msal-node';
import type { RunningIdentityProvider } from '../../dev/identity';
import { DEMO_IDENTITY, claimsOf, errorText, startTestIdentityProvider } from './identity-fixture';

const d = DEMO_IDENTITY;
const EWS_SCOPE = 'https://outlook.office365.com/EWS.AccessAsUser.All';
const REDIRECT_URI = 'http://localhost:7071/api/consent/signin/callback';
const crypto = new CryptoProvider();
let idp: RunningIdentityProvider;

before(async () => {
  // 60 s access tokens: MSAL renews tokens within 5 minutes of expiry, so every silent call refreshes.
  idp = await startTestIdentityProvider({}, { accessTokenLifetimeInSeconds: 60 });
});

after(async () => {
  await idp?.close();
});

function connectorApp(): ConfidentialClientApplication {
  return new ConfidentialClientApplication({
    auth: { clientId: d.connectorApp.clientId, clientSecret: d.connectorApp.clientSecret, authority: `${idp.url}/organizations`, knownAuthorities: [new URL(idp.url).host] },
  });
}

interface SignIn {
  readonly app: ConfidentialClientApplication;
  readonly verifier: string;
  readonly location: URL;
}

/** Runs /authorize for a user with the dev auto sign-in; returns where the IdP redirected. */
async function authorize(user: { upn: string; password: string }, options: { consent?: 'accept' | 'decline'; redirectUri?: string; state?: string } = {}): Promise<SignIn> {
  const app = connectorApp();
  const { verifier, challenge } = await crypto.generatePkceCodes();
  const url = await app.getAuthCodeUrl({
    scopes: [EWS_SCOPE],
    redirectUri: options.redirectUri ?? REDIRECT_URI,
    codeChallenge: challenge,
    codeChallengeMethod: 'S256',
    state: options.state ?? 'state-1',
    loginHint: user.upn,
  });
  const response = await fetch(`${url}&dev_password=${encodeURIComponent(user.password)}${options.consent ? `&dev_consent=${options.consent}` : ''}`, { redirect: 'manual' });
  assert.equal(response.status, 302, `expected a redirect, got ${response.status}: ${(await response.text()).slice(0, 400)}`);
  return { app, verifier, location: new URL(response.headers.get('location')!) };
}

async function signIn(user: { upn: string; password: string }): Promise<{ app: ConfidentialClientApplication; account: AccountInfo; accessToken: string; refreshToken: string }> {
  const { app, verifier, location } = await authorize(user, { consent: 'accept' });
  const code = location.searchParams.get('code');
  assert.ok(code, `no code in ${location}`);
  const result = await app.acquireTokenByCode({ code, scopes: [EWS_SCOPE], redirectUri: REDIRECT_URI, codeVerifier: verifier });
  assert.ok(result.account);
  const cache = JSON.parse(app.getTokenCache().serialize()) as { RefreshToken: Record<string, { secret: string }> };
  const refreshToken = Object.values(cache.RefreshToken)[0]?.secret;
  assert.ok(refreshToken);
  return { app, account: result.account, accessToken: result.accessToken, refreshToken };
}

test('auth code + PKCE: consent, code redemption and a delegated EWS token with Entra claims', async () => {
  const { app, verifier, location } = await authorize(d.users.alice, { consent: 'accept', state: 'xyz' });
  assert.equal(location.origin + location.pathname, REDIRECT_URI);
  assert.equal(location.searchParams.get('state'), 'xyz');
  const code = location.searchParams.get('code')!;
  const result = await app.acquireTokenByCode({ code, scopes: [EWS_SCOPE], redirectUri: REDIRECT_URI, codeVerifier: verifier });
  const claims = claimsOf(result.accessToken);
  assert.equal(claims.aud, 'https://outlook.office365.com');
  assert.equal(claims.iss, `${idp.url}/${d.contosoTenantId}/v2.0`);
  assert.equal(claims.tid, d.contosoTenantId);
  assert.equal(claims.oid, d.users.alice.objectId);
  assert.equal(claims.scp, 'EWS.AccessAsUser.All');
  assert.equal(claims.upn, 'alice@contoso.com');
  assert.equal(claims.preferred_username, 'alice@contoso.com');
  assert.equal(claims.name, 'Alice Anders');
  assert.equal(claims.appid, d.connectorApp.clientId);
  assert.equal(claims.idtyp, 'user');
  assert.equal(result.account?.username, 'alice@contoso.com');
  assert.equal(result.account?.tenantId, d.contosoTenantId);
  assert.equal(result.idTokenClaims && (result.idTokenClaims as { aud?: string }).aud, d.connectorApp.clientId);
});

test('after the first consent the user is not asked again; without dev_consent the consent page shows', async () => {
  // Bob has not consented: without an answer the IdP shows the consent page instead of redirecting.
  const app = connectorApp();
  const url = await app.getAuthCodeUrl({ scopes: [EWS_SCOPE], redirectUri: REDIRECT_URI, loginHint: d.users.bob.upn });
  const page = await fetch(`${url}&dev_password=${encodeURIComponent(d.users.bob.password)}`, { redirect: 'manual' });
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /Permissions requested/);
  assert.match(html, /EWS\.AccessAsUser\.All/);
  const interaction = /name="interaction" value="([^"]+)"/.exec(html)![1]!;
  const accepted = await fetch(`${idp.url}/organizations/consent`, { method: 'POST', body: new URLSearchParams({ interaction, decision: 'accept' }), redirect: 'manual' });
  assert.equal(accepted.status, 302);
  assert.ok(new URL(accepted.headers.get('location')!).searchParams.get('code'));
  // Second sign-in: consent is on record, so the IdP redirects straight away.
  const again = await authorize(d.users.bob);
  assert.ok(again.location.searchParams.get('code'));
});

test('a person can sign in through the HTML form', async () => {
  const app = connectorApp();
  const url = await app.getAuthCodeUrl({ scopes: [EWS_SCOPE], redirectUri: REDIRECT_URI, state: 'form' });
  const form = await (await fetch(url)).text();
  const interaction = /name="interaction" value="([^"]+)"/.exec(form)![1]!;
  const wrong = await fetch(`${idp.url}/organizations/login`, { method: 'POST', body: new URLSearchParams({ interaction, username: d.users.alice.upn, password: 'nope' }), redirect: 'manual' });
  assert.equal(wrong.status, 200);
  assert.match(await wrong.text(), /AADSTS50126/);
  const right = await fetch(`${idp.url}/organizations/login`, { method: 'POST', body: new URLSearchParams({ interaction, username: d.users.alice.upn, password: d.users.alice.password }), redirect: 'manual' });
  // Alice consented in the first test (or gets the consent page if run alone).
  assert.ok(right.status === 302 || /Permissions requested/.test(await right.text()));
});

test('refresh: acquireTokenSilent renews near expiry and with forceRefresh, rotating the refresh token', async () => {
  const { app, account, accessToken, refreshToken } = await signIn(d.users.carol);
  const silent = await app.acquireTokenSilent({ account, scopes: [EWS_SCOPE] });
  assert.notEqual(silent.accessToken, accessToken, 'a 60 s token is renewed by MSAL');
  const forced = await app.acquireTokenSilent({ account, scopes: [EWS_SCOPE], forceRefresh: true });
  assert.notEqual(forced.accessToken, silent.accessToken);
  assert.equal(claimsOf(forced.accessToken).scp, 'EWS.AccessAsUser.All');
  const cache = JSON.parse(app.getTokenCache().serialize()) as { RefreshToken: Record<string, { secret: string }> };
  assert.notEqual(Object.values(cache.RefreshToken)[0]!.secret, refreshToken, 'each redemption returns a new refresh token');
  const byRefreshToken = await connectorApp().acquireTokenByRefreshToken({ refreshToken, scopes: [EWS_SCOPE] });
  assert.equal(claimsOf(byRefreshToken!.accessToken).oid, d.users.carol.objectId);
});

test('the id token carries the nonce of the authorization request, which MSAL checks', async () => {
  const app = connectorApp();
  const { verifier, challenge } = await crypto.generatePkceCodes();
  const nonce = 'nonce-' + Date.now();
  const url = await app.getAuthCodeUrl({ scopes: [EWS_SCOPE], redirectUri: REDIRECT_URI, codeChallenge: challenge, codeChallengeMethod: 'S256', state: 'n', nonce, loginHint: d.users.alice.upn });
  const response = await fetch(`${url}&dev_password=${encodeURIComponent(d.users.alice.password)}&dev_consent=accept`, { redirect: 'manual' });
  const code = new URL(response.headers.get('location')!).searchParams.get('code')!;
  const result = await app.acquireTokenByCode({ code, scopes: [EWS_SCOPE], redirectUri: REDIRECT_URI, codeVerifier: verifier, nonce, state: 'n' }, { code, state: 'n' });
  assert.equal(claimsOf(result.idToken).nonce, nonce);
  assert.equal(claimsOf(result.idToken).aud, d.connectorApp.clientId);
});

test('a redeemed code cannot be redeemed again (AADSTS54005)', async () => {
  const { app, verifier, location } = await authorize(d.users.alice, { consent: 'accept' });
  const code = location.searchParams.get('code')!;
  await app.acquireTokenByCode({ code, scopes: [EWS_SCOPE], redirectUri: REDIRECT_URI, codeVerifier: verifier });
  await assert.rejects(app.acquireTokenByCode({ code, scopes: [EWS_SCOPE], redirectUri: REDIRECT_URI, codeVerifier: verifier }), (error: unknown) => {
    assert.match(errorText(error), /invalid_grant/);
    assert.match(errorText(error), /AADSTS54005/);
    return true;
  });
});

test('a code verifier that does not match the challenge is invalid_grant AADSTS501481', async () => {
  const { app, location } = await authorize(d.users.alice, { consent: 'accept' });
  const other = await crypto.generatePkceCodes();
  await assert.rejects(app.acquireTokenByCode({ code: location.searchParams.get('code')!, scopes: [EWS_SCOPE], redirectUri: REDIRECT_URI, codeVerifier: other.verifier }), /AADSTS501481/);
});

test('a code redeemed with another redirect URI is refused', async () => {
  const { app, verifier, location } = await authorize(d.users.alice, { consent: 'accept' });
  await assert.rejects(app.acquireTokenByCode({ code: location.searchParams.get('code')!, scopes: [EWS_SCOPE], redirectUri: 'http://localhost:7071/api/consent/admin/callback', codeVerifier: verifier }), /AADSTS500112/);
});

test('revoked refresh tokens fail with invalid_grant AADSTS50173', async () => {
  const { app, account } = await signIn(d.users.alice);
  assert.equal(idp.control.revokeRefreshTokens(d.users.alice.upn) > 0, true);
  await assert.rejects(app.acquireTokenSilent({ account, scopes: [EWS_SCOPE], forceRefresh: true }), (error: unknown) => {
    assert.match(errorText(error), /invalid_grant/);
    assert.match(errorText(error), /AADSTS50173/);
    return true;
  });
});

test('a password change voids earlier refresh tokens', async () => {
  const upn = 'dora@contoso.com';
  idp.control.addUser({ tenantId: d.contosoTenantId, userPrincipalName: upn, password: 'Dora-Pass1', displayName: 'Dora' });
  const { app, account } = await signIn({ upn, password: 'Dora-Pass1' });
  idp.control.setPassword(upn, 'Dora-Pass2');
  await assert.rejects(app.acquireTokenSilent({ account, scopes: [EWS_SCOPE], forceRefresh: true }), /AADSTS50173/);
  const fresh = await signIn({ upn, password: 'Dora-Pass2' });
  assert.ok(await fresh.app.acquireTokenSilent({ account: fresh.account, scopes: [EWS_SCOPE], forceRefresh: true }));
});

test('a user flagged for MFA gets interaction_required (AADSTS50076) until signing in again', async () => {
  const upn = 'erin@contoso.com';
  idp.control.addUser({ tenantId: d.contosoTenantId, userPrincipalName: upn, password: 'Erin-Pass1', displayName: 'Erin' });
  const { app, account } = await signIn({ upn, password: 'Erin-Pass1' });
  idp.control.setInteractionRequired(upn, 50076);
  await assert.rejects(app.acquireTokenSilent({ account, scopes: [EWS_SCOPE], forceRefresh: true }), (error: unknown) => {
    assert.ok(error instanceof InteractionRequiredAuthError, `expected InteractionRequiredAuthError, got ${errorText(error)}`);
    assert.match(errorText(error), /AADSTS50076/);
    return true;
  });
  const again = await signIn({ upn, password: 'Erin-Pass1' });
  assert.ok(await again.app.acquireTokenSilent({ account: again.account, scopes: [EWS_SCOPE], forceRefresh: true }));
});

test('refresh tokens past their lifetime fail with AADSTS700082', async () => {
  const { app, account } = await signIn(d.users.bob);
  idp.control.expireRefreshTokens(d.users.bob.upn);
  await assert.rejects(app.acquireTokenSilent({ account, scopes: [EWS_SCOPE], forceRefresh: true }), /AADSTS700082/);
});

test('after consent is revoked, refreshing fails with consent_required AADSTS65001', async () => {
  const upn = 'finn@contoso.com';
  idp.control.addUser({ tenantId: d.contosoTenantId, userPrincipalName: upn, password: 'Finn-Pass1', displayName: 'Finn' });
  const { app, account } = await signIn({ upn, password: 'Finn-Pass1' });
  idp.control.revokeConsent(d.contosoTenantId, d.connectorApp.clientId);
  await assert.rejects(app.acquireTokenSilent({ account, scopes: [EWS_SCOPE], forceRefresh: true }), (error: unknown) => {
    assert.match(errorText(error), /AADSTS65001/);
    assert.ok(error instanceof InteractionRequiredAuthError);
    return true;
  });
});

test('declining consent redirects back with access_denied AADSTS65004 and the state', async () => {
  const upn = 'gus@contoso.com';
  idp.control.addUser({ tenantId: d.contosoTenantId, userPrincipalName: upn, password: 'Gus-Pass1', displayName: 'Gus' });
  const { location } = await authorize({ upn, password: 'Gus-Pass1' }, { consent: 'decline', state: 'declined-1' });
  assert.equal(location.searchParams.get('error'), 'access_denied');
  assert.match(location.searchParams.get('error_description')!, /^AADSTS65004/);
  assert.equal(location.searchParams.get('state'), 'declined-1');
  assert.equal(location.searchParams.get('code'), null);
});

test('redirect URIs: unregistered ones get an error page; loopback ones match on any port', async () => {
  const app = connectorApp();
  const bad = await app.getAuthCodeUrl({ scopes: [EWS_SCOPE], redirectUri: 'https://evil.example/callback' });
  const response = await fetch(bad, { redirect: 'manual' });
  assert.equal(response.status, 400);
  assert.match(await response.text(), /AADSTS50011/);
  const { location } = await authorize(d.users.alice, { consent: 'accept', redirectUri: 'http://localhost:51234/api/consent/signin/callback' });
  assert.equal(location.port, '51234');
  assert.ok(location.searchParams.get('code'));
});
