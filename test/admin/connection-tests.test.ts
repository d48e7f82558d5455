import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEMO_IDENTITY } from '../../dev/identity/demo-seed';
import { startEwsSimulator } from '../../dev/ews-simulator/server';
import type { EwsSimulator } from '../../dev/ews-simulator/server';
import { startAdminStack } from './admin-stack';
import type { AdminStack } from './admin-stack';
import { freeLoopbackPort } from '../support/free-port';

const CONTOSO_TENANT = DEMO_IDENTITY.contosoTenantId;
/** The customer's own app registration (app-only groups never use the connector's multi-tenant app). */
const CUSTOMER_APP = { clientId: '00000000-0000-4000-8000-0000000000a7', clientSecret: 'contoso-own-app-secret' };
const SERVICE_ACCOUNT = { upn: 'svc-connector@contoso.com', password: 'Svc-Connector-Pass1' };

let stack: AdminStack;
let ews: EwsSimulator;
let tenantId: string;

async function closedPortUrl(): Promise<string> {
  return `http://127.0.0.1:${await freeLoopbackPort()}/EWS/Exchange.asmx`;
}

before(async () => {
  stack = await startAdminStack();
  stack.idp.control.addApp({
    appId: CUSTOMER_APP.clientId,
    displayName: 'Contoso line-of-business app',
    homeTenantId: CONTOSO_TENANT,
    secrets: [{ value: CUSTOMER_APP.clientSecret }],
    requiredResourceAccess: [{ resource: 'https://outlook.office365.com', applicationPermissions: ['full_access_as_app'] }],
  });
  stack.idp.control.grantAdminConsent(CONTOSO_TENANT, CUSTOMER_APP.clientId);
  ews = await startEwsSimulator({
    identity: { authorityHost: stack.idp.url },
    seed: (store) => {
      store.addOrganisation({ id: 'contoso', name: 'Contoso', domains: ['contoso.com'], entraTenantId: CONTOSO_TENANT });
      store.addOrganisation({ id: 'fabrikam', name: 'Fabrikam', domains: ['fabrikam.com'], ewsEnabled: false });
      store.addMailbox({ smtpAddress: 'alice@contoso.com', displayName: 'Alice' });
      store.addMailbox({ smtpAddress: 'bob@contoso.com', displayName: 'Bob' });
      store.addMailbox({ smtpAddress: 'dana@fabrikam.com', displayName: 'Dana' });
      store.addServiceAccount({ userPrincipalName: SERVICE_ACCOUNT.upn, password: SERVICE_ACCOUNT.password });
      store.addServiceAccount({ userPrincipalName: 'svc@fabrikam.com', password: SERVICE_ACCOUNT.password });
      store.grantImpersonation({ principal: SERVICE_ACCOUNT.upn, scope: { kind: 'list', mailboxes: ['alice@contoso.com'] } });
      store.grantImpersonation({ principal: 'svc@fabrikam.com', scope: { kind: 'all' } });
    },
  });
  const tenant = await stack.request('POST', '/api/admin/tenants', { body: { displayName: 'Contoso', entraTenantId: CONTOSO_TENANT } });
  tenantId = tenant.body.id;
});

after(async () => {
  await ews.close();
  await stack.close();
});

let counter = 0;

async function impersonationGroup(credential: { password: string; expiresOn?: string } | undefined, options: { ewsUrl?: string; serviceAccount?: string; mailboxes?: string[] } = {}): Promise<string> {
  const created = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, {
    body: {
      name: 'On-premises',
      externalId: `imp-${++counter}`,
      mailboxAccessType: 'impersonation',
      ewsUrl: options.ewsUrl ?? ews.url,
      impersonation: { serviceAccount: options.serviceAccount ?? SERVICE_ACCOUNT.upn, authScheme: 'basic' },
    },
  });
  assert.equal(created.status, 201, created.text);
  const groupId: string = created.body.id;
  if (credential) assert.equal((await stack.request('PUT', `/api/admin/tenants/${tenantId}/groups/${groupId}/credentials`, { body: credential })).status, 200);
  for (const smtpAddress of options.mailboxes ?? []) await stack.request('POST', `/api/admin/tenants/${tenantId}/groups/${groupId}/mailboxes`, { body: { smtpAddress } });
  return groupId;
}

