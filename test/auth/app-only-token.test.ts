/** App-only tokens through MSAL against the local Entra-compatible identity provider. */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import { decodeJwt } from 'jose';
import { generate } from 'selfsigned';
import { acquireAppOnlyToken, appOnlyEwsCredential, clearAppOnlyTokenCache, type AppOnlyTokenOptions } from '../../shared/auth/app-only-token';
import { EntraAuthError } from '../../shared/auth/entra-errors';
import { SecretString } from '../../shared/logging';
import { ensureDevCertificate } from '../../dev/certs';
import { projectRoot } from '../../dev/project-paths';
import { startIdentityProvider, type RunningIdentityProvider } from '../../dev/identity/server';
import { DEMO_IDENTITY, demoIdentitySeed } from '../../dev/identity/demo-seed';

let idp: RunningIdentityProvider;
const requests: string[] = [];

/** MSAL's network calls over fetch, counted, so a test can see whether a token came without HTTP. */
const countingNetwork: INetworkModule = {
  async sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return send<T>('GET', url, options);
  },
  async sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return send<T>('POST', url, options);
  },
};

async function send<T>(method: string, url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
  requests.push(`${method} ${new URL(url).pathname}`);
  const response = await fetch(url, { method, headers: options?.headers ?? {}, ...(options?.body !== undefined ? { body: options.body } : {}) });
  return { status: response.status, headers: Object.fromEntries(response.headers.entries()), body: (await response.json()) as T };
}

function options(overrides: Partial<AppOnlyTokenOptions> = {}): AppOnlyTokenOptions {
  return {
    authorityHost: idp.url,
    tenantId: DEMO_IDENTITY.contosoTenantId,
    clientId: DEMO_IDENTITY.connectorApp.clientId,
    credential: { kind: 'secret', secret: new SecretString(DEMO_IDENTITY.connectorApp.clientSecret) },
    networkClient: countingNetwork,
    ...overrides,
  };
}

async function entraFailure(promise: Promise<unknown>): Promise<EntraAuthError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof EntraAuthError, `expected EntraAuthError, got ${String(error)}`);
  return error;
}

before(async () => {
  const cert = await ensureDevCertificate(join(projectRoot(), '.dev', 'certs'));
  idp = await startIdentityProvider({ port: 0, tlsCertificate: cert, seed: demoIdentitySeed({ contosoAdminConsent: true }) });
});
after(async () => {
  await idp.close();
});
beforeEach(() => {
  clearAppOnlyTokenCache();
  requests.length = 0;
});

test('a consented app gets an EWS token for the customer tenant, and the second call is served from cache', async () => {
  const first = await acquireAppOnlyToken(options());
  assert.equal(first.fromCache, false);
  const claims = decodeJwt(first.token.reveal());
  assert.equal(claims.aud, 'https://outlook.office365.com');
  assert.equal(claims.tid, DEMO_IDENTITY.contosoTenantId);
  assert.deepEqual(claims.roles, ['full_access_as_app']);
  assert.equal(String(first.token), '[redacted]');
  const tokenRequests = requests.filter((r) => r.endsWith('/oauth2/v2.0/token')).length;
  assert.equal(tokenRequests, 1);

  const before = requests.length;
  const second = await acquireAppOnlyToken(options());
  assert.equal(second.fromCache, true);
  assert.equal(second.token.reveal(), first.token.reveal());
  assert.equal(requests.length, before, 'no HTTP request for a cached token');

  const forced = await acquireAppOnlyToken(options(), { forceRefresh: true });
  assert.equal(forced.fromCache, false);
  assert.equal(requests.filter((r) => r.endsWith('/oauth2/v2.0/token')).length, 2);
});

