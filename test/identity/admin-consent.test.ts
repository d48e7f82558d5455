import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ConfidentialClientApplication } from '@azure/msal-node';
import type { RunningIdentityProvider } from '../../dev/identity';
import { DEMO_IDENTITY, claimsOf, errorText, startTestIdentityProvider } from './identity-fixture';

const d = DEMO_IDENTITY;
const CALLBACK = 'http://localhost:7071/api/consent/admin/callback';
let idp: RunningIdentityProvider;

before(async () => {
  idp = await startTestIdentityProvider();
});

after(async () => {
  await idp?.close();
});

async function appOnlyToken(tenantId: string): Promise<string> {
  const app = new ConfidentialClientApplication({
    auth: { clientId: d.connectorApp.clientId, clientSecret: d.connectorApp.clientSecret, authority: `${idp.url}/${tenantId}`, knownAuthorities: [new URL(idp.url).host] },
  });
  return (await app.acquireTokenByClientCredential({ scopes: ['https://outlook.office365.com/.default'] }))!.accessToken;
}

function adminConsentUrl(path: 'adminconsent' | 'v2.0/adminconsent', tenant: string, extra: Record<string, string>): string {
  const params = new URLSearchParams({ client_id: d.connectorApp.clientId, redirect_uri: CALLBACK, state: 'onboard-42', ...extra });
  return `${idp.url}/${tenant}/${path}?${params}`;
}

test('before consent the connector app is not in Contoso (AADSTS700016)', async () => {
  await assert.rejects(appOnlyToken(d.contosoTenantId), (error: unknown) => {
    assert.match(errorText(error), /AADSTS700016/);
    return true;
  });
});

test('a declined admin consent redirects with access_denied AADSTS65004 and grants nothing', async () => {
  const response = await fetch(adminConsentUrl('adminconsent', 'organizations', { login_hint: d.users.contosoAdmin.upn, dev_password: d.users.contosoAdmin.password, dev_consent: 'decline' }), { redirect: 'manual' });
  assert.equal(response.status, 302);
  const location = new URL(response.headers.get('location')!);
  assert.equal(location.origin + location.pathname, CALLBACK);
  assert.equal(location.searchParams.get('error'), 'access_denied');
  assert.match(location.searchParams.get('error_description')!, /^AADSTS65004/);
  assert.equal(location.searchParams.get('state'), 'onboard-42');
  await assert.rejects(appOnlyToken(d.contosoTenantId), /AADSTS700016/);
});

test('a non-admin user cannot grant tenant-wide consent (AADSTS90094 page, no redirect)', async () => {
  const response = await fetch(adminConsentUrl('adminconsent', 'organizations', { login_hint: d.users.alice.upn, dev_password: d.users.alice.password, dev_consent: 'accept' }), { redirect: 'manual' });
  assert.equal(response.status, 403);
  assert.match(await response.text(), /AADSTS90094/);
});

test('a tenant admin grants consent through the HTML pages: redirect with admin_consent=True, tenant and state', async () => {
  const form = await (await fetch(adminConsentUrl('adminconsent', 'common', {}))).text();
  assert.match(form, /Sign in as an administrator/);
  const interaction = /name="interaction" value="([^"]+)"/.exec(form)![1]!;
  const consentPage = await fetch(`${idp.url}/common/login`, {
    method: 'POST',
    body: new URLSearchParams({ interaction, username: d.users.contosoAdmin.upn, password: d.users.contosoAdmin.password }),
    redirect: 'manual',
  });
  const html = await consentPage.text();
  assert.match(html, /full_access_as_app \(application permission\)/);
  const granted = await fetch(`${idp.url}/common/consent`, { method: 'POST', body: new URLSearchParams({ interaction, decision: 'accept' }), redirect: 'manual' });
  assert.equal(granted.status, 302);
  const location = new URL(granted.headers.get('location')!);
  assert.equal(location.searchParams.get('admin_consent'), 'True');
  assert.equal(location.searchParams.get('tenant'), d.contosoTenantId);
  assert.equal(location.searchParams.get('state'), 'onboard-42');
  // Now the app is in Contoso and its app-only token carries the granted application permission.
  const claims = claimsOf(await appOnlyToken(d.contosoTenantId));
  assert.deepEqual(claims.roles, ['full_access_as_app']);
  assert.equal(claims.tid, d.contosoTenantId);
});