async function appOnlyGroup(clientSecret: string, expiresOn?: string): Promise<string> {
  const created = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, {
    body: { name: 'Online', externalId: `app-${++counter}`, mailboxAccessType: 'appOnly', ewsUrl: ews.url, appOnly: { entraTenantId: CONTOSO_TENANT, clientId: CUSTOMER_APP.clientId } },
  });
  assert.equal(created.status, 201, created.text);
  assert.equal((await stack.request('PUT', `/api/admin/tenants/${tenantId}/groups/${created.body.id}/credentials`, { body: { clientSecret, ...(expiresOn ? { expiresOn } : {}) } })).status, 200);
  return created.body.id;
}

interface Step {
  name: string;
  status: 'passed' | 'failed' | 'skipped';
  message: string;
  code?: string;
  durationInMs: number;
}

async function runTest(groupId: string, targetMailbox?: string): Promise<{ outcome: string; steps: Step[]; byName: Record<string, Step>; warnings?: string[] }> {
  const response = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups/${groupId}/connection-tests`, { body: targetMailbox ? { targetMailbox } : {} });
  assert.equal(response.status, 200, response.text);
  const steps: Step[] = response.body.steps;
  assert.deepEqual(steps.map((s) => s.name), ['configuration', 'credentialExpiry', 'tokenAcquisition', 'endpointReachable', 'autodiscover', 'authentication', 'ewsEnabled', 'impersonation', 'folderAccess']);
  for (const step of steps) {
    assert.ok(step.message.length > 10, `${step.name} explains itself`);
    assert.ok(Number.isInteger(step.durationInMs) && step.durationInMs >= 0);
  }
  return { outcome: response.body.outcome, steps, byName: Object.fromEntries(steps.map((s) => [s.name, s])), warnings: response.body.warnings };
}

function statuses(result: { steps: Step[] }): string {
  return result.steps.map((s) => `${s.name}:${s.status}`).join(' ');
}

describe('connection tests against the Exchange simulator', () => {
  test('impersonation: every step passes for an allowed mailbox (the group\'s first mailbox by default)', async () => {
    const groupId = await impersonationGroup({ password: SERVICE_ACCOUNT.password }, { mailboxes: ['alice@contoso.com'] });
    const result = await runTest(groupId);
    assert.equal(result.outcome, 'passed', statuses(result));
    assert.equal(result.byName.tokenAcquisition?.status, 'skipped');
    assert.match(result.byName.folderAccess?.message ?? '', /Inbox of alice@contoso.com/);
  });

  test('wrong password: authentication fails, later steps are skipped', async () => {
    const groupId = await impersonationGroup({ password: 'not-the-password' });
    const result = await runTest(groupId, 'alice@contoso.com');
    assert.equal(result.outcome, 'failed');
    assert.equal(result.byName.endpointReachable?.status, 'passed');
    assert.equal(result.byName.authentication?.status, 'failed');
    assert.match(result.byName.authentication?.message ?? '', /wrong password/);
    assert.equal(result.byName.impersonation?.status, 'skipped');
    assert.equal(result.byName.folderAccess?.status, 'skipped');
  });

  test('denied impersonation names the missing ApplicationImpersonation scope', async () => {
    const groupId = await impersonationGroup({ password: SERVICE_ACCOUNT.password });
    const result = await runTest(groupId, 'bob@contoso.com');
    assert.equal(result.byName.authentication?.status, 'passed');
    assert.equal(result.byName.impersonation?.status, 'failed');
    assert.equal(result.byName.impersonation?.code, 'ErrorImpersonateUserDenied');
    assert.match(result.byName.impersonation?.message ?? '', /ApplicationImpersonation/);
    assert.equal(result.byName.folderAccess?.status, 'skipped');
  });

  test('a nonexistent mailbox is reported at the impersonation step', async () => {
    const groupId = await impersonationGroup({ password: SERVICE_ACCOUNT.password });
    const result = await runTest(groupId, 'nobody@contoso.com');
    assert.equal(result.byName.impersonation?.status, 'failed');
    assert.equal(result.byName.impersonation?.code, 'ErrorNonExistentMailbox');
  });

  test('EWS disabled for the organisation: explains the allow-list and the 2027-04-01 shutdown', async () => {
    const groupId = await impersonationGroup({ password: SERVICE_ACCOUNT.password }, { serviceAccount: 'svc@fabrikam.com' });
    const result = await runTest(groupId, 'dana@fabrikam.com');
    assert.equal(result.byName.ewsEnabled?.status, 'failed', statuses(result));
    assert.match(result.byName.ewsEnabled?.message ?? '', /2027-04-01/);
    assert.match(result.byName.ewsEnabled?.message ?? '', /EwsEnabled/);
  });

  test('an unreachable endpoint fails at endpointReachable with the network reason', async () => {
    const groupId = await impersonationGroup({ password: SERVICE_ACCOUNT.password }, { ewsUrl: await closedPortUrl() });
    const result = await runTest(groupId, 'alice@contoso.com');
    assert.equal(result.byName.endpointReachable?.status, 'failed');
    assert.equal(result.byName.endpointReachable?.code, 'ConnectionRefused');
    assert.equal(result.byName.authentication?.status, 'skipped');
  });

  test('no credentials or no mailbox: the configuration step says what to do', async () => {
    const groupId = await impersonationGroup(undefined);
    const noCredentials = await runTest(groupId, 'alice@contoso.com');
    assert.equal(noCredentials.byName.configuration?.status, 'failed');
    assert.match(noCredentials.byName.configuration?.message ?? '', /PUT .*credentials/);
    const withCredentials = await impersonationGroup({ password: SERVICE_ACCOUNT.password });
    const noMailbox = await runTest(withCredentials);
    assert.match(noMailbox.byName.configuration?.message ?? '', /targetMailbox/);
  });

  test('app-only: token acquisition and every EWS step pass with the right client secret', async () => {
    const groupId = await appOnlyGroup(CUSTOMER_APP.clientSecret);
    const result = await runTest(groupId, 'alice@contoso.com');
    assert.equal(result.outcome, 'passed', JSON.stringify(result.steps, null, 1));
    assert.equal(result.byName.tokenAcquisition?.status, 'passed');
  });

  test('app-only: a wrong client secret is explained (AADSTS7000215)', async () => {
    const groupId = await appOnlyGroup('definitely-not-the-secret');
    const result = await runTest(groupId, 'alice@contoso.com');
    assert.equal(result.byName.tokenAcquisition?.status, 'failed');
    assert.equal(result.byName.tokenAcquisition?.code, 'InvalidClientSecret');
    assert.match(result.byName.tokenAcquisition?.message ?? '', /VALUE/);
    assert.equal(result.byName.endpointReachable?.status, 'skipped');
  });

  test('app-only: an expired client secret is explained (AADSTS7000222)', async () => {
    const expiring = stack.idp.control.addSecret(CUSTOMER_APP.clientId, { value: 'soon-expired-secret-value', displayName: 'expiring' });
    stack.idp.control.expireSecret(CUSTOMER_APP.clientId, expiring.keyId);
    const groupId = await appOnlyGroup(expiring.value);
    const result = await runTest(groupId, 'alice@contoso.com');
    assert.equal(result.byName.tokenAcquisition?.code, 'ClientSecretExpired', result.byName.tokenAcquisition?.message);
    assert.match(result.byName.tokenAcquisition?.message ?? '', /expired/);
  });

  test('an expired credential fails the credentialExpiry step and says where to put a new one', async () => {
    const groupId = await impersonationGroup({ password: SERVICE_ACCOUNT.password, expiresOn: '2024-01-31T00:00:00Z' }, { mailboxes: ['alice@contoso.com'] });
    const result = await runTest(groupId);
    assert.equal(result.outcome, 'failed');
    assert.equal(result.byName.configuration?.status, 'passed');
    assert.equal(result.byName.credentialExpiry?.status, 'failed');
    assert.equal(result.byName.credentialExpiry?.code, 'CredentialExpired');
    assert.match(result.byName.credentialExpiry?.message ?? '', /password expired on 2024-01-31T00:00:00\.000Z/);
    assert.ok(result.byName.credentialExpiry?.message.includes(`PUT it to /api/admin/tenants/${tenantId}/groups/${groupId}/credentials`), result.byName.credentialExpiry?.message);
    assert.equal(result.byName.authentication?.status, 'skipped', 'nothing is sent with an expired credential');
  });

  test('an app-only client secret expiring within 30/14/7 days passes with a warning', async () => {
    const day = 24 * 3600_000;
    for (const [daysLeft, expected] of [[25, /expires in 25 days/], [10, /expires in 10 days/], [3, /expires in 3 days/]] as const) {
      const groupId = await appOnlyGroup(CUSTOMER_APP.clientSecret, new Date(Date.now() + daysLeft * day - 60_000).toISOString());
      const result = await runTest(groupId, 'alice@contoso.com');
      assert.equal(result.outcome, 'passed', statuses(result));
      assert.equal(result.byName.credentialExpiry?.status, 'passed');
      assert.equal(result.warnings?.length, 1, `${daysLeft} days: one warning`);
      assert.match(result.warnings?.[0] ?? '', expected);
      assert.match(result.warnings?.[0] ?? '', /client secret .*new client secret in Entra.*\/credentials/);
    }
    const later = await appOnlyGroup(CUSTOMER_APP.clientSecret, new Date(Date.now() + 90 * day).toISOString());
    const fine = await runTest(later, 'alice@contoso.com');
    assert.equal(fine.warnings, undefined, 'no warning 90 days out');
    assert.match(fine.byName.credentialExpiry?.message ?? '', /valid until/);
  });

  test('the tests leave no secret in responses or logs, and a delegated group must name the mailbox or the user to test', async () => {
    const delegated = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, { body: { name: 'Users', externalId: 'delegated', mailboxAccessType: 'delegated' } });
    const refused = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups/${delegated.body.id}/connection-tests`, { body: {} });
    // Delegated groups are tested per linked mailbox or per user (test/e2e/linked-mailboxes.test.ts); with neither, both fields are named.
    assert.equal(refused.status, 400, refused.text);
    assert.deepEqual(refused.body.errors.map((e: { pointer: string }) => e.pointer), ['/targetMailbox', '/delegatedUserObjectId']);
    const logs = stack.logs.join('\n');
    for (const secret of [SERVICE_ACCOUNT.password, CUSTOMER_APP.clientSecret]) assert.ok(!logs.includes(secret));
    assert.match(await stack.dumpTables(), /connectionTest\.run/, 'connection tests are audited');
  });
});

