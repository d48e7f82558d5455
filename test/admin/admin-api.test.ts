import assert from 'node:assert/strict';
import { DEMO_IDENTITY } from '../../dev/identity/demo-seed';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { devStateDir, ensureDevCertificate } from '../../dev/certs';
import { projectRoot } from '../../dev/project-paths';
import { SecretString } from '../../shared/logging';
import { DeliveryStatusRepository, TableStorage } from '../../shared/storage';
import { SyncStateRepository } from '../../shared/storage/sync-state-repository';
import { startAdminStack } from './admin-stack';
import type { AdminStack, ApiResponse } from './admin-stack';

let stack: AdminStack;

before(async () => {
  stack = await startAdminStack();
});

after(async () => {
  await stack.close();
});

function pointers(response: ApiResponse): string[] {
  return (response.body?.errors ?? []).map((e: { pointer: string }) => e.pointer);
}

async function createTenant(displayName = 'Contoso'): Promise<string> {
  const created = await stack.request('POST', '/api/admin/tenants', { body: { displayName } });
  assert.equal(created.status, 201, created.text);
  return created.body.id;
}

const impersonationGroup = (externalId: string) => ({
  name: 'Sales',
  externalId,
  mailboxAccessType: 'impersonation',
  ewsUrl: 'https://mail.contoso.com/EWS/Exchange.asmx',
  impersonation: { serviceAccount: 'svc-connector@contoso.com', authScheme: 'ntlm' },
  folders: ['mail', 'calendar'],
});

async function createGroup(tenantId: string, body: object = impersonationGroup(`ext-${Math.random()}`)): Promise<string> {
  const created = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, { body });
  assert.equal(created.status, 201, created.text);
  return created.body.id;
}

describe('authentication', () => {
  test('no token: 401 with a Bearer challenge and a problem body', async () => {
    const response = await stack.request('GET', '/api/admin/tenants', { token: null });
    assert.equal(response.status, 401);
    assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer /);
    assert.equal(response.headers.get('content-type'), 'application/problem+json');
    assert.equal(response.body.code, 'Unauthorized');
  });

  test('a forged or wrong-audience token is 401; a valid token without an admin role is 403', async () => {
    const forged = await stack.request('GET', '/api/admin/ping', { token: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln' });
    assert.equal(forged.status, 401);
    assert.match(forged.headers.get('www-authenticate') ?? '', /invalid_token/);
    const wrongAudience = stack.idp.control.issueAccessToken({ tenantId: '00000000-0000-4000-8000-000000000001', audience: 'https://outlook.office365.com', roles: ['Connector.Admin'] });
    assert.equal((await stack.request('GET', '/api/admin/ping', { token: wrongAudience })).status, 401);
    // Entra issues the admin API's v2.0 tokens with aud = its client id; the identifier URI is never an aud.
    const uriAudience = stack.idp.control.issueAccessToken({ tenantId: '00000000-0000-4000-8000-000000000001', audience: 'api://exchange-connector', roles: ['Connector.Admin'] });
    assert.equal((await stack.request('GET', '/api/admin/ping', { token: uriAudience })).status, 401);
    const noRole = stack.idp.control.issueAccessToken({ tenantId: '00000000-0000-4000-8000-000000000001', audience: DEMO_IDENTITY.adminApi.appId, roles: [] });
    const forbidden = await stack.request('GET', '/api/admin/ping', { token: noRole });
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.headers.get('www-authenticate'), null);
  });

  test('ping answers with the principal name and roles', async () => {
    const response = await stack.request('GET', '/api/admin/ping');
    assert.equal(response.status, 200);
    assert.equal(response.body.name, 'Operator Admin');
    assert.deepEqual(response.body.roles, ['Connector.Admin']);
  });

  test('the OpenAPI document is anonymous, 3.1, and covers every admin route', async () => {
    const response = await stack.request('GET', '/api/openapi.json', { token: null });
    assert.equal(response.status, 200);
    assert.equal(response.body.openapi, '3.1.0');
    for (const path of ['/admin/tenants', '/admin/tenants/{tenantId}/groups/{groupId}/credentials', '/admin/tenants/{tenantId}/groups/{groupId}/mailbox-imports']) {
      assert.ok(response.body.paths[path], `missing ${path}`);
    }
    const createGroupSchema = response.body.components.schemas.CreateGroupRequest;
    assert.equal(createGroupSchema.additionalProperties, false);
    assert.ok(createGroupSchema.required.includes('externalId'));
    assert.deepEqual(response.body.paths['/admin/tenants'].post.security, [{ entraBearer: [] }]);
  });
});

