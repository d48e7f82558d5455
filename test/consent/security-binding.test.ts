/**
 * Tenant isolation, tried as an attacker with a legitimate Connector.TenantAdmin account of its
 * own connector tenant (docs/security.md): it must not bind its tenant to another organisation's
 * Entra tenant, lift its own suspension, forge the admin-consent callback, or get the connector
 * app's tokens sent to a server it controls. Everything goes through the HTTP API of the
 * production functions on the local stack.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { listen, closeServer } from '../../dev/server-lifecycle';
import { requestJson } from '../support/http-json';
import type { JsonResponse } from '../support/http-json';
import { answerAdminConsent } from '../support/admin-consent-browser';
import { d, resultCode, startConsentStack } from './consent-stack';
import type { ConsentStack } from './consent-stack';

/** The victim: an organisation whose Entra tenant consented to the connector app (Contoso in the local IdP). */
const VICTIM_ENTRA_TENANT = d.contosoTenantId;
const NEW_ORGANISATION = '00000000-0000-4000-8000-0000000000e7';

let stack: ConsentStack;
let attackerServer: Server;
let attackerUrl: string;
const attackerSaw: { method: string; url: string; headers: IncomingHttpHeaders }[] = [];

before(async () => {
  stack = await startConsentStack();
  // A server the attacker controls, posing as an Exchange server: it records whatever reaches it.
  attackerServer = createServer((request, response) => {
    attackerSaw.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
    request.resume();
    response.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' }).end('no');
  });
  await listen(attackerServer, 0, '127.0.0.1');
  const port = (attackerServer.address() as AddressInfo).port;
  attackerUrl = `http://127.0.0.1:${port}/EWS/Exchange.asmx`;
  stack.idp.control.addTenant({ id: NEW_ORGANISATION, displayName: 'Northwind', domains: ['northwind.example'] });
  stack.idp.control.addUser({ tenantId: NEW_ORGANISATION, userPrincipalName: 'admin@northwind.example', password: 'Northwind-Admin-Pass1', displayName: 'Northwind Admin', isTenantAdmin: true });
  stack.idp.control.addUser({ tenantId: NEW_ORGANISATION, userPrincipalName: 'user@northwind.example', password: 'Northwind-User-Pass1', displayName: 'Northwind User' });
});

after(async () => {
  await stack?.close();
  if (attackerServer) await closeServer(attackerServer);
});

function tenantAdminToken(tenantId: string): string {
  return stack.idp.control.issueAccessToken({
    tenantId: d.operatorTenantId,
    audience: d.adminApi.audience,
    roles: ['Connector.TenantAdmin'],
    oid: d.users.operatorTenantAdmin.objectId,
    name: 'Tenant Admin X',
    upn: d.users.operatorTenantAdmin.upn,
    extraClaims: { connector_tenants: [tenantId] },
  });
}

function asTenantAdmin(tenantId: string, method: string, path: string, body?: unknown): Promise<JsonResponse> {
  return requestJson(method, stack.baseUrl + path, { headers: { authorization: `Bearer ${tenantAdminToken(tenantId)}` }, body });
}

async function newTenant(displayName: string, extra: Record<string, unknown> = {}): Promise<string> {
  const created = await stack.request('POST', '/api/admin/tenants', { displayName, ...extra });
  assert.equal(created.status, 201, created.text);
  return created.body.id as string;
}

function bearerSentToAttacker(): boolean {
  return attackerSaw.some((r) => /^bearer /i.test(String(r.headers.authorization ?? '')));
}

