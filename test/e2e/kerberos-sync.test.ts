/**
 * Kerberos end to end: a real MIT KDC (dev/kerberos/kdc.ts) on a random loopback port, the EWS
 * simulator accepting Negotiate tickets for its HTTP service principal with its own keytab, and
 * the production function files in the local Functions host. Everything an administrator does
 * goes through the admin API: the group's realm, KDC and SPN, the password or keytab (Key Vault),
 * the connection test, then a sync whose requests the simulator saw as Negotiate.
 *
 * Skipped with one line when krb5-kdc or the `kerberos` addon is missing (.ci/run installs both).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { kdcAvailability, startKdc, type RunningKdc } from '../../dev/kerberos/kdc';
import { DEMO_IDENTITY } from '../../dev/identity/demo-seed';
import { kerberosAvailability } from '../../shared/auth/kerberos/gss-library';
import { negotiateTokenSource, ticketCachePath } from '../../shared/auth/kerberos/negotiate-client';
import { SecretString } from '../../shared/logging';
import { useSyncOverrides } from '../../shared/sync/sync-composition';
import { startConnectorStack, type ConnectorStack } from '../support/connector-stack';
import { requestJson } from '../support/http-json';
import { RecordingOutbox } from '../sync/sync-fixture';

const REALM = 'FABRIKAM.TEST';
const SPN = 'HTTP/mail.fabrikam.test';
/** Known to the KDC, but Exchange (the simulator) holds no key for it: a ticket for it is refused. */
const FOREIGN_SPN = 'HTTP/legacy.fabrikam.test';
const SVC = 'svc-kerb@fabrikam.test';
const SVC_PASSWORD = 'Kerberos-Svc-Pass1';
const MAILBOXES = ['erin@fabrikam.test', 'finn@fabrikam.test'];
const MASTER_KEY = 'kerberos-test-master-key';

const kdcState = kdcAvailability();
const addonState = kerberosAvailability();
const skip = !kdcState.available ? `Kerberos tests skipped: ${kdcState.reason}` : !addonState.available ? `Kerberos tests skipped: ${addonState.reason}` : false;

let kdc: RunningKdc;
let stack: ConnectorStack;
const outbox = new RecordingOutbox();

function api(method: string, path: string, body?: unknown) {
  const token = stack.idp.control.issueAccessToken({
    tenantId: DEMO_IDENTITY.operatorTenantId,
    audience: DEMO_IDENTITY.adminApi.audience,
    roles: ['Connector.Admin'],
    oid: DEMO_IDENTITY.users.operatorAdmin.objectId,
    name: 'Operator Admin',
    upn: 'admin@operator.example.com',
  });
  return requestJson(method, `${stack.host.url}/api/admin${path}`, { headers: { authorization: `Bearer ${token}` }, body });
}

let counter = 0;

async function kerberosGroup(tenantId: string, kerberos: Record<string, unknown>, credential: Record<string, string>, serviceAccount = SVC): Promise<string> {
  const created = await api('POST', `/tenants/${tenantId}/groups`, {
    name: 'On-premises (Kerberos)',
    externalId: `kerb-${++counter}`,
    mailboxAccessType: 'impersonation',
    ewsUrl: stack.ews!.url,
    impersonation: { serviceAccount, authScheme: 'kerberos', kerberos },
  });
  assert.equal(created.status, 201, created.text);
  const groupId: string = created.body.id;
  const put = await api('PUT', `/tenants/${tenantId}/groups/${groupId}/credentials`, credential);
  assert.equal(put.status, 200, put.text);
  for (const smtpAddress of MAILBOXES) assert.equal((await api('POST', `/tenants/${tenantId}/groups/${groupId}/mailboxes`, { smtpAddress })).status, 201);
  return groupId;
}

interface Step {
  name: string;
  status: string;
  message: string;
  code?: string;
}

async function connectionTest(tenantId: string, groupId: string): Promise<{ outcome: string; byName: Record<string, Step>; text: string }> {
  const response = await api('POST', `/tenants/${tenantId}/groups/${groupId}/connection-tests`, { targetMailbox: MAILBOXES[0] });
  assert.equal(response.status, 200, response.text);
  return { outcome: response.body.outcome, byName: Object.fromEntries((response.body.steps as Step[]).map((s) => [s.name, s])), text: response.text };
}