describe('tenants', () => {
  test('create, read, list with paging, update with ETags, delete', async () => {
    const created = await stack.request('POST', '/api/admin/tenants', { body: { displayName: 'Fabrikam', entraTenantId: '00000000-0000-4000-8000-0000000000F2' } });
    assert.equal(created.status, 201);
    assert.match(created.headers.get('location') ?? '', new RegExp(`/api/admin/tenants/${created.body.id}$`));
    assert.equal(created.body.entraTenantId, '00000000-0000-4000-8000-0000000000f2');
    assert.equal(created.body.status, 'active');
    const id: string = created.body.id;
    const etag = created.headers.get('etag') ?? '';
    assert.ok(etag);

    for (let i = 0; i < 3; i++) await createTenant(`Paging ${i}`);
    const seen = new Set<string>();
    let token: string | undefined;
    do {
      const page = await stack.request('GET', `/api/admin/tenants?limit=2${token ? `&continuationToken=${encodeURIComponent(token)}` : ''}`);
      assert.equal(page.status, 200);
      assert.ok(page.body.items.length <= 2);
      for (const tenant of page.body.items) seen.add(tenant.id);
      token = page.body.continuationToken;
    } while (token);
    assert.ok(seen.has(id) && seen.size >= 4);

    const renamed = await stack.request('PATCH', `/api/admin/tenants/${id}`, { body: { displayName: 'Fabrikam Inc', status: 'suspended' }, headers: { 'if-match': etag } });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.displayName, 'Fabrikam Inc');
    assert.equal(renamed.body.status, 'suspended');
    const stale = await stack.request('PATCH', `/api/admin/tenants/${id}`, { body: { displayName: 'Lost update' }, headers: { 'if-match': etag } });
    assert.equal(stale.status, 412);
    assert.equal((await stack.request('GET', `/api/admin/tenants/${id}`)).body.displayName, 'Fabrikam Inc');

    const cleared = await stack.request('PATCH', `/api/admin/tenants/${id}`, { body: { entraTenantId: null } });
    assert.equal(cleared.body.entraTenantId, undefined);

    assert.equal((await stack.request('DELETE', `/api/admin/tenants/${id}`)).status, 204);
    const gone = await stack.request('GET', `/api/admin/tenants/${id}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.code, 'TenantNotFound');
  });

  test('validation names each field at fault; unknown fields are rejected', async () => {
    const response = await stack.request('POST', '/api/admin/tenants', { body: { displayName: '', status: 'archived', colour: 'red' } });
    assert.equal(response.status, 400);
    assert.equal(response.headers.get('content-type'), 'application/problem+json');
    assert.deepEqual(pointers(response).sort(), ['/colour', '/displayName', '/status']);
  });

  test('a tenant with groups cannot be deleted', async () => {
    const tenantId = await createTenant();
    await createGroup(tenantId);
    const response = await stack.request('DELETE', `/api/admin/tenants/${tenantId}`);
    assert.equal(response.status, 409);
    assert.equal(response.body.code, 'TenantNotEmpty');
  });
});

describe('groups', () => {
  test('create with defaults, read, list, update, delete (with its mailboxes)', async () => {
    const tenantId = await createTenant();
    const created = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, { body: impersonationGroup('sales-emea') });
    assert.equal(created.status, 201, created.text);
    const group = created.body;
    assert.equal(group.pollIntervalMinutes, 5);
    assert.deepEqual(group.initialSync, { kind: 'all' });
    assert.equal(group.enabled, true);
    assert.deepEqual(group.credentials, { credentialSet: false });

    const appOnly = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, {
      body: { name: 'Online', externalId: 'online', mailboxAccessType: 'appOnly', appOnly: { entraTenantId: '00000000-0000-4000-8000-0000000000d1', clientId: '00000000-0000-4000-8000-0000000000a7' } },
    });
    assert.equal(appOnly.status, 201, appOnly.text);
    assert.equal(appOnly.body.ewsUrl, 'https://outlook.office365.com/EWS/Exchange.asmx', 'app-only groups default to the configured EWS URL');

    const list = await stack.request('GET', `/api/admin/tenants/${tenantId}/groups`);
    assert.deepEqual(list.body.items.map((g: { externalId: string }) => g.externalId).sort(), ['online', 'sales-emea']);

    const updated = await stack.request('PATCH', `/api/admin/tenants/${tenantId}/groups/${group.id}`, {
      body: { pollIntervalMinutes: 15, delivery: { kind: 'webhook', url: 'https://erp.contoso.com/hooks/mail' }, initialSync: { kind: 'since', since: '2025-01-01T00:00:00Z' } },
    });
    assert.equal(updated.status, 200, updated.text);
    assert.equal(updated.body.pollIntervalMinutes, 15);
    assert.deepEqual(updated.body.delivery, { kind: 'webhook', url: 'https://erp.contoso.com/hooks/mail' });
    assert.equal(updated.body.externalId, 'sales-emea');

    await stack.request('POST', `/api/admin/tenants/${tenantId}/groups/${group.id}/mailboxes`, { body: { smtpAddress: 'alice@contoso.com' } });
    assert.equal((await stack.request('DELETE', `/api/admin/tenants/${tenantId}/groups/${group.id}`)).status, 204);
    assert.equal((await stack.request('GET', `/api/admin/tenants/${tenantId}/groups/${group.id}`)).status, 404);
    assert.equal((await stack.request('GET', `/api/admin/tenants/${tenantId}/groups/${group.id}/mailboxes/alice@contoso.com`)).status, 404);
    // The external ID is free again once its group is gone.
    assert.equal((await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, { body: impersonationGroup('sales-emea') })).status, 201);
  });

  test('externalId is unique in the tenant and read-only after creation', async () => {
    const tenantId = await createTenant();
    const groupId = await createGroup(tenantId, impersonationGroup('erp-42'));
    const duplicate = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, { body: impersonationGroup('erp-42') });
    assert.equal(duplicate.status, 409);
    const otherTenant = await createTenant();
    assert.equal((await stack.request('POST', `/api/admin/tenants/${otherTenant}/groups`, { body: impersonationGroup('erp-42') })).status, 201);

    const change = await stack.request('PATCH', `/api/admin/tenants/${tenantId}/groups/${groupId}`, { body: { externalId: 'erp-43', name: 'Renamed' } });
    assert.equal(change.status, 400);
    assert.deepEqual(pointers(change), ['/externalId']);
    assert.equal((await stack.request('GET', `/api/admin/tenants/${tenantId}/groups/${groupId}`)).body.name, 'Sales', 'nothing changed');
    const same = await stack.request('PATCH', `/api/admin/tenants/${tenantId}/groups/${groupId}`, { body: { externalId: 'erp-42', name: 'Renamed' } });
    assert.equal(same.status, 200, 'sending the unchanged value is fine');
    const accessType = await stack.request('PATCH', `/api/admin/tenants/${tenantId}/groups/${groupId}`, { body: { mailboxAccessType: 'appOnly' } });
    assert.deepEqual(pointers(accessType), ['/mailboxAccessType']);
  });

  test('a body with four mistakes gets one answer naming all four (schema and cross-field rules together)', async () => {
    const tenantId = await createTenant();
    // pollIntervalMinutes and the unknown field are schema faults; the missing impersonation
    // settings and the http EWS URL are cross-field rules, which used to show only after the
    // schema faults were fixed.
    const response = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, {
      body: { name: 'Sales', externalId: 'four-faults', mailboxAccessType: 'impersonation', ewsUrl: 'http://mail.contoso.com/EWS/Exchange.asmx', pollIntervalMinutes: 0, colour: 'blue' },
    });
    assert.equal(response.status, 400, response.text);
    assert.deepEqual(pointers(response).sort(), ['/colour', '/ewsUrl', '/impersonation', '/pollIntervalMinutes']);
    const patch = await stack.request('PATCH', `/api/admin/tenants/${tenantId}/groups/${await createGroup(tenantId)}`, {
      body: { externalId: 'changed', delivery: { kind: 'webhook', url: 'ftp://erp.contoso.com/hook' } },
    });
    assert.deepEqual(pointers(patch).sort(), ['/delivery/url', '/externalId'], 'read-only and URL rules are reported together on update');
    const credentials = await stack.request('PUT', `/api/admin/tenants/${tenantId}/groups/${await createGroup(tenantId)}/credentials`, { body: { clientSecret: 'not-for-impersonation', expiresOn: 'next tuesday' } });
    assert.equal(credentials.status, 400);
    assert.deepEqual(pointers(credentials).sort(), ['/clientSecret', '/expiresOn'], 'the wrong credential kind and the bad date in one answer');
    assert.doesNotMatch(credentials.text, /not-for-impersonation/);
  });

  test('access-type rules and URL policy are reported per field', async () => {
    const tenantId = await createTenant();
    const missing = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, { body: { name: 'X', externalId: 'x', mailboxAccessType: 'impersonation' } });
    assert.equal(missing.status, 400);
    assert.deepEqual(pointers(missing).sort(), ['/ewsUrl', '/impersonation']);
    const plainHttp = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, { body: { ...impersonationGroup('y'), ewsUrl: 'http://mail.contoso.com/EWS/Exchange.asmx' } });
    assert.deepEqual(pointers(plainHttp), ['/ewsUrl']);
    const loopback = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, { body: { ...impersonationGroup('z'), ewsUrl: 'http://127.0.0.1:8445/EWS/Exchange.asmx' } });
    assert.equal(loopback.status, 201, 'development allows plain http on loopback');
    const withPassword = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, { body: { ...impersonationGroup('w'), ewsUrl: 'https://svc:hunter2@mail.contoso.com/EWS/Exchange.asmx' } });
    assert.deepEqual(pointers(withPassword), ['/ewsUrl']);
    assert.doesNotMatch(withPassword.text, /hunter2/);
    const mixed = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, {
      body: { name: 'D', externalId: 'd', mailboxAccessType: 'delegated', appOnly: { entraTenantId: '00000000-0000-4000-8000-0000000000d1', clientId: '00000000-0000-4000-8000-0000000000d2' }, folders: ['mail', 'mail'] },
    });
    assert.deepEqual(pointers(mixed).sort(), ['/appOnly', '/folders'], 'the schema fault and the access-type rule in one answer');
    const mixed2 = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, {
      body: { name: 'D', externalId: 'd', mailboxAccessType: 'delegated', appOnly: { entraTenantId: '00000000-0000-4000-8000-0000000000d1', clientId: '00000000-0000-4000-8000-0000000000d2' } },
    });
    assert.deepEqual(pointers(mixed2), ['/appOnly']);
    const queueOverHttp = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, {
      body: { ...impersonationGroup('q'), delivery: { kind: 'queue', queueName: 'changes', accountUrl: 'http://queues.example.com', processAndDelete: 'hardDelete' } },
    });
    assert.deepEqual(pointers(queueOverHttp), ['/delivery/accountUrl']);
  });

  test('webhook targets in development: http only to loopback, https anywhere, checked on POST and PATCH', async () => {
    const tenantId = await createTenant();
    const withWebhook = (externalId: string, url: string) => stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, { body: { ...impersonationGroup(externalId), delivery: { kind: 'webhook', url } } });
    assert.equal((await withWebhook('local', 'http://127.0.0.1:8446/webhook')).status, 201, 'the local demo receiver');
    assert.equal((await withWebhook('local-name', 'http://localhost:8446/webhook')).status, 201);
    for (const [externalId, url] of [['lan', 'http://10.0.0.5/hook'], ['public-http', 'http://93.184.216.34/hook'], ['link-local', 'http://169.254.169.254/latest']]) {
      const refused = await withWebhook(externalId!, url!);
      assert.equal(refused.status, 400, url);
      assert.equal(refused.headers.get('content-type'), 'application/problem+json');
      assert.deepEqual(pointers(refused), ['/delivery/url'], url);
    }
    const created = await withWebhook('tls', 'https://10.0.0.5/hook');
    assert.equal(created.status, 201, 'https to a private address is allowed in development (local receivers)');
    const patched = await stack.request('PATCH', `/api/admin/tenants/${tenantId}/groups/${created.body.id}`, { body: { delivery: { kind: 'webhook', url: 'http://192.168.1.20/hook' } } });
    assert.deepEqual(pointers(patched), ['/delivery/url']);
  });
});

describe('mailboxes', () => {
  test('CRUD: addresses are case-insensitive keys; status is read-only and follows enabled', async () => {
    const tenantId = await createTenant();
    const groupId = await createGroup(tenantId);
    const base = `/api/admin/tenants/${tenantId}/groups/${groupId}/mailboxes`;
    const created = await stack.request('POST', base, { body: { smtpAddress: 'Alice@Contoso.com', displayName: 'Alice', userId: 'E1001' } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.smtpAddress, 'alice@contoso.com');
    assert.equal(created.body.status, 'pending');
    assert.deepEqual(created.body.counts, { created: 0, updated: 0, deleted: 0 });
    assert.equal((await stack.request('POST', base, { body: { smtpAddress: 'ALICE@contoso.com' } })).status, 409);

    const read = await stack.request('GET', `${base}/${encodeURIComponent('ALICE@CONTOSO.COM')}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.userId, 'E1001');

    const disabled = await stack.request('PATCH', `${base}/alice@contoso.com`, { body: { enabled: false, displayName: null } });
    assert.equal(disabled.body.status, 'disabled');
    assert.equal(disabled.body.displayName, undefined);
    const statusWrite = await stack.request('PATCH', `${base}/alice@contoso.com`, { body: { status: 'ok' } });
    assert.deepEqual(pointers(statusWrite), ['/status']);
    const enabled = await stack.request('PATCH', `${base}/alice@contoso.com`, { body: { enabled: true } });
    assert.equal(enabled.body.status, 'pending');

    assert.equal((await stack.request('GET', base)).body.items.length, 1);
    assert.equal((await stack.request('DELETE', `${base}/alice@contoso.com`)).status, 204);
    assert.equal((await stack.request('GET', `${base}/alice@contoso.com`)).status, 404);
    assert.equal((await stack.request('POST', base, { body: { smtpAddress: 'not-an-address' } })).status, 400);
  });

  test('bulk import reports every row; partial success is explicit; upsert and createOnly', async () => {
    const tenantId = await createTenant();
    const groupId = await createGroup(tenantId);
    const importUrl = `/api/admin/tenants/${tenantId}/groups/${groupId}/mailbox-imports`;
    await stack.request('POST', `/api/admin/tenants/${tenantId}/groups/${groupId}/mailboxes`, { body: { smtpAddress: 'existing@contoso.com', displayName: 'Old' } });
    const rows = [
      ...Array.from({ length: 250 }, (_, i) => ({ smtpAddress: `user${i}@contoso.com`, userId: `E${i}` })),
      { smtpAddress: 'broken' },
      { smtpAddress: 'user0@contoso.com' },
      { smtpAddress: 'existing@contoso.com', displayName: 'New' },
      { smtpAddress: 'extra@contoso.com', unknownField: 1 },
      'not even an object',
    ];
    const response = await stack.request('POST', importUrl, { body: { mailboxes: rows } });
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.outcome, 'partiallySucceeded');
    assert.deepEqual(response.body.summary, { total: 255, created: 250, updated: 1, unchanged: 0, failed: 4 });
    const results = response.body.results;
    assert.equal(results.length, rows.length);
    assert.deepEqual(results.map((r: { index: number }) => r.index), rows.map((_, i) => i));
    assert.equal(results[250].result, 'failed');
    assert.deepEqual(results[250].error.errors.map((e: { pointer: string }) => e.pointer), ['/mailboxes/250/smtpAddress']);
    assert.equal(results[251].error.code, 'DuplicateInRequest');
    assert.equal(results[252].result, 'updated');
    assert.deepEqual(results[253].error.errors.map((e: { pointer: string }) => e.pointer), ['/mailboxes/253/unknownField']);
    assert.equal(results[254].result, 'failed');
    assert.equal((await stack.request('GET', `/api/admin/tenants/${tenantId}/groups/${groupId}/mailboxes/existing@contoso.com`)).body.displayName, 'New');

    const again = await stack.request('POST', importUrl, { body: { mailboxes: [{ smtpAddress: 'user1@contoso.com', userId: 'E1' }] } });
    assert.equal(again.body.results[0].result, 'unchanged');
    assert.equal(again.body.outcome, 'succeeded');
    const createOnly = await stack.request('POST', importUrl, { body: { mode: 'createOnly', mailboxes: [{ smtpAddress: 'user1@contoso.com' }] } });
    assert.equal(createOnly.body.outcome, 'failed');
    assert.equal(createOnly.body.results[0].error.code, 'MailboxExists');

    let total = 0;
    let token: string | undefined;
    do {
      const page = await stack.request('GET', `/api/admin/tenants/${tenantId}/groups/${groupId}/mailboxes?limit=200${token ? `&continuationToken=${encodeURIComponent(token)}` : ''}`);
      total += page.body.items.length;
      token = page.body.continuationToken;
    } while (token);
    assert.equal(total, 251);

    const tooMany = await stack.request('POST', importUrl, { body: { mailboxes: Array.from({ length: 1001 }, (_, i) => ({ smtpAddress: `u${i}@contoso.com` })) } });
    assert.equal(tooMany.status, 400);
    assert.deepEqual(pointers(tooMany), ['/mailboxes']);
    const huge = await stack.request('POST', importUrl, { rawBody: JSON.stringify({ mailboxes: [{ smtpAddress: 'a@contoso.com', displayName: 'x'.repeat(3 * 1024 * 1024) }] }), headers: { 'content-type': 'application/json' } });
    assert.equal(huge.status, 413);
  });
});

