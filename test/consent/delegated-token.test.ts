/**
 * The delegated token provider on its own, against the local identity provider and Key Vault:
 * silent refresh from the user's cache in Key Vault, the re-authentication reasons, the hook,
 * and connector secret rotation. Users come from a small in-memory directory.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CryptoProvider } from '@azure/msal-node';
import { devStateDir, ensureDevCertificate } from '../../dev/certs';
import { demoIdentitySeed, DEMO_IDENTITY } from '../../dev/identity/demo-seed';
import { startIdentityProvider } from '../../dev/identity/server';
import type { RunningIdentityProvider } from '../../dev/identity/server';
import { startKeyVaultServer } from '../../dev/keyvault';
import type { RunningKeyVaultServer } from '../../dev/keyvault';
import { projectRoot } from '../../dev/project-paths';
import { createAppCredential } from '../../shared/auth/azure-credential';
import { ConnectorApp, EWS_DELEGATED_SCOPE } from '../../shared/auth/connector-app';
import { createDelegatedTokenProvider, ReauthenticationRequiredError } from '../../shared/auth/delegated-token';
import type { DelegatedUserIdentity, ReauthenticationEvent } from '../../shared/auth/delegated-token';
import { UserTokenCacheStore } from '../../shared/auth/token-cache-store';
import { SecretString } from '../../shared/logging';
import { createSecretStore } from '../../shared/secrets/secret-store';
import type { SecretStore } from '../../shared/secrets/secret-store';
import { secretNames } from '../../shared/secrets/secret-names';

const d = DEMO_IDENTITY;
const TENANT = 'a0000000-0000-4000-8000-000000000001';
const OLD_SECRET_KEY_ID = 'a1d5ec00-0000-4000-8000-000000000001';
const REDIRECT = 'http://localhost:7071/api/consent/signin/callback';
let idp: RunningIdentityProvider;
let vault: RunningKeyVaultServer;
let secrets: SecretStore;
const users = new Map<string, DelegatedUserIdentity>();
const events: ReauthenticationEvent[] = [];

before(async () => {
  const cert = await ensureDevCertificate(join(devStateDir(projectRoot()), 'certs'));
  const tls = { cert: cert.cert, key: cert.key };
  // 60 s tokens: MSAL renews within 5 minutes of expiry, so every silent call refreshes.
  const seed = demoIdentitySeed();
  // A known key id for the connector secret, so the rotation test can remove it.
  const apps = seed.apps.map((app) => (app.appId === d.connectorApp.clientId ? { ...app, secrets: [{ keyId: OLD_SECRET_KEY_ID, value: d.connectorApp.clientSecret }] } : app));
  idp = await startIdentityProvider({ port: 0, tlsCertificate: tls, seed: { ...seed, apps }, accessTokenLifetimeInSeconds: 60 });
  vault = await startKeyVaultServer({ port: 0, tlsCertificate: tls, tenantId: d.operatorTenantId, authorityHost: idp.url });
  secrets = createSecretStore(vault.url, createAppCredential({ clientId: d.appIdentity.clientId, tenantId: d.operatorTenantId, clientSecret: new SecretString(d.appIdentity.clientSecret), authorityHost: idp.url }), { environment: 'development' });
  await secrets.setSecret(secretNames.connectorAppClientSecret(), new SecretString(d.connectorApp.clientSecret));
});

after(async () => {
  await vault?.close();
  await idp?.close();
});

function provider(connectorApp = new ConnectorApp({ clientId: d.connectorApp.clientId, authorityHost: idp.url, vault: secrets })) {
  return createDelegatedTokenProvider({
    connectorApp,
    tokenCaches: new UserTokenCacheStore(secrets),
    users: {
      findByObjectId: async (tenantId, oid) => users.get(`${tenantId}|${oid}`),
      findByMailbox: async (tenantId, mailbox) => [...users.values()].find((u) => u.tenantId === tenantId && u.link?.mailbox === mailbox),
    },
    onReauthenticationRequired: async (event) => {
      events.push(event);
      const key = `${event.tenantId}|${event.userObjectId}`;
      const user = users.get(key);
      if (user) users.set(key, { ...user, status: 'needsReauthentication', lastError: { code: event.reason, message: event.message } });
    },
  });
}

/** Signs a user in with auth code + PKCE (dev auto sign-in) and stores the cache as the callback does. */
async function signIn(user: { upn: string; password: string; objectId: string }): Promise<void> {
  const app = await new ConnectorApp({ clientId: d.connectorApp.clientId, authorityHost: idp.url, vault: secrets }).application(d.contosoTenantId);
  const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
  const url = await app.getAuthCodeUrl({ scopes: [EWS_DELEGATED_SCOPE], redirectUri: REDIRECT, codeChallenge: challenge, codeChallengeMethod: 'S256', loginHint: user.upn });
  const answer = await fetch(`${url}&dev_password=${encodeURIComponent(user.password)}&dev_consent=accept`, { redirect: 'manual' });
  const code = new URL(answer.headers.get('location')!).searchParams.get('code')!;
  const result = await app.acquireTokenByCode({ code, scopes: [EWS_DELEGATED_SCOPE], redirectUri: REDIRECT, codeVerifier: verifier });
  await new UserTokenCacheStore(secrets).write({ tenantId: TENANT, userObjectId: user.objectId }, new SecretString(app.getTokenCache().serialize()));
  users.set(`${TENANT}|${user.objectId}`, {
    tenantId: TENANT,
    userObjectId: user.objectId,
    entraTenantId: d.contosoTenantId,
    homeAccountId: result.account!.homeAccountId,
    status: 'active',
    link: { groupId: 'g', mailbox: user.upn },
  });
}

