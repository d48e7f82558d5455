/**
 * Outside development a webhook target is checked when it is configured, not only when the
 * first delivery fails: https only, and every address the host resolves to must be public
 * (no loopback, private, link-local or metadata addresses). The host runs with
 * CONNECTOR_ENVIRONMENT=production (its own process: the admin dependencies are per process).
 */
import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { after, before, test } from 'node:test';
import { startAdminStack } from './admin-stack';
import type { AdminStack, ApiResponse } from './admin-stack';

let stack: AdminStack;
let tenantId: string;
let counter = 0;

before(async () => {
  stack = await startAdminStack({ CONNECTOR_ENVIRONMENT: 'production' });
  const tenant = await stack.request('POST', '/api/admin/tenants', { body: { displayName: 'Contoso' } });
  assert.equal(tenant.status, 201, tenant.text);
  tenantId = tenant.body.id;
});

after(async () => {
  await stack.close();
});

function createWithWebhook(url: string): Promise<ApiResponse> {
  return stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, {
    body: {
      name: 'Sales',
      externalId: `webhook-${++counter}`,
      mailboxAccessType: 'appOnly',
      appOnly: { entraTenantId: '00000000-0000-4000-8000-0000000000d1', clientId: '00000000-0000-4000-8000-0000000000d2' },
      delivery: { kind: 'webhook', url },
    },
  });
}

function assertRefusedAtDeliveryUrl(response: ApiResponse, detail: RegExp): void {
  assert.equal(response.status, 400, response.text);
  assert.equal(response.headers.get('content-type'), 'application/problem+json');
  assert.deepEqual(response.body.errors.map((e: { pointer: string }) => e.pointer), ['/delivery/url']);
  assert.match(response.body.errors[0].detail, detail);
}

test('POST refuses plain http, even to a public address', async () => {
  assertRefusedAtDeliveryUrl(await createWithWebhook('http://93.184.216.34/hooks/exchange'), /https/);
  assertRefusedAtDeliveryUrl(await createWithWebhook('http://127.0.0.1:8446/webhook'), /https/);
});

test('POST refuses loopback, private, link-local and metadata addresses', async () => {
  for (const url of ['https://127.0.0.1/hook', 'https://localhost:8443/hook', 'https://10.1.2.3/hook', 'https://192.168.0.10/hook', 'https://169.254.169.254/latest', 'https://[::1]/hook', 'https://[fe80::1]/hook', 'https://[::ffff:10.0.0.1]/hook']) {
    assertRefusedAtDeliveryUrl(await createWithWebhook(url), /private, loopback or link-local/);
  }
});

test('POST resolves host names: a name that resolves to loopback, or does not resolve, is refused', async () => {
  const machine = hostname();
  const resolved = await lookup(machine, { all: true }).catch(() => []);
  // The machine's own name resolves (hosts file) to a loopback/private address on ordinary hosts.
  assertRefusedAtDeliveryUrl(await createWithWebhook(`https://${machine}/hook`), resolved.length > 0 ? /resolves to a private, loopback or link-local address/ : /could not be resolved/);
  assertRefusedAtDeliveryUrl(await createWithWebhook('https://no-such-host.invalid/hook'), /could not be resolved/);
});

test('a public https target is accepted; PATCH to a private one is refused and leaves the group unchanged', async () => {
  const created = await createWithWebhook('https://93.184.216.34/hooks/exchange');
  assert.equal(created.status, 201, created.text);
  const path = `/api/admin/tenants/${tenantId}/groups/${created.body.id}`;
  const patched = await stack.request('PATCH', path, { body: { delivery: { kind: 'webhook', url: 'https://10.0.0.5/hook' } } });
  assertRefusedAtDeliveryUrl(patched, /10\.0\.0\.5/);
  assert.equal((await stack.request('GET', path)).body.delivery.url, 'https://93.184.216.34/hooks/exchange');
  const unrelated = await stack.request('PATCH', path, { body: { pollIntervalMinutes: 15 } });
  assert.equal(unrelated.status, 200, 'an unchanged target is not re-checked on unrelated edits');
});