describe('health shown on the resources', () => {
  function storage(): TableStorage {
    return new TableStorage({ storage: { kind: 'connectionString', connectionString: new SecretString(stack.azurite.connectionString) } });
  }

  test('a group shows its delivery health as the delivery pipeline records it', async () => {
    const tenantId = await createTenant();
    const groupId = await createGroup(tenantId, { ...impersonationGroup('health'), delivery: { kind: 'webhook', url: 'http://127.0.0.1:8446/webhook' } });
    const path = `/api/admin/tenants/${tenantId}/groups/${groupId}`;
    assert.equal((await stack.request('GET', path)).body.deliveryHealth, undefined, 'nothing before the first delivery');

    const status = new DeliveryStatusRepository(storage());
    await status.recordSuccess(tenantId, groupId, new Date('2025-05-01T10:00:00Z'));
    await status.recordFailure(tenantId, groupId, { code: 'HttpStatus503', message: 'The target answered 503' }, new Date('2025-05-02T09:00:00Z'));
    await status.recordFailure(tenantId, groupId, { code: 'Timeout', message: 'No answer within 10 s' }, new Date('2025-05-02T09:05:00Z'));
    const failing = await stack.request('GET', path);
    assert.deepEqual(failing.body.deliveryHealth, {
      lastDeliveredAt: '2025-05-01T10:00:00.000Z',
      failingSince: '2025-05-02T09:00:00.000Z',
      lastDeliveryError: { code: 'Timeout', message: 'No answer within 10 s', at: '2025-05-02T09:05:00.000Z' },
    });
    await status.recordSuccess(tenantId, groupId, new Date('2025-05-02T09:10:00Z'));
    assert.deepEqual((await stack.request('GET', path)).body.deliveryHealth, { lastDeliveredAt: '2025-05-02T09:10:00.000Z' }, 'a success clears the failure');
  });

  test('a mailbox shows the sync progress of the running pass', async () => {
    const tenantId = await createTenant();
    const groupId = await createGroup(tenantId);
    const mailboxes = `/api/admin/tenants/${tenantId}/groups/${groupId}/mailboxes`;
    assert.equal((await stack.request('POST', mailboxes, { body: { smtpAddress: 'Alice@Contoso.com' } })).status, 201);
    assert.equal((await stack.request('GET', `${mailboxes}/alice%40contoso.com`)).body.syncProgress, undefined, 'nothing before the first run');

    await new SyncStateRepository(storage()).saveProgress({
      tenantId, groupId, mailbox: 'alice@contoso.com', itemsSyncedInPass: 1500, continuationPending: true, continuationReason: 'timeBudget', lastRunAt: '2025-05-02T09:00:00.000Z',
    });
    const mailbox = await stack.request('GET', `${mailboxes}/ALICE%40contoso.com`);
    assert.equal(mailbox.status, 200);
    assert.deepEqual(mailbox.body.syncProgress, { itemsSyncedInPass: 1500, continuationPending: true, continuationReason: 'timeBudget', lastRunAt: '2025-05-02T09:00:00.000Z' });
    assert.equal((await stack.request('POST', mailboxes, { body: { smtpAddress: 'bob@contoso.com' } })).status, 201);
    const list = await stack.request('GET', mailboxes);
    assert.equal(list.body.items.length, 2);
    assert.ok(list.body.items.every((item: object) => !('syncProgress' in item)), 'lists stay one query: no progress per row');
  });
});

