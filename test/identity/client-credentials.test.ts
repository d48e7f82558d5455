import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ClientSecretCredential } from '@azure/identity';
import { ConfidentialClientApplication, type Configuration } from '@azure/msal-node';
import type { RunningIdentityProvider } from '../../dev/identity';
import { DEMO_IDENTITY, claimsOf, errorText, newClientCertificate, startTestIdentityProvider, type ClientCertificate } from './identity-fixture';

const d = DEMO_IDENTITY;
const EXCHANGE_DEFAULT = 'https://outlook.office365.com/.default';
const CERT_APP_ID = '5e7a0000-0000-4000-8000-00000000ce27';
let idp: RunningIdentityProvider;
let certificate: ClientCertificate;

before(async () => {
  certificate = await newClientCertificate();
  idp = await startTestIdentityProvider({
    apps: [
      {
        appId: CERT_APP_ID,
        displayName: 'Certificate client',
        homeTenantId: d.contosoTenantId,
        certificates: [{ certificatePem: certificate.certificatePem }],
        requiredResourceAccess: [{ resource: 'https://outlook.office365.com', applicationPermissions: ['full_access_as_app'] }],
      },
    ],
    consents: [
      { kind: 'admin', tenantId: d.contosoTenantId, clientAppId: d.connectorApp.clientId },
      { kind: 'admin', tenantId: d.contosoTenantId, clientAppId: CERT_APP_ID },
    ],
  });
});

after(async () => {
  await idp?.close();
});

function msalApp(auth: Partial<Configuration['auth']> & { clientId: string }, tenantId: string): ConfidentialClientApplication {
  return new ConfidentialClientApplication({ auth: { authority: `${idp.url}/${tenantId}`, knownAuthorities: [new URL(idp.url).host], ...auth } });
}

test('a client secret gets an Exchange app-only token with the consented application permission', async () => {
  const app = msalApp({ clientId: d.connectorApp.clientId, clientSecret: d.connectorApp.clientSecret }, d.contosoTenantId);
  const result = await app.acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] });
  assert.ok(result?.accessToken);
  const claims = claimsOf(result.accessToken);
  assert.equal(claims.aud, 'https://outlook.office365.com');
  assert.equal(claims.iss, `${idp.url}/${d.contosoTenantId}/v2.0`);
  assert.equal(claims.tid, d.contosoTenantId);
  assert.equal(claims.appid, d.connectorApp.clientId);
  assert.equal(claims.azp, d.connectorApp.clientId);
  assert.equal(claims.idtyp, 'app');
  assert.equal(claims.ver, '2.0');
  assert.deepEqual(claims.roles, ['full_access_as_app']);
  assert.equal(claims.scp, undefined);
  assert.ok(typeof claims.exp === 'number' && claims.exp > Date.now() / 1000);
});

test('a certificate (SHA-256 thumbprint, PS256 assertion) authenticates the client', async () => {
  const app = msalApp({ clientId: CERT_APP_ID, clientCertificate: { thumbprintSha256: certificate.thumbprintSha256Hex, privateKey: certificate.privateKeyPem } }, d.contosoTenantId);
  const result = await app.acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] });
  const claims = claimsOf(result!.accessToken);
  assert.equal(claims.appid, CERT_APP_ID);
  assert.equal(claims.appidacr, '2');
  assert.deepEqual(claims.roles, ['full_access_as_app']);
});

test('a certificate with a SHA-1 thumbprint (RS256 assertion) authenticates the client', async () => {
  const app = msalApp({ clientId: CERT_APP_ID, clientCertificate: { thumbprint: certificate.thumbprintSha1Hex, privateKey: certificate.privateKeyPem } }, d.contosoTenantId);
  const result = await app.acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] });
  assert.equal(claimsOf(result!.accessToken).appidacr, '2');
});