function settings() {
  return { realm: REALM, kdcs: [kdc.address], servicePrincipal: SPN };
}

async function createTenant(displayName: string): Promise<string> {
  const created = await api('POST', '/tenants', { displayName });
  assert.equal(created.status, 201, created.text);
  return created.body.id;
}

describe('Kerberos (Negotiate) for service-account groups', { skip }, () => {
  before(async () => {
    kdc = await startKdc({
      realm: REALM,
      principals: [
        { name: 'svc-kerb', password: SVC_PASSWORD, keytab: true },
        { name: 'HTTP/mail.fabrikam.test', keytab: true },
        { name: 'HTTP/legacy.fabrikam.test' },
      ],
    });
    stack = await startConnectorStack({
      functions: ['admin-tenants', 'admin-groups', 'admin-mailboxes', 'sync-schedule', 'sync-mailbox'],
      ews: {
        seed: (store) => {
          store.addOrganisation({ id: 'fabrikam', name: 'Fabrikam', domains: ['fabrikam.test'] });
          for (const address of MAILBOXES) store.addMailbox({ smtpAddress: address, displayName: address, password: 'User-Pass1' });
          // No password in Exchange's directory here: the only way in is a Kerberos ticket.
          store.addServiceAccount({ userPrincipalName: SVC, organisationId: 'fabrikam' });
          store.grantImpersonation({ organisationId: 'fabrikam', principal: SVC, scope: { kind: 'all' } });
        },
        kerberos: { servicePrincipal: SPN, keytabPath: kdc.keytabs['HTTP/mail.fabrikam.test']!, krb5ConfigPath: kdc.krb5ConfigPath },
      },
      functionKeys: { masterKey: MASTER_KEY },
      queues: { maxPollingIntervalInMs: 200, visibilityTimeoutInMs: 0 },
      shutdownGracePeriodInMs: 5_000,
      beforeHost: async () => useSyncOverrides({ outbox }),
    });
  });

  after(async () => {
    await stack?.close();
    await kdc?.close();
    useSyncOverrides({});
  });

  it('a group configured through the admin API passes the connection test and syncs with Kerberos tickets', async () => {
    // Mail first: whichever syncs the new group first, the every-minute timer or the test, delivers it.
    const control = stack.ews!.controlUrl;
    for (const [index, address] of MAILBOXES.entries()) {
      const made = await fetch(`${control}/mailboxes/${address}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ folder: 'inbox', item: { kind: 'message', subject: `Kerberos order ${index}` } }) });
      assert.ok(made.ok);
    }
    const tenantId = await createTenant('Fabrikam');
    const groupId = await kerberosGroup(tenantId, settings(), { password: SVC_PASSWORD });
    const group = await api('GET', `/tenants/${tenantId}/groups/${groupId}`);
    assert.deepEqual(group.body.impersonation, { serviceAccount: SVC, authScheme: 'kerberos', kerberos: settings() });
    assert.equal(group.body.credentials.kind, 'password');

    const tested = await connectionTest(tenantId, groupId);
    assert.equal(tested.outcome, 'passed', tested.text);
    assert.match(tested.byName.tokenAcquisition!.message, /Kerberos ticket for HTTP\/mail\.fabrikam\.test/);
    assert.equal(tested.byName.authentication!.status, 'passed');

    const fired = await fetch(`${stack.host.url}/admin/functions/schedule-due-groups`, { method: 'POST', headers: { 'x-functions-key': MASTER_KEY, 'content-type': 'application/json' }, body: '{"input":""}' });
    assert.equal(fired.status, 202);
    const expected = [`${MAILBOXES[0]}:Kerberos order 0`, `${MAILBOXES[1]}:Kerberos order 1`];
    const delivered = () => outbox.records().filter((r) => r.groupId === groupId).map((r) => `${r.mailbox}:${r.item?.subject}`).sort();
    const deadline = Date.now() + 20_000;
    while (delivered().length < expected.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(delivered(), expected, stack.logs.slice(-20).join('\n'));

    // Exchange saw Negotiate from the service account, never another scheme.
    const entries = (await (await fetch(`${control}/requests?limit=1000`)).json()) as { scheme?: string; principal?: string; status: number }[];
    const authenticated = entries.filter((entry) => entry.principal === SVC);
    assert.ok(authenticated.length >= 4, `requests by ${SVC}: ${authenticated.length}`);
    assert.deepEqual([...new Set(authenticated.map((entry) => entry.scheme))], ['Negotiate']);

    const everything = stack.logs.join('\n') + (await stack.dumpTables()) + group.text + tested.text;
    assert.ok(!everything.includes(SVC_PASSWORD), 'the password is in no log, table or response');
    assert.ok(!/Negotiate [A-Za-z0-9+/]{40}/.test(everything), 'no Kerberos token is in a log, table or response');
  });

  it('a keytab stored in Key Vault instead of the password works the same; one for another account is refused by field', async () => {
    const tenantId = await createTenant('Fabrikam keytab');
    const keytab = readFileSync(kdc.keytabs['svc-kerb']!).toString('base64');
    const groupId = await kerberosGroup(tenantId, settings(), { keytab });
    const tested = await connectionTest(tenantId, groupId);
    assert.equal(tested.outcome, 'passed', tested.text);
    const state = await api('GET', `/tenants/${tenantId}/groups/${groupId}`);
    assert.equal(state.body.credentials.kind, 'keytab');
    assert.ok(!state.text.includes(keytab.slice(0, 40)));

    const foreign = readFileSync(kdc.keytabs['HTTP/mail.fabrikam.test']!).toString('base64');
    const refused = await api('PUT', `/tenants/${tenantId}/groups/${groupId}/credentials`, { keytab: foreign });
    assert.equal(refused.status, 400);
    assert.match(refused.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.deepEqual(refused.body.errors.map((e: { pointer: string }) => e.pointer), ['/keytab']);
    assert.match(refused.body.errors[0].detail, /holds no keys for svc-kerb@FABRIKAM\.TEST/);
    assert.ok(!refused.text.includes(foreign.slice(0, 40)), 'the keytab is not echoed');
    const garbage = await api('PUT', `/tenants/${tenantId}/groups/${groupId}/credentials`, { keytab: Buffer.from('not a keytab').toString('base64') });
    assert.equal(garbage.status, 400);
    assert.deepEqual(garbage.body.errors.map((e: { pointer: string }) => e.pointer), ['/keytab']);
  });

  it('a wrong password, an unknown SPN and an SPN Exchange holds no key for each fail the connection test with a clear reason', async () => {
    const tenantId = await createTenant('Fabrikam failures');
    const badGroup = await kerberosGroup(tenantId, settings(), { password: 'not-the-password' });
    const badPassword = await connectionTest(tenantId, badGroup);
    assert.equal(badPassword.outcome, 'failed');
    assert.equal(badPassword.byName.tokenAcquisition!.status, 'failed');
    assert.equal(badPassword.byName.tokenAcquisition!.code, 'InvalidCredentials');
    assert.match(badPassword.byName.tokenAcquisition!.message, /refused the service account svc-kerb@FABRIKAM\.TEST: wrong password or keytab/);
    assert.equal(badPassword.byName.authentication!.status, 'skipped');

    // The sync worker stops on it too, and the mailbox says why (not retried: someone must act).
    const since = Date.now();
    const job = JSON.stringify({ version: 1, tenantId, groupId: badGroup, mailbox: MAILBOXES[0], reason: 'manual', enqueuedAt: new Date().toISOString() });
    const fired = await fetch(`${stack.host.url}/admin/functions/sync-mailbox`, { method: 'POST', headers: { 'x-functions-key': MASTER_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ input: job }) });
    assert.equal(fired.status, 202);
    await stack.host.waitForInvocation((r) => r.functionName === 'sync-mailbox' && r.startedAt.getTime() >= since && r.status !== 'running', { timeoutInMs: 20_000 });
    const mailbox = await api('GET', `/tenants/${tenantId}/groups/${badGroup}/mailboxes/${encodeURIComponent(MAILBOXES[0]!)}`);
    assert.equal(mailbox.body.status, 'error', mailbox.text);
    assert.match(mailbox.body.lastError.message, /wrong password or keytab/, mailbox.text);
    assert.equal(mailbox.body.lastError.code, 'AuthenticationFailed');
    assert.ok(!mailbox.text.includes('not-the-password'));

    const unknownSpn = await connectionTest(tenantId, await kerberosGroup(tenantId, { ...settings(), servicePrincipal: 'HTTP/nowhere.fabrikam.test' }, { password: SVC_PASSWORD }));
    assert.equal(unknownSpn.byName.tokenAcquisition!.code, 'UnknownServicePrincipal');
    assert.match(unknownSpn.byName.tokenAcquisition!.message, /knows no service principal HTTP\/nowhere\.fabrikam\.test/);

    const foreignSpn = await connectionTest(tenantId, await kerberosGroup(tenantId, { ...settings(), servicePrincipal: FOREIGN_SPN }, { password: SVC_PASSWORD }));
    assert.equal(foreignSpn.byName.tokenAcquisition!.status, 'passed');
    assert.equal(foreignSpn.byName.authentication!.status, 'failed');
    assert.equal(foreignSpn.byName.authentication!.code, 'Unauthorized');
    assert.match(foreignSpn.byName.authentication!.message, /refused the Kerberos ticket for HTTP\/legacy\.fabrikam\.test/);
    assert.match(foreignSpn.byName.authentication!.message, /Negotiate/);

    const unreachable = await connectionTest(tenantId, await kerberosGroup(tenantId, { ...settings(), kdcs: ['127.0.0.1:1'] }, { password: SVC_PASSWORD }));
    assert.equal(unreachable.byName.tokenAcquisition!.code, 'KdcUnreachable');
    assert.match(unreachable.byName.tokenAcquisition!.message, /No KDC of FABRIKAM\.TEST answered/);
  });

  it('the admin API names every Kerberos field at fault (problem+json)', async () => {
    const tenantId = await createTenant('Fabrikam validation');
    const missing = await api('POST', `/tenants/${tenantId}/groups`, { name: 'x', externalId: 'kerb-missing', mailboxAccessType: 'impersonation', ewsUrl: stack.ews!.url, impersonation: { serviceAccount: SVC, authScheme: 'kerberos' } });
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.body.errors.map((e: { pointer: string }) => e.pointer), ['/impersonation/kerberos']);

    const bad = await api('POST', `/tenants/${tenantId}/groups`, {
      name: 'x',
      externalId: 'kerb-bad',
      mailboxAccessType: 'impersonation',
      ewsUrl: stack.ews!.url,
      impersonation: { serviceAccount: SVC, authScheme: 'kerberos', kerberos: { realm: 'fabrikam.test', kdcs: ['dc01 .fabrikam.test', 'dc02.fabrikam.test:99999'], servicePrincipal: 'HTTP/mail.fabrikam.test@FABRIKAM.TEST' } },
    });
    assert.equal(bad.status, 400);
    assert.match(bad.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.deepEqual(bad.body.errors.map((e: { pointer: string }) => e.pointer).sort(), ['/impersonation/kerberos/kdcs/0', '/impersonation/kerberos/kdcs/1', '/impersonation/kerberos/realm', '/impersonation/kerberos/servicePrincipal']);

    const basicWithKerberos = await api('POST', `/tenants/${tenantId}/groups`, { name: 'x', externalId: 'kerb-basic', mailboxAccessType: 'impersonation', ewsUrl: stack.ews!.url, impersonation: { serviceAccount: SVC, authScheme: 'ntlm', kerberos: settings() } });
    assert.equal(basicWithKerberos.status, 400);
    assert.deepEqual(basicWithKerberos.body.errors.map((e: { pointer: string }) => e.pointer), ['/impersonation/kerberos']);

    const ntlm = await api('POST', `/tenants/${tenantId}/groups`, { name: 'x', externalId: 'kerb-ntlm', mailboxAccessType: 'impersonation', ewsUrl: stack.ews!.url, impersonation: { serviceAccount: SVC, authScheme: 'ntlm' } });
    assert.equal(ntlm.status, 201);
    const keytabForNtlm = await api('PUT', `/tenants/${tenantId}/groups/${ntlm.body.id}/credentials`, { keytab: readFileSync(kdc.keytabs['svc-kerb']!).toString('base64') });
    assert.equal(keytabForNtlm.status, 400);
    assert.deepEqual(keytabForNtlm.body.errors.map((e: { pointer: string }) => e.pointer), ['/keytab']);
    assert.match(keytabForNtlm.body.errors[0].detail, /only to groups with authScheme kerberos/);
  });

  it('attacker: tenant B, naming the same realm, KDC and service account, never uses tenant A\'s tickets', async () => {
    const tenantA = await createTenant('Tenant A');
    const groupA = await kerberosGroup(tenantA, settings(), { password: SVC_PASSWORD });
    assert.equal((await connectionTest(tenantA, groupA)).outcome, 'passed');
    // Tenant B claims the same service account but does not know its password.
    const tenantB = await createTenant('Tenant B');
    const groupB = await kerberosGroup(tenantB, settings(), { password: 'guessed-Pass1' });
    const result = await connectionTest(tenantB, groupB);
    assert.equal(result.outcome, 'failed');
    assert.equal(result.byName.tokenAcquisition!.code, 'InvalidCredentials');
    assert.equal(result.byName.authentication!.status, 'skipped', 'nothing reached Exchange for tenant B');

    // The same holds at the token source, even with equal group ids: caches are per tenant.
    const base = { groupId: 'same-group', realm: REALM, kdcs: [kdc.address], userPrincipal: SVC, servicePrincipal: SPN, credentialVersion: 'v1' };
    const a = { ...base, tenantId: 'tenant-a', secret: { kind: 'password' as const, password: new SecretString(SVC_PASSWORD) } };
    const b = { ...base, tenantId: 'tenant-b', secret: { kind: 'password' as const, password: new SecretString('guessed-Pass1') } };
    assert.ok((await negotiateTokenSource(a).getToken()).reveal().length > 100);
    await assert.rejects(negotiateTokenSource(b).getToken(), (error: { code?: string }) => error.code === 'InvalidCredentials');
    assert.notEqual(await ticketCachePath(a), await ticketCachePath(b));
  });

  it('the simulator refuses a forged, foreign-SPN or replayed token as IIS does: 401, Negotiate offered, nothing echoed', async () => {
    const base = { tenantId: 'probe', groupId: 'probe', realm: REALM, kdcs: [kdc.address], userPrincipal: SVC, credentialVersion: 'v1', secret: { kind: 'password' as const, password: new SecretString(SVC_PASSWORD) } };
    const good = (await negotiateTokenSource({ ...base, servicePrincipal: SPN }).getToken()).reveal();
    const foreign = (await negotiateTokenSource({ ...base, servicePrincipal: FOREIGN_SPN }).getToken()).reveal();
    const forged = Buffer.from(good, 'base64');
    forged[forged.length - 20]! ^= 0xff;
    const envelope = '<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>';
    const post = (token: string) => fetch(stack.ews!.url, { method: 'POST', headers: { authorization: `Negotiate ${token}`, 'content-type': 'text/xml' }, body: envelope });
    const first = await post(good);
    assert.notEqual(first.status, 401, 'the genuine token is accepted');
    for (const [what, token] of [['replayed', good], ['foreign SPN', foreign], ['forged', forged.toString('base64')], ['garbage', 'YIIBAAAAAAAA']] as const) {
      const response = await post(token);
      assert.equal(response.status, 401, what);
      assert.match(response.headers.get('www-authenticate') ?? '', /\bNegotiate\b/, what);
      const body = await response.text();
      assert.equal(body, '', `${what}: empty body`);
      assert.ok(!(response.headers.get('www-authenticate') ?? '').includes(token.slice(0, 16)), `${what}: the token is not echoed`);
    }
  });
});