async function cacheVersions(objectId: string): Promise<number> {
  let count = 0;
  for await (const _version of secrets.listVersions(secretNames.userTokenCache(TENANT, objectId))) count++;
  return count;
}

test('silent refresh: a new token from the refresh token, the rotated cache written back to Key Vault', async () => {
  await signIn({ ...d.users.carol });
  const tokens = provider();
  const before = await cacheVersions(d.users.carol.objectId);
  const first = await tokens.acquireEwsTokenWithDetails({ tenantId: TENANT, mailbox: d.users.carol.upn });
  const claims = JSON.parse(Buffer.from(first.token.reveal().split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
  assert.equal(claims.aud, 'https://outlook.office365.com');
  assert.equal(claims.oid, d.users.carol.objectId);
  assert.equal(claims.scp, 'EWS.AccessAsUser.All');
  assert.ok((await cacheVersions(d.users.carol.objectId)) > before, 'the refreshed cache is stored as a new version');
  const second = await tokens.acquireEwsToken({ tenantId: TENANT, userObjectId: d.users.carol.objectId }, { forceRefresh: true });
  assert.notEqual(second.reveal(), first.token.reveal());
  assert.equal(String(second), '[redacted]');
});

test('MFA required -> ReauthenticationRequired (InteractionRequired), hook called once, later calls refused at once', async () => {
  const upn = 'frank@contoso.com';
  const { objectId } = idp.control.addUser({ tenantId: d.contosoTenantId, userPrincipalName: upn, password: 'Frank-Pass1', displayName: 'Frank' });
  await signIn({ upn, password: 'Frank-Pass1', objectId });
  idp.control.setInteractionRequired(upn, 50076);
  const tokens = provider();
  events.length = 0;
  await assert.rejects(tokens.acquireEwsToken({ tenantId: TENANT, mailbox: upn }, { forceRefresh: true }), (error: unknown) => {
    assert.ok(error instanceof ReauthenticationRequiredError);
    assert.equal(error.reason, 'InteractionRequired');
    assert.equal(error.aadsts, 50076);
    assert.equal(error.mailbox, upn);
    return true;
  });
  assert.equal(events.length, 1);
  assert.equal(events[0]!.userObjectId, objectId);
  await assert.rejects(tokens.acquireEwsToken({ tenantId: TENANT, mailbox: upn }), (error: unknown) => error instanceof ReauthenticationRequiredError && error.reason === 'AlreadyMarked');
  assert.equal(events.length, 1, 'the hook runs on the first failure only');
});

test('revoked refresh tokens -> RefreshTokenInvalid; an unknown mailbox -> NotSignedIn', async () => {
  await signIn({ ...d.users.bob });
  idp.control.revokeRefreshTokens(d.users.bob.upn);
  await assert.rejects(provider().acquireEwsToken({ tenantId: TENANT, mailbox: d.users.bob.upn }, { forceRefresh: true }), (error: unknown) => error instanceof ReauthenticationRequiredError && error.reason === 'RefreshTokenInvalid' && /AADSTS50173/.test(error.message));
  await assert.rejects(provider().acquireEwsToken({ tenantId: TENANT, mailbox: 'nobody@contoso.com' }), (error: unknown) => error instanceof ReauthenticationRequiredError && error.reason === 'NotSignedIn');
});

test('connector secret rotation: a new secret in Key Vault is picked up when Entra rejects the old one, without re-authentication', async () => {
  await signIn({ ...d.users.alice });
  const connectorApp = new ConnectorApp({ clientId: d.connectorApp.clientId, authorityHost: idp.url, vault: secrets });
  const tokens = provider(connectorApp);
  assert.ok(await tokens.acquireEwsToken({ tenantId: TENANT, mailbox: d.users.alice.upn }, { forceRefresh: true }));
  // Rotation: add the new secret to the app, store it in Key Vault, then remove the old one from the app.
  const fresh = idp.control.addSecret(d.connectorApp.clientId, { displayName: 'rotated' });
  await secrets.setSecret(secretNames.connectorAppClientSecret(), new SecretString(fresh.value));
  assert.ok(await tokens.acquireEwsToken({ tenantId: TENANT, mailbox: d.users.alice.upn }, { forceRefresh: true }), 'the old secret (cached) still works');
  events.length = 0;
  idp.control.removeSecret(d.connectorApp.clientId, OLD_SECRET_KEY_ID);
  assert.ok(await tokens.acquireEwsToken({ tenantId: TENANT, mailbox: d.users.alice.upn }, { forceRefresh: true }), 'the new secret is read from Key Vault after invalid_client');
  assert.equal(events.length, 0, 'no re-authentication for an operator-side secret problem');
});