test('a certificate credential (private key + SHA-256 thumbprint) gets a token; an unregistered one → InvalidClientCertificate', async () => {
  const registered = await generate([{ name: 'commonName', value: 'connector-app' }], { keySize: 2048, algorithm: 'sha256' });
  idp.control.addCertificate(DEMO_IDENTITY.connectorApp.clientId, { certificatePem: registered.cert });
  const thumbprintSha256 = new X509Certificate(registered.cert).fingerprint256; // colon-separated hex, as tools print it
  const token = await acquireAppOnlyToken(options({ credential: { kind: 'certificate', privateKeyPem: new SecretString(registered.private), thumbprintSha256 } }));
  assert.equal(decodeJwt(token.token.reveal()).aud, 'https://outlook.office365.com');

  const stranger = await generate([{ name: 'commonName', value: 'someone-else' }], { keySize: 2048, algorithm: 'sha256' });
  const strangerThumbprint = new X509Certificate(stranger.cert).fingerprint256.replace(/:/g, '');
  await assert.rejects(acquireAppOnlyToken(options({ credential: { kind: 'certificate', privateKeyPem: new SecretString(stranger.private), thumbprintSha256: 'abc' } })), (e: unknown) => e instanceof EntraAuthError && e.code === 'InvalidClientCertificate');
  const error = await entraFailure(acquireAppOnlyToken(options({ credential: { kind: 'certificate', privateKeyPem: new SecretString(stranger.private), thumbprintSha256: strangerThumbprint } })));
  assert.equal(error.code, 'InvalidClientCertificate');
});

test('a rotated credential version does not reuse the old cache', async () => {
  await acquireAppOnlyToken(options({ credentialVersion: 'v1' }));
  const rotated = await acquireAppOnlyToken(options({ credentialVersion: 'v2' }));
  assert.equal(rotated.fromCache, false);
});

test('the bearer EWS credential refreshes from Entra after onUnauthorized', async () => {
  const credential = appOnlyEwsCredential(options());
  assert.equal(credential.kind, 'bearer');
  if (credential.kind !== 'bearer') return;
  await credential.getToken();
  await credential.getToken();
  assert.equal(requests.filter((r) => r.endsWith('/oauth2/v2.0/token')).length, 1);
  await credential.onUnauthorized?.();
  await credential.getToken();
  assert.equal(requests.filter((r) => r.endsWith('/oauth2/v2.0/token')).length, 2);
});

test('a wrong secret → InvalidClientSecret with advice to store the Value, not the Secret ID', async () => {
  const error = await entraFailure(acquireAppOnlyToken(options({ credential: { kind: 'secret', secret: new SecretString('not-the-secret') } })));
  assert.equal(error.code, 'InvalidClientSecret');
  assert.equal(error.aadsts, 7000215);
  assert.match(error.message, /Value \(not its Secret ID\)/);
  assert.doesNotMatch(error.message, /not-the-secret/);
  assert.equal(error.transient, false);
});

test('an expired secret → ClientSecretExpired', async () => {
  const added = idp.control.addSecret(DEMO_IDENTITY.connectorApp.clientId, { expiresAt: new Date(Date.now() - 60_000).toISOString() });
  const error = await entraFailure(acquireAppOnlyToken(options({ credential: { kind: 'secret', secret: new SecretString(added.value) } })));
  assert.equal(error.code, 'ClientSecretExpired');
  assert.match(error.message, /expired/);
});

test('an unknown app → AppNotFoundOrNotConsented naming admin consent', async () => {
  const error = await entraFailure(acquireAppOnlyToken(options({ clientId: 'c0ffee00-0000-4000-8000-0000000b0b0b' })));
  assert.equal(error.code, 'AppNotFoundOrNotConsented');
  assert.match(error.message, /admin consent/);
});

test('an app the customer has not consented to → AppNotFoundOrNotConsented', async () => {
  idp.control.revokeConsent(DEMO_IDENTITY.contosoTenantId, DEMO_IDENTITY.connectorApp.clientId);
  try {
    const error = await entraFailure(acquireAppOnlyToken(options()));
    assert.equal(error.code, 'AppNotFoundOrNotConsented');
  } finally {
    idp.control.grantAdminConsent(DEMO_IDENTITY.contosoTenantId, DEMO_IDENTITY.connectorApp.clientId);
  }
});

test('an unknown tenant → TenantNotFound', async () => {
  const error = await entraFailure(acquireAppOnlyToken(options({ tenantId: '00000000-0000-4000-8000-00000000dead' })));
  assert.equal(error.code, 'TenantNotFound', error.message);
});

test('common is refused for app-only tokens before any request', async () => {
  const error = await entraFailure(acquireAppOnlyToken(options({ tenantId: 'common' })));
  assert.equal(error.code, 'TenantNotFound');
  assert.equal(requests.length, 0);
});