test('the v2.0 admin consent endpoint returns the requested scope too', async () => {
  const tenantId = '00000000-0000-4000-8000-0000000000f2';
  idp.control.addTenant({ id: tenantId, displayName: 'Fabrikam', domains: ['fabrikam.com'] });
  idp.control.addUser({ tenantId, userPrincipalName: 'admin@fabrikam.com', password: 'Fabrikam-Admin-Pass1', displayName: 'Fabrikam Admin', isTenantAdmin: true });
  const response = await fetch(
    adminConsentUrl('v2.0/adminconsent', 'fabrikam.com', { scope: 'https://outlook.office365.com/.default', login_hint: 'admin@fabrikam.com', dev_password: 'Fabrikam-Admin-Pass1', dev_consent: 'accept' }),
    { redirect: 'manual' },
  );
  const location = new URL(response.headers.get('location')!);
  assert.equal(location.searchParams.get('admin_consent'), 'True');
  assert.equal(location.searchParams.get('tenant'), tenantId);
  assert.equal(location.searchParams.get('scope'), 'https://outlook.office365.com/.default');
  assert.deepEqual(claimsOf(await appOnlyToken(tenantId)).roles, ['full_access_as_app']);
});

test('an admin of one tenant cannot consent for another tenant named in the URL', async () => {
  const response = await fetch(adminConsentUrl('adminconsent', d.operatorTenantId, { login_hint: d.users.contosoAdmin.upn, dev_password: d.users.contosoAdmin.password, dev_consent: 'accept' }), { redirect: 'manual' });
  assert.equal(response.status, 200);
  assert.match(await response.text(), /AADSTS50034/);
});

test('the control API works over HTTP and persisted state survives a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'idp-'));
  const persistPath = join(dir, 'state.json');
  try {
    const first = await startTestIdentityProvider({}, { persistPath });
    const added = (await (await fetch(`${first.url}/_control/apps/${d.connectorApp.clientId}/secrets`, { method: 'POST', body: '{}' })).json()) as { keyId: string; value: string };
    assert.ok(added.value);
    const tokenResponse = await fetch(`${first.url}/_control/users/${d.users.operatorAdmin.upn}/tokens`, { method: 'POST', body: JSON.stringify({ audience: d.adminApi.audience }) });
    const minted = (await tokenResponse.json()) as { access_token: string };
    assert.deepEqual(claimsOf(minted.access_token).roles, ['Connector.Admin']);
    const missing = await fetch(`${first.url}/_control/users/nobody@contoso.com/password`, { method: 'POST', body: JSON.stringify({ password: 'x' }) });
    assert.equal(missing.status, 404);
    const signingKey = async (url: string) => ((await (await fetch(url)).json()) as { keys: { kid: string; n: string }[] }).keys.map((k) => `${k.kid}:${k.n}`).join();
    const jwksBefore = await signingKey(first.jwksUri(d.operatorTenantId));
    await first.close();
    assert.doesNotMatch(readFileSync(persistPath, 'utf8'), new RegExp(added.value.replace(/[.*+?^${}()|[\]\\~]/g, '\\$&')), 'secret values are stored hashed');
    const second = await startTestIdentityProvider({}, { persistPath });
    try {
      assert.equal(await signingKey(second.jwksUri(d.operatorTenantId)), jwksBefore, 'same signing key after restart');
      const app = new ConfidentialClientApplication({ auth: { clientId: d.connectorApp.clientId, clientSecret: added.value, authority: `${second.url}/${d.operatorTenantId}`, knownAuthorities: [new URL(second.url).host] } });
      assert.ok(await app.acquireTokenByClientCredential({ scopes: ['https://outlook.office365.com/.default'] }));
    } finally {
      await second.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