describe('a tenant admin cannot bind its tenant to another organisation', () => {
  test('PATCH entraTenantId (set, change, remove) is 403 naming the field; nothing changes', async () => {
    const tenantX = await newTenant('Attacker X');
    for (const entraTenantId of [VICTIM_ENTRA_TENANT, null]) {
      const patched = await asTenantAdmin(tenantX, 'PATCH', `/api/admin/tenants/${tenantX}`, { entraTenantId });
      assert.equal(patched.status, 403, patched.text);
      assert.equal(patched.headers.get('content-type'), 'application/problem+json');
      assert.equal(patched.body.code, 'OperatorAdminRequired');
      assert.deepEqual(patched.body.errors.map((e: { pointer: string }) => e.pointer), ['/entraTenantId']);
    }
    const tenant = await stack.request('GET', `/api/admin/tenants/${tenantX}`);
    assert.equal(tenant.body.entraTenantId, undefined);
    // Renaming is still the tenant admin's own business.
    assert.equal((await asTenantAdmin(tenantX, 'PATCH', `/api/admin/tenants/${tenantX}`, { displayName: 'X Ltd' })).status, 200);
  });

  test('a Connector.Admin binding is audited, and one Entra tenant binds one connector tenant unless allowed', async () => {
    const first = await newTenant('Northwind', { entraTenantId: NEW_ORGANISATION });
    const view = await stack.request('GET', `/api/admin/tenants/${first}`);
    assert.equal(view.body.entraTenantBoundBy, 'operator');
    const audit: { action: string; details: Record<string, unknown> }[] = [];
    for await (const entry of stack.inProcess.audit.list(first)) audit.push(entry);
    const bound = audit.find((e) => e.action === 'tenant.entraTenantBound');
    assert.ok(bound, JSON.stringify(audit));
    assert.equal(bound.details.entraTenantId, NEW_ORGANISATION);
    assert.equal(bound.details.method, 'operator');

    const second = await stack.request('POST', '/api/admin/tenants', { displayName: 'Northwind again', entraTenantId: NEW_ORGANISATION });
    assert.equal(second.status, 409, second.text);
    assert.equal(second.body.code, 'EntraTenantAlreadyBound');
    assert.deepEqual(second.body.errors.map((e: { pointer: string }) => e.pointer), ['/entraTenantId']);
    const other = await newTenant('Northwind subsidiary');
    assert.equal((await stack.request('PATCH', `/api/admin/tenants/${other}`, { entraTenantId: NEW_ORGANISATION })).status, 409);
    const allowed = await stack.request('PATCH', `/api/admin/tenants/${other}`, { entraTenantId: NEW_ORGANISATION, allowSharedEntraTenant: true });
    assert.equal(allowed.status, 200, allowed.text);
    assert.equal(allowed.body.allowSharedEntraTenant, true);
    // Deleting the shared binding leaves the first one alone.
    assert.equal((await stack.request('PATCH', `/api/admin/tenants/${other}`, { entraTenantId: null })).status, 200);
  });

  test('a tenant admin cannot lift its suspension or change its status', async () => {
    const tenantX = await newTenant('Suspended X');
    assert.equal((await stack.request('PATCH', `/api/admin/tenants/${tenantX}`, { status: 'suspended' })).status, 200);
    for (const body of [{ status: 'active' }, { status: 'suspended' }, { status: 'active', displayName: 'X again', allowSharedEntraTenant: true }]) {
      const lifted = await asTenantAdmin(tenantX, 'PATCH', `/api/admin/tenants/${tenantX}`, body);
      assert.equal(lifted.status, 403, lifted.text);
      assert.ok(lifted.body.errors.some((e: { pointer: string }) => e.pointer === '/status'));
    }
    assert.equal((await stack.request('GET', `/api/admin/tenants/${tenantX}`)).body.status, 'suspended');
    assert.equal((await stack.request('GET', `/api/admin/tenants/${tenantX}`)).body.displayName, 'Suspended X');
  });
});