test('an assertion signed by an unregistered certificate is refused (AADSTS700027)', async () => {
  const stranger = await newClientCertificate('stranger');
  const app = msalApp({ clientId: CERT_APP_ID, clientCertificate: { thumbprintSha256: stranger.thumbprintSha256Hex, privateKey: stranger.privateKeyPem } }, d.contosoTenantId);
  await assert.rejects(app.acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] }), (error: unknown) => {
    assert.match(errorText(error), /invalid_client/);
    assert.match(errorText(error), /AADSTS700027/);
    return true;
  });
});

test('a registered thumbprint with a signature from another key is refused', async () => {
  const stranger = await newClientCertificate('stranger');
  const app = msalApp({ clientId: CERT_APP_ID, clientCertificate: { thumbprintSha256: certificate.thumbprintSha256Hex, privateKey: stranger.privateKeyPem } }, d.contosoTenantId);
  await assert.rejects(app.acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] }), /AADSTS700027: Client assertion failed signature validation/);
});

test('a wrong client secret fails with invalid_client AADSTS7000215', async () => {
  const app = msalApp({ clientId: d.connectorApp.clientId, clientSecret: 'not-the-secret' }, d.contosoTenantId);
  await assert.rejects(app.acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] }), (error: unknown) => {
    assert.match(errorText(error), /invalid_client/);
    assert.match(errorText(error), /AADSTS7000215: Invalid client secret provided/);
    return true;
  });
});

test('an expired client secret fails with AADSTS7000222 while a fresh one works', async () => {
  const added = idp.control.addSecret(d.connectorApp.clientId, { displayName: 'rotating' });
  const app = msalApp({ clientId: d.connectorApp.clientId, clientSecret: added.value }, d.contosoTenantId);
  assert.ok(await app.acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] }));
  idp.control.expireSecret(d.connectorApp.clientId, added.keyId);
  const again = msalApp({ clientId: d.connectorApp.clientId, clientSecret: added.value }, d.contosoTenantId);
  await assert.rejects(again.acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] }), /AADSTS7000222/);
});

test('an app without a service principal in the tenant fails with AADSTS700016', async () => {
  const tenantId = '00000000-0000-4000-8000-0000000000e2';
  idp.control.addTenant({ id: tenantId, displayName: 'Not Onboarded', domains: ['not-onboarded.example'] });
  const app = msalApp({ clientId: d.connectorApp.clientId, clientSecret: d.connectorApp.clientSecret }, tenantId);
  await assert.rejects(app.acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] }), (error: unknown) => {
    assert.match(errorText(error), /unauthorized_client/);
    assert.match(errorText(error), /AADSTS700016: Application with identifier 'c0ffee00-0000-4000-8000-00000000c0de' was not found in the directory/);
    return true;
  });
});

test('revoking consent takes the app out of the tenant (AADSTS700016)', async () => {
  const tenantId = '00000000-0000-4000-8000-0000000000e3';
  idp.control.addTenant({ id: tenantId, displayName: 'Leaving', domains: ['leaving.example'] });
  idp.control.grantAdminConsent(tenantId, d.connectorApp.clientId);
  const first = msalApp({ clientId: d.connectorApp.clientId, clientSecret: d.connectorApp.clientSecret }, tenantId);
  assert.deepEqual(claimsOf((await first.acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] }))!.accessToken).roles, ['full_access_as_app']);
  idp.control.revokeConsent(tenantId, d.connectorApp.clientId);
  const second = msalApp({ clientId: d.connectorApp.clientId, clientSecret: d.connectorApp.clientSecret }, tenantId);
  await assert.rejects(second.acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] }), /AADSTS700016/);
});

test('with a service principal but no application permission granted, the token has no roles (as in Entra)', async () => {
  const tenantId = '00000000-0000-4000-8000-0000000000e4';
  idp.control.addTenant({ id: tenantId, displayName: 'Users Only', domains: ['users-only.example'] });
  idp.control.addUser({ tenantId, userPrincipalName: 'user@users-only.example', password: 'Users-Pass1', displayName: 'User' });
  // A user's own consent creates the service principal but grants no application permission.
  idp.control.grantUserConsent(tenantId, d.connectorApp.clientId, 'user@users-only.example', ['https://outlook.office365.com/EWS.AccessAsUser.All']);
  const app = msalApp({ clientId: d.connectorApp.clientId, clientSecret: d.connectorApp.clientSecret }, tenantId);
  const claims = claimsOf((await app.acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] }))!.accessToken);
  assert.equal(claims.tid, tenantId);
  assert.equal(claims.roles, undefined);
});

