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
  assert.deepEqual(steps.map((s) => s.name), ['configuration', 'credentialExpiry', 'tokenAcquisition', 'endpointReachable', 'authentication', 'ewsEnabled', 'impersonation', 'folderAccess']);
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