describe('the admin-consent callback proves the organisation', () => {
  async function consentLink(tenantId: string): Promise<URL> {
    const link = await asTenantAdmin(tenantId, 'POST', `/api/admin/tenants/${tenantId}/consent`);
    assert.equal(link.status, 200, link.text);
    return new URL(link.body.url);
  }

  test('a forged callback (admin_consent=True, any tenant, an unused state) binds nothing', async () => {
    const tenantX = await newTenant('Forger X');
    const state = (await consentLink(tenantX)).searchParams.get('state')!;
    const forged = await fetch(`${stack.baseUrl}/api/consent/admin/callback?admin_consent=True&tenant=${VICTIM_ENTRA_TENANT}&state=${encodeURIComponent(state)}`, { redirect: 'manual' });
    // Instead of a "granted" page: the browser is sent to sign in, which is what proves anything.
    assert.equal(forged.status, 302, await forged.text());
    assert.ok(forged.headers.get('location')!.startsWith(stack.idp.url));
    assert.equal((await stack.request('GET', `/api/admin/tenants/${tenantX}`)).body.entraTenantId, undefined);
    assert.equal((await stack.request('GET', `/api/admin/tenants/${tenantX}/consent`)).body.status, 'notRequested');
    // The state is spent: replaying it with another tenant changes nothing either.
    const again = await fetch(`${stack.baseUrl}/api/consent/admin/callback?admin_consent=True&tenant=${NEW_ORGANISATION}&state=${encodeURIComponent(state)}`);
    assert.equal(resultCode(await again.text()), 'StateReplayed');
  });

  async function consentThrough(tenantId: string, user: { upn: string; password: string }): Promise<{ status: number; code: string | undefined }> {
    return answerAdminConsent((await consentLink(tenantId)).href, user);
  }

  test('a user without an administrator role cannot complete the proof (even after a forged first leg)', async () => {
    const tenantX = await newTenant('Forger with a user account');
    const state = (await consentLink(tenantX)).searchParams.get('state')!;
    const forged = await fetch(`${stack.baseUrl}/api/consent/admin/callback?admin_consent=True&tenant=${NEW_ORGANISATION}&state=${encodeURIComponent(state)}`, { redirect: 'manual' });
    const signIn = new URL(forged.headers.get('location')!);
    signIn.searchParams.set('login_hint', 'user@northwind.example');
    signIn.searchParams.set('dev_password', 'Northwind-User-Pass1');
    signIn.searchParams.set('dev_consent', 'accept');
    const signedIn = await fetch(signIn, { redirect: 'manual' });
    assert.equal(signedIn.status, 302, await signedIn.text());
    const page = await fetch(signedIn.headers.get('location')!);
    assert.equal(page.status, 403);
    assert.equal(resultCode(await page.text()), 'NotAnAdministrator');
    assert.equal((await stack.request('GET', `/api/admin/tenants/${tenantX}`)).body.entraTenantId, undefined);
  });

  test("an administrator's consent binds the tenant from the id_token; a second connector tenant for the same organisation is refused", async () => {
    const tenantA = await newTenant('Contoso (consented)');
    const granted = await consentThrough(tenantA, d.users.contosoAdmin);
    assert.equal(granted.code, 'AdminConsentGranted');
    const tenant = await stack.request('GET', `/api/admin/tenants/${tenantA}`);
    assert.equal(tenant.body.entraTenantId, VICTIM_ENTRA_TENANT);
    assert.equal(tenant.body.entraTenantBoundBy, 'adminConsent');

    // The attacker's tenant tricks Contoso's admin into consenting once more, for tenant X.
    const tenantX = await newTenant('Attacker X wants Contoso');
    const second = await consentThrough(tenantX, d.users.contosoAdmin);
    assert.equal(second.status, 409);
    assert.equal(second.code, 'EntraTenantAlreadyBound');
    assert.equal((await stack.request('GET', `/api/admin/tenants/${tenantX}`)).body.entraTenantId, undefined);
  });
});