test('a client credentials scope without /.default is invalid_scope AADSTS1002012', async () => {
  const app = msalApp({ clientId: d.connectorApp.clientId, clientSecret: d.connectorApp.clientSecret }, d.contosoTenantId);
  await assert.rejects(app.acquireTokenByClientCredential({ scopes: ['https://outlook.office365.com/EWS.AccessAsUser.All'] }), /AADSTS1002012/);
});

test('client_secret_basic on the v1 token endpoint with a resource parameter works too', async () => {
  const basic = Buffer.from(`${encodeURIComponent(d.connectorApp.clientId)}:${encodeURIComponent(d.connectorApp.clientSecret)}`).toString('base64');
  const response = await fetch(`${idp.url}/contoso.com/oauth2/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: 'https://outlook.office365.com' }),
  });
  assert.equal(response.status, 200);
  const body = (await response.json()) as { access_token: string; token_type: string };
  assert.equal(body.token_type, 'Bearer');
  assert.equal(claimsOf(body.access_token).aud, 'https://outlook.office365.com');
});

test('an unknown tenant answers AADSTS90002 from discovery', async () => {
  const response = await fetch(`${idp.url}/00000000-0000-4000-8000-00000000dead/v2.0/.well-known/openid-configuration`);
  assert.equal(response.status, 400);
  const body = (await response.json()) as { error: string; error_codes: number[] };
  assert.equal(body.error, 'invalid_tenant');
  assert.deepEqual(body.error_codes, [90002]);
});

test('@azure/identity ClientSecretCredential gets a Key Vault token from the app identity', async () => {
  const credential = new ClientSecretCredential(d.operatorTenantId, d.appIdentity.clientId, d.appIdentity.clientSecret, { authorityHost: idp.url, disableInstanceDiscovery: true });
  const token = await credential.getToken('https://vault.azure.net/.default');
  assert.ok(token.expiresOnTimestamp > Date.now());
  const claims = claimsOf(token.token);
  assert.equal(claims.aud, 'https://vault.azure.net');
  assert.equal(claims.appid, d.appIdentity.clientId);
  assert.equal(claims.tid, d.operatorTenantId);
});

test('discovery documents and JWKS have the shapes MSAL and jose read', async () => {
  const config = (await (await fetch(`${idp.url}/contoso.com/v2.0/.well-known/openid-configuration`)).json()) as Record<string, string>;
  assert.equal(config.issuer, `${idp.url}/${d.contosoTenantId}/v2.0`);
  assert.equal(config.token_endpoint, `${idp.url}/${d.contosoTenantId}/oauth2/v2.0/token`);
  assert.equal(config.jwks_uri, idp.jwksUri(d.contosoTenantId));
  const common = (await (await fetch(`${idp.url}/common/v2.0/.well-known/openid-configuration`)).json()) as Record<string, string>;
  assert.equal(common.issuer, `${idp.url}/{tenantid}/v2.0`);
  const jwks = (await (await fetch(config.jwks_uri!)).json()) as { keys: { kty: string; kid: string; n: string; e: string }[] };
  assert.equal(jwks.keys.length, 1);
  assert.equal(jwks.keys[0]!.kty, 'RSA');
  const instance = (await (await fetch(`${idp.url}/common/discovery/instance?api-version=1.1&authorization_endpoint=${encodeURIComponent(`${idp.url}/common/oauth2/v2.0/authorize`)}`)).json()) as { metadata: { aliases: string[] }[] };
  assert.deepEqual(instance.metadata[0]!.aliases, [new URL(idp.url).host]);
});