describe('credentials', () => {
  test('write-only: values go to Key Vault only; rotation makes a new version; nothing leaks', async () => {
    const password1 = 'P@ss-word-ONE-7c1f0e2a';
    const password2 = 'P@ss-word-TWO-93be4d11';
    const clientSecret = 'client~secret~VALUE~5d2e8f';
    const tenantId = await createTenant();
    const groupId = await createGroup(tenantId);
    const url = `/api/admin/tenants/${tenantId}/groups/${groupId}/credentials`;
    const responses: ApiResponse[] = [];

    const first = await stack.request('PUT', url, { body: { password: password1, expiresOn: '2030-01-01T00:00:00Z' } });
    responses.push(first);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.credentialSet, true);
    assert.equal(first.body.kind, 'password');
    assert.equal(first.body.expiresOn, '2030-01-01T00:00:00.000Z');
    assert.match(first.body.reference, /^group-[0-9a-f]{32}-[0-9a-f]{32}-password$/);
    const second = await stack.request('PUT', url, { body: { password: password2 } });
    responses.push(second);
    assert.notEqual(second.body.version, first.body.version);
    assert.equal(second.body.reference, first.body.reference);

    const versions = [];
    for await (const version of stack.secrets.listVersions(first.body.reference)) versions.push(version.version);
    assert.deepEqual(versions.sort(), [first.body.version, second.body.version].sort());
    assert.equal((await stack.secrets.getSecret(first.body.reference)).reveal(), password2, 'the latest version holds the new password');
    assert.equal((await stack.secrets.getSecret(first.body.reference, { version: first.body.version })).reveal(), password1);

    responses.push(await stack.request('GET', url));
    responses.push(await stack.request('GET', `/api/admin/tenants/${tenantId}/groups/${groupId}`));
    assert.equal(responses[3]?.body.credentials.version, second.body.version);

    const wrongKind = await stack.request('PUT', url, { body: { clientSecret } });
    responses.push(wrongKind);
    assert.equal(wrongKind.status, 400);
    assert.deepEqual(pointers(wrongKind), ['/clientSecret']);
    const twoValues = await stack.request('PUT', `/api/admin/tenants/${tenantId}/groups/${groupId}/credentials`, { body: { password: password1, colour: clientSecret } });
    responses.push(twoValues);
    assert.deepEqual(pointers(twoValues), ['/colour']);
    const wrongType = await stack.request('PUT', url, { body: { password: 12345 } });
    responses.push(wrongType);
    assert.deepEqual(pointers(wrongType), ['/password']);

    const appOnly = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, {
      body: { name: 'Online', externalId: 'online', mailboxAccessType: 'appOnly', appOnly: { entraTenantId: '00000000-0000-4000-8000-0000000000d1', clientId: '00000000-0000-4000-8000-0000000000a7' } },
    });
    const appUrl = `/api/admin/tenants/${tenantId}/groups/${appOnly.body.id}/credentials`;
    const secretSet = await stack.request('PUT', appUrl, { body: { clientSecret } });
    responses.push(secretSet);
    assert.equal(secretSet.body.kind, 'clientSecret');
    const cert = await ensureDevCertificate(join(devStateDir(projectRoot()), 'certs'));
    const certSet = await stack.request('PUT', appUrl, { body: { certificate: cert.cert + '\n' + cert.key } });
    responses.push(certSet);
    assert.equal(certSet.status, 200, certSet.text);
    assert.equal(certSet.body.kind, 'certificate');
    assert.match(certSet.body.certificateThumbprint, /^[0-9A-F]{40}$/);
    assert.ok(certSet.body.expiresOn, 'a certificate records its own expiry');
    const keyOnly = await stack.request('PUT', appUrl, { body: { certificate: cert.key } });
    responses.push(keyOnly);
    assert.deepEqual(pointers(keyOnly), ['/certificate']);

    const delegated = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, { body: { name: 'Users', externalId: 'users', mailboxAccessType: 'delegated' } });
    const noCredential = await stack.request('PUT', `/api/admin/tenants/${tenantId}/groups/${delegated.body.id}/credentials`, { body: { password: password1 } });
    responses.push(noCredential);
    assert.equal(noCredential.status, 400);

    responses.push(await stack.request('GET', `/api/admin/tenants/${tenantId}/audit`));
    const privateKeyBody = cert.key.split('\n')[1] ?? '';
    const secrets = [password1, password2, clientSecret, privateKeyBody];
    const haystacks = { responses: responses.map((r) => r.text).join('\n'), logs: stack.logs.join('\n'), tables: await stack.dumpTables() };
    for (const [where, text] of Object.entries(haystacks)) {
      for (const secret of secrets) assert.ok(!text.includes(secret), `a secret leaked into ${where}`);
    }
    assert.match(haystacks.tables, /group-[0-9a-f]{32}-[0-9a-f]{32}-password/, 'tables hold the reference (the scan looked at real data)');
    assert.ok(stack.logs.some((line) => line.includes('admin request')), 'the scan looked at real log lines');
  });
});