describe("the connector app's tokens go to Microsoft only", () => {
  test('the issue-10 attack: binding, sender mailbox, delegated group on a foreign EWS URL, emailed invitation', async () => {
    // The whole attack is played first, as the attacker would, whatever each step answers; then we look.
    const tenantX = await newTenant('Attacker X (full attack)');
    const bind = await asTenantAdmin(tenantX, 'PATCH', `/api/admin/tenants/${tenantX}`, { entraTenantId: VICTIM_ENTRA_TENANT });
    const sender = await asTenantAdmin(tenantX, 'PUT', `/api/admin/tenants/${tenantX}/consent-settings`, { senderMailbox: 'dispatch@contoso.com', emailInvitations: true });
    const foreign = await asTenantAdmin(tenantX, 'POST', `/api/admin/tenants/${tenantX}/groups`, { name: 'Exfiltrate', externalId: 'exfil', mailboxAccessType: 'delegated', ewsUrl: attackerUrl });
    const group = foreign.status === 201 ? foreign : await asTenantAdmin(tenantX, 'POST', `/api/admin/tenants/${tenantX}/groups`, { name: 'Exfiltrate', externalId: 'exfil', mailboxAccessType: 'delegated' });
    assert.equal(group.status, 201, group.text);
    assert.equal((await asTenantAdmin(tenantX, 'POST', `/api/admin/tenants/${tenantX}/groups/${group.body.id}/mailboxes`, { smtpAddress: 'bob@contoso.com' })).status, 201);
    const invited = await asTenantAdmin(tenantX, 'POST', `/api/admin/tenants/${tenantX}/groups/${group.body.id}/invitations`, { mailboxes: ['bob@contoso.com'], sendEmail: true });

    assert.equal(bearerSentToAttacker(), false, "the connector app's token for the victim organisation reached the attacker's server");
    assert.equal(bind.status, 403, bind.text);
    assert.equal(sender.status, 200, 'choosing a sender mailbox is allowed; it is only ever used in a verified organisation');
    assert.equal(foreign.status, 400, foreign.text);
    assert.deepEqual(foreign.body.errors.map((e: { pointer: string }) => e.pointer), ['/ewsUrl']);
    assert.match(foreign.body.errors[0].detail, /Exchange Online/);
    assert.equal(invited.status, 201, invited.text);
    assert.equal(invited.body.items[0].email.sentAt, undefined);
    assert.match(invited.body.items[0].email.error, /not verified/);
    assert.equal((await stack.request('GET', `/api/admin/tenants/${tenantX}`)).body.entraTenantId, undefined);
    // Nor can the invited user be walked into signing in for an organisation the tenant is not bound to.
    const start = await fetch(invited.body.items[0].link, { redirect: 'manual' });
    assert.equal(start.status, 409);
    assert.equal(resultCode(await start.text()), 'TenantNotVerified');
  });

  test('a binding stored before bindings were proved is not trusted until a Connector.Admin confirms it', async () => {
    const tenantId = await newTenant('Legacy binding');
    const tenants = stack.inProcess.tenants;
    const stored = await tenants.get(tenantId);
    const { etag, ...record } = stored;
    await tenants.replace({ ...record, entraTenantId: NEW_ORGANISATION, allowSharedEntraTenant: true }, etag);
    assert.equal((await stack.request('GET', `/api/admin/tenants/${tenantId}`)).body.entraTenantBoundBy, undefined);
    const confirmed = await stack.request('PATCH', `/api/admin/tenants/${tenantId}`, { entraTenantId: NEW_ORGANISATION });
    assert.equal(confirmed.status, 200, confirmed.text);
    assert.equal(confirmed.body.entraTenantBoundBy, 'operator');
  });

  test('a delegated group row that still names a foreign EWS URL (stored before the fix) never sends a token there', async () => {
    // A Connector.Admin bound this tenant to Contoso; its old delegated group row points at the attacker.
    const tenantId = await newTenant('Contoso legacy', { entraTenantId: VICTIM_ENTRA_TENANT, allowSharedEntraTenant: true });
    const at = new Date().toISOString();
    const groupId = '0000000a-0000-4000-8000-00000000beef';
    await stack.inProcess.groups.create({
      tenantId, id: groupId, name: 'Legacy', externalId: 'legacy', mailboxAccessType: 'delegated', ewsUrl: attackerUrl, folders: ['mail'], pollIntervalMinutes: 5,
      initialSync: { kind: 'all' }, enabled: true, createdAt: at, updatedAt: at,
    });
    assert.equal((await stack.request('POST', `/api/admin/tenants/${tenantId}/groups/${groupId}/mailboxes`, { smtpAddress: 'carol@contoso.com' })).status, 201);
    assert.equal((await stack.request('PUT', `/api/admin/tenants/${tenantId}/consent-settings`, { senderMailbox: 'dispatch@contoso.com', emailInvitations: true })).status, 200);
    const invited = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups/${groupId}/invitations`, { mailboxes: ['carol@contoso.com'], sendEmail: true });
    assert.equal(invited.status, 201, invited.text);
    // The invitation went out through Exchange Online (the simulator behind EWS_DEFAULT_URL), not through the group's URL.
    assert.ok(invited.body.items[0].email.sentAt, invited.text);
    assert.equal(bearerSentToAttacker(), false, 'no bearer token reached the foreign server');
    assert.equal(attackerSaw.length, 0);
  });
});
