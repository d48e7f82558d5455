import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ClientSecretCredential, ManagedIdentityCredential } from '@azure/identity';
import type { RunningIdentityProvider } from '../../dev/identity';
import { createAppCredential, isEntraAuthorityHost } from '../../shared/auth';
import { loadConfig } from '../../shared/config';
import { DEMO_IDENTITY, claimsOf, errorText, startTestIdentityProvider } from '../identity/identity-fixture';

const d = DEMO_IDENTITY;
let idp: RunningIdentityProvider;

before(async () => {
  idp = await startTestIdentityProvider();
});

after(async () => {
  await idp?.close();
});

function localSettings(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    PUBLIC_BASE_URL: 'http://localhost:7071',
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    KEY_VAULT_URL: 'https://localhost:8443',
    AZURE_CLIENT_ID: d.appIdentity.clientId,
    AZURE_TENANT_ID: d.operatorTenantId,
    AZURE_CLIENT_SECRET: d.appIdentity.clientSecret,
    AZURE_AUTHORITY_HOST: idp.url,
    ADMIN_API_AUDIENCE: d.adminApi.audience,
    ADMIN_API_TENANT_ID: d.operatorTenantId,
    CONNECTOR_APP_CLIENT_ID: d.connectorApp.clientId,
    ...overrides,
  };
}

test('with a client secret configured, the app credential signs in at the configured authority', async () => {
  const credential = createAppCredential(loadConfig(localSettings()).identity);
  assert.ok(credential instanceof ClientSecretCredential);
  const token = await credential.getToken('https://vault.azure.net/.default');
  assert.ok(token);
  const claims = claimsOf(token.token);
  assert.equal(claims.iss, `${idp.url}/${d.operatorTenantId}/v2.0`);
  assert.equal(claims.aud, 'https://vault.azure.net');
  assert.equal(claims.appid, d.appIdentity.clientId);
  const storage = await credential.getToken('https://storage.azure.com/.default');
  assert.equal(claimsOf(storage!.token).aud, 'https://storage.azure.com');
});

test('a wrong configured secret surfaces Entra\'s AADSTS7000215', async () => {
  const credential = createAppCredential(loadConfig(localSettings({ AZURE_CLIENT_SECRET: 'wrong' })).identity);
  await assert.rejects(credential.getToken('https://vault.azure.net/.default'), (error: unknown) => {
    assert.match(errorText(error), /AADSTS7000215/);
    return true;
  });
});

test('without a client secret the app uses its user-assigned managed identity', () => {
  const credential = createAppCredential(loadConfig(localSettings({ AZURE_CLIENT_SECRET: undefined, AZURE_TENANT_ID: undefined, AZURE_AUTHORITY_HOST: undefined })).identity);
  assert.ok(credential instanceof ManagedIdentityCredential);
});

test('only Microsoft authority hosts keep instance discovery on', () => {
  assert.equal(isEntraAuthorityHost('https://login.microsoftonline.com'), true);
  assert.equal(isEntraAuthorityHost('https://login.microsoftonline.us/'), true);
  assert.equal(isEntraAuthorityHost('https://localhost:8444'), false);
  assert.equal(isEntraAuthorityHost('not a url'), false);
});