describe('EWS URL from an email address (Autodiscover) in the admin API and the connection test', () => {
  const tenantDiscovery = (body: Record<string, unknown>, options: { token?: string; tenant?: string } = {}) =>
    stack.request('POST', `/api/admin/tenants/${options.tenant ?? tenantId}/ews-url-discovery`, { body, ...(options.token ? { token: options.token } : {}) });

  test('the connection test reports what Autodiscover names for the target mailbox', async () => {
    const groupId = await impersonationGroup({ password: SERVICE_ACCOUNT.password }, { mailboxes: ['alice@contoso.com'] });
    const result = await runTest(groupId);
    assert.equal(result.outcome, 'passed', statuses(result));
    assert.equal(result.byName.autodiscover?.status, 'passed');
    assert.ok(result.byName.autodiscover?.message.includes(ews.url), result.byName.autodiscover?.message);
    assert.match(result.byName.autodiscover?.message ?? '', /matches the group's EWS URL/);
    assert.equal(result.warnings, undefined);

    const wrong = await runTest(await impersonationGroup({ password: 'not-the-password' }), 'alice@contoso.com');
    assert.equal(wrong.byName.autodiscover?.status, 'skipped', 'Autodiscover never fails the test by itself');
    assert.equal(wrong.byName.autodiscover?.code, 'Unauthorized');

    const appOnly = await runTest(await appOnlyGroup(CUSTOMER_APP.clientSecret), 'alice@contoso.com');
    assert.equal(appOnly.byName.autodiscover?.status, 'skipped');
    assert.match(appOnly.byName.autodiscover?.message ?? '', /on-premises/);
  });

  test('before a group exists: an address and a service account give the EWS URL; the password is never echoed, stored or logged', async () => {
    const password = SERVICE_ACCOUNT.password;
    const found = await tenantDiscovery({ emailAddress: 'Alice@Contoso.com', serviceAccount: SERVICE_ACCOUNT.upn, password, autodiscoverUrl: ews.autodiscoverUrl });
    assert.equal(found.status, 200, found.text);
    assert.equal(found.body.outcome, 'found');
    assert.equal(found.body.ewsUrl, ews.url);
    assert.equal(found.body.primarySmtpAddress, 'alice@contoso.com');
    assert.deepEqual(found.body.attempts, [{ url: ews.autodiscoverUrl, protocol: 'soap', outcome: 'found' }]);
    const pox = await tenantDiscovery({ emailAddress: 'bob@contoso.com', serviceAccount: SERVICE_ACCOUNT.upn, password, authScheme: 'ntlm', autodiscoverUrl: ews.autodiscoverUrl.replace(/svc$/, 'xml') });
    assert.equal(pox.body.outcome, 'found', pox.text);
    assert.equal(pox.body.ewsUrl, ews.url);

    const unknown = await tenantDiscovery({ emailAddress: 'nobody@contoso.com', serviceAccount: SERVICE_ACCOUNT.upn, password, autodiscoverUrl: ews.autodiscoverUrl });
    assert.equal(unknown.body.outcome, 'failed');
    assert.equal(unknown.body.code, 'InvalidUser');
    assert.match(unknown.body.message, /does not know nobody@contoso\.com/);
    const refused = await tenantDiscovery({ emailAddress: 'alice@contoso.com', serviceAccount: SERVICE_ACCOUNT.upn, password: 'wrong-Pass-123', autodiscoverUrl: ews.autodiscoverUrl });
    assert.equal(refused.body.code, 'Unauthorized');
    assert.deepEqual(refused.body.attempts.map((a: { outcome: string; code: string }) => `${a.outcome}:${a.code}`), ['failed:Unauthorized']);

    for (const response of [found, pox, unknown, refused]) assert.ok(!response.text.includes(password) && !response.text.includes('wrong-Pass-123'));
    assert.ok(!stack.logs.join('\n').includes('wrong-Pass-123'));
    const tables = await stack.dumpTables();
    assert.ok(!tables.includes('wrong-Pass-123'));
    assert.match(tables, /ewsUrl\.discovered/, 'each discovery is audited (without the password)');
  });

  test('problem+json names every field at fault', async () => {
    const response = await tenantDiscovery({ emailAddress: 'not-an-address', serviceAccount: '', password: '', authScheme: 'kerberos', autodiscoverUrl: 'ftp://contoso.com/autodiscover', extra: 1 });
    assert.equal(response.status, 400, response.text);
    assert.equal(response.headers.get('content-type'), 'application/problem+json');
    const pointers = response.body.errors.map((e: { pointer: string }) => e.pointer).sort();
    assert.deepEqual(pointers, ['/authScheme', '/autodiscoverUrl', '/emailAddress', '/extra', '/password', '/serviceAccount'], response.text);
    // A well-formed URL the outbound policy refuses (plain http to a non-loopback host) is named alongside the schema's findings.
    const policy = await tenantDiscovery({ emailAddress: 'x', serviceAccount: 'svc', password: 'p', autodiscoverUrl: 'http://127.0.0.2.example/autodiscover/autodiscover.svc' });
    assert.deepEqual(policy.body.errors.map((e: { pointer: string }) => e.pointer).sort(), ['/autodiscoverUrl', '/emailAddress'], policy.text);
    const missing = await tenantDiscovery({});
    assert.deepEqual(missing.body.errors.map((e: { pointer: string }) => e.pointer).sort(), ['/emailAddress', '/password', '/serviceAccount']);
  });

  test('with the group\'s stored service account: found, and compared with the group\'s EWS URL; other access types and missing credentials are refused', async () => {
    const groupId = await impersonationGroup({ password: SERVICE_ACCOUNT.password }, { mailboxes: ['alice@contoso.com'] });
    const found = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups/${groupId}/ews-url-discovery`, { body: { autodiscoverUrl: ews.autodiscoverUrl } });
    assert.equal(found.status, 200, found.text);
    assert.equal(found.body.emailAddress, 'alice@contoso.com', "the group's first mailbox by default");
    assert.equal(found.body.ewsUrl, ews.url);
    assert.equal(found.body.matchesGroupEwsUrl, true);
    assert.ok(!found.text.includes(SERVICE_ACCOUNT.password));

    const appOnly = await appOnlyGroup(CUSTOMER_APP.clientSecret);
    const notOnPrem = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups/${appOnly}/ews-url-discovery`, { body: { emailAddress: 'alice@contoso.com' } });
    assert.equal(notOnPrem.status, 409);
    assert.equal(notOnPrem.body.code, 'NotSupportedForAccessType');
    const noCredentials = await impersonationGroup(undefined);
    const missing = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups/${noCredentials}/ews-url-discovery`, { body: { emailAddress: 'alice@contoso.com' } });
    assert.equal(missing.status, 409);
    assert.equal(missing.body.code, 'CredentialsMissing');
  });

  test("as an attacker: another tenant's admin cannot use a group's stored credential or the tenant endpoint", async () => {
    const groupId = await impersonationGroup({ password: SERVICE_ACCOUNT.password }, { mailboxes: ['alice@contoso.com'] });
    const other = await stack.request('POST', '/api/admin/tenants', { body: { displayName: 'Fabrikam' } });
    const outsider = stack.tenantAdminToken([other.body.id]);
    const before = (await stack.dumpTables()).split('ewsUrl.discovered').length;
    const viaGroup = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups/${groupId}/ews-url-discovery`, { body: { autodiscoverUrl: ews.autodiscoverUrl }, token: outsider });
    assert.equal(viaGroup.status, 404, viaGroup.text);
    // The group addressed under the outsider's own tenant is as unknown as one that does not exist.
    const crossed = await stack.request('POST', `/api/admin/tenants/${other.body.id}/groups/${groupId}/ews-url-discovery`, { body: { autodiscoverUrl: ews.autodiscoverUrl }, token: outsider });
    assert.equal(crossed.status, 404, crossed.text);
    const viaTenant = await tenantDiscovery({ emailAddress: 'alice@contoso.com', serviceAccount: SERVICE_ACCOUNT.upn, password: SERVICE_ACCOUNT.password, autodiscoverUrl: ews.autodiscoverUrl }, { token: outsider });
    assert.equal(viaTenant.status, 404);
    assert.equal((await stack.dumpTables()).split('ewsUrl.discovered').length, before, 'nothing ran, nothing audited');
  });
});