describe('tenant isolation', () => {
  test('a tenant admin sees and changes only its own tenants; others look absent', async () => {
    const mine = await createTenant('Mine');
    const theirs = await createTenant('Theirs');
    const theirGroup = await createGroup(theirs);
    const token = stack.tenantAdminToken([mine]);
    const as = (method: string, path: string, body?: unknown) => stack.request(method, path, { token, body });

    const list = await as('GET', '/api/admin/tenants');
    assert.deepEqual(list.body.items.map((t: { id: string }) => t.id), [mine]);
    assert.equal((await as('GET', `/api/admin/tenants/${mine}`)).status, 200);
    for (const [method, path, body] of [
      ['GET', `/api/admin/tenants/${theirs}`],
      ['PATCH', `/api/admin/tenants/${theirs}`, { displayName: 'pwned' }],
      ['GET', `/api/admin/tenants/${theirs}/groups`],
      ['POST', `/api/admin/tenants/${theirs}/groups`, impersonationGroup('sneaky')],
      ['GET', `/api/admin/tenants/${theirs}/groups/${theirGroup}`],
      ['PUT', `/api/admin/tenants/${theirs}/groups/${theirGroup}/credentials`, { password: 'x' }],
      ['GET', `/api/admin/tenants/${theirs}/audit`],
      ['DELETE', `/api/admin/tenants/${theirs}/groups/${theirGroup}`],
    ] as const) {
      const response = await as(method, path, body);
      assert.equal(response.status, 404, `${method} ${path}`);
      assert.equal(response.body.code, 'TenantNotFound');
    }
    assert.equal((await stack.request('GET', `/api/admin/tenants/${theirs}`)).body.displayName, 'Theirs');
    assert.equal((await as('POST', '/api/admin/tenants', { displayName: 'New' })).status, 403);
    assert.equal((await as('DELETE', `/api/admin/tenants/${mine}`)).status, 403);
    assert.equal((await as('POST', `/api/admin/tenants/${mine}/groups`, impersonationGroup('mine-1'))).status, 201);
  });
});

describe('audit trail', () => {
  test('records who changed what, newest first', async () => {
    const tenantId = await createTenant('Audited');
    const groupId = await createGroup(tenantId, impersonationGroup('audited'));
    await stack.request('PUT', `/api/admin/tenants/${tenantId}/groups/${groupId}/credentials`, { body: { password: 'Audit-Secret-1' } });
    await stack.request('PATCH', `/api/admin/tenants/${tenantId}/groups/${groupId}`, { body: { enabled: false }, token: stack.tenantAdminToken([tenantId]) });
    const audit = await stack.request('GET', `/api/admin/tenants/${tenantId}/audit`);
    assert.equal(audit.status, 200);
    assert.deepEqual(audit.body.items.map((e: { action: string }) => e.action), ['group.updated', 'credentials.set', 'group.created', 'tenant.created']);
    const [updated, credentials] = audit.body.items;
    assert.equal(updated.actor.name, 'Tenant Admin');
    assert.deepEqual(updated.details, { enabled: false });
    assert.equal(credentials.details.kind, 'password');
    assert.doesNotMatch(audit.text, /Audit-Secret-1/);
  });
});
