/**
 * Every URL a tenant admin can point the connector at gets the production outbound address
 * policy, not only webhooks (docs/security.md): EWS URLs to loopback, private, link-local or
 * metadata addresses are refused with problem+json when configured, re-checked at every
 * connection, and a connection test against a refused host never tells whether something listens
 * there. Queue targets may name only the operator's CUSTOMER_QUEUE settings. The host runs with
 * CONNECTOR_ENVIRONMENT=production.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { hostname } from 'node:os';
import { lookup } from 'node:dns/promises';
import { after, before, test } from 'node:test';
import { SecretString } from '../../shared/logging';
import { GroupsRepository, TableStorage } from '../../shared/storage';
import { freeLoopbackPort } from '../support/free-port';
import { startAdminStack } from './admin-stack';
import type { AdminStack, ApiResponse } from './admin-stack';

let stack: AdminStack;
let tenantId: string;
let counter = 0;
let listening: Server;
let listeningPort: number;

before(async () => {
  stack = await startAdminStack({ CONNECTOR_ENVIRONMENT: 'production' });
  const tenant = await stack.request('POST', '/api/admin/tenants', { body: { displayName: 'Contoso' } });
  assert.equal(tenant.status, 201, tenant.text);
  tenantId = tenant.body.id;
  // Something listening on loopback: a connection test must not reveal it.
  listening = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  listeningPort = (listening.address() as AddressInfo).port;
});

after(async () => {
  await stack?.close();
  await new Promise<void>((resolve) => (listening ? listening.close(() => resolve()) : resolve()));
});

function impersonationGroup(ewsUrl: string): Promise<ApiResponse> {
  return stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, {
    body: { name: 'On-premises', externalId: `onprem-${++counter}`, mailboxAccessType: 'impersonation', ewsUrl, impersonation: { serviceAccount: 'svc@contoso.com', authScheme: 'ntlm' } },
  });
}

function assertRefusedAt(response: ApiResponse, pointer: string, detail: RegExp): void {
  assert.equal(response.status, 400, response.text);
  assert.equal(response.headers.get('content-type'), 'application/problem+json');
  assert.deepEqual(response.body.errors.map((e: { pointer: string }) => e.pointer), [pointer]);
  assert.match(response.body.errors[0].detail, detail);
}

test('EWS URLs to loopback, private, link-local, metadata and IPv4-mapped addresses are refused when configured', async () => {
  const urls = [
    'https://127.0.0.1/EWS/Exchange.asmx',
    'https://localhost:8443/EWS/Exchange.asmx',
    'https://10.1.2.3/EWS/Exchange.asmx',
    'https://172.16.0.5/EWS/Exchange.asmx',
    'https://192.168.1.20/EWS/Exchange.asmx',
    'https://169.254.169.254/metadata/instance',
    'https://[::1]/EWS/Exchange.asmx',
    'https://[fe80::1]/EWS/Exchange.asmx',
    'https://[fd00::1]/EWS/Exchange.asmx',
    'https://[::ffff:10.0.0.1]/EWS/Exchange.asmx',
  ];
  for (const url of urls) assertRefusedAt(await impersonationGroup(url), '/ewsUrl', /private, loopback or link-local/);
  assertRefusedAt(await impersonationGroup('http://93.184.216.34/EWS/Exchange.asmx'), '/ewsUrl', /https/);
});

test('an EWS host name that resolves to loopback, or does not resolve, is refused; so is changing a group to one', async () => {
  const machine = hostname();
  const resolved = await lookup(machine, { all: true }).catch(() => []);
  if (resolved.length > 0 && resolved.every((a) => a.address.startsWith('127.') || a.address === '::1')) {
    assertRefusedAt(await impersonationGroup(`https://${machine}/EWS/Exchange.asmx`), '/ewsUrl', /private, loopback or link-local/);
  }
  assertRefusedAt(await impersonationGroup('https://no-such-host.invalid/EWS/Exchange.asmx'), '/ewsUrl', /could not be resolved/);

  const created = await impersonationGroup('https://93.184.216.34/EWS/Exchange.asmx');
  assert.equal(created.status, 201, created.text);
  const patched = await stack.request('PATCH', `/api/admin/tenants/${tenantId}/groups/${created.body.id}`, { body: { ewsUrl: 'https://169.254.169.254/latest' } });
  assertRefusedAt(patched, '/ewsUrl', /private, loopback or link-local/);
});

test('queue targets may name only CUSTOMER_QUEUE settings, never AzureWebJobsStorage or another app setting', async () => {
  for (const connection of ['AzureWebJobsStorage', 'AZURE_CLIENT_SECRET', 'KEY_VAULT_URL', 'CUSTOMER_QUEUEX', 'customer_queue']) {
    const created = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, {
      body: { name: 'Queue', externalId: `queue-${++counter}`, mailboxAccessType: 'impersonation', ewsUrl: 'https://93.184.216.34/EWS/Exchange.asmx', impersonation: { serviceAccount: 'svc@contoso.com' }, delivery: { kind: 'queue', queueName: 'changes', connection } },
    });
    assertRefusedAt(created, '/delivery/connection', /CUSTOMER_QUEUE/);
  }
  const allowed = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, {
    body: { name: 'Queue', externalId: `queue-${++counter}`, mailboxAccessType: 'impersonation', ewsUrl: 'https://93.184.216.34/EWS/Exchange.asmx', impersonation: { serviceAccount: 'svc@contoso.com' }, delivery: { kind: 'queue', queueName: 'changes', connection: 'CUSTOMER_QUEUE_FABRIKAM' } },
  });
  assert.equal(allowed.status, 201, allowed.text);
});

test('a connection test against a stored private EWS URL sends nothing and answers the same whether or not something listens', async () => {
  // Rows stored before the policy existed (or written around the API) must not become a port scanner.
  const storage = new TableStorage({ storage: { kind: 'connectionString', connectionString: new SecretString(stack.azurite.connectionString) } });
  const groups = new GroupsRepository(storage);
  const closedPort = await freeLoopbackPort();
  const answers: string[] = [];
  for (const port of [listeningPort, closedPort]) {
    const created = await impersonationGroup('https://93.184.216.34/EWS/Exchange.asmx');
    assert.equal(created.status, 201, created.text);
    const stored = await groups.get(tenantId, created.body.id);
    const { etag, ...record } = stored;
    const credential = { kind: 'password' as const, secretName: `grp-${created.body.id}`, secretVersion: '1', updatedAt: new Date().toISOString() };
    await groups.replace({ ...record, credential, ewsUrl: `https://127.0.0.1:${port}/EWS/Exchange.asmx` }, etag);
    const result = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups/${created.body.id}/connection-tests`, { body: { targetMailbox: 'alice@contoso.com' } });
    assert.equal(result.status, 200, result.text);
    assert.equal(result.body.outcome, 'failed');
    const step = result.body.steps.find((s: { name: string }) => s.name === 'configuration');
    assert.equal(step.status, 'failed');
    assert.equal(step.code, 'TargetAddressNotAllowed');
    for (const later of ['endpointReachable', 'authentication']) assert.equal(result.body.steps.find((s: { name: string }) => s.name === later).status, 'skipped');
    answers.push(JSON.stringify({ message: step.message.replaceAll(String(port), 'PORT'), code: step.code }));
  }
  assert.equal(answers[0], answers[1], 'a listening port and a closed port look the same');
});

test('EWS URL discovery: an Autodiscover URL or candidate at a private, loopback or metadata address is refused and never contacted', async () => {
  let connections = 0;
  listening.on('connection', () => connections++);
  const discover = (body: Record<string, unknown>) =>
    stack.request('POST', `/api/admin/tenants/${tenantId}/ews-url-discovery`, { body: { emailAddress: 'alice@contoso.com', serviceAccount: 'svc@contoso.com', password: 'Svc-Pass-1', ...body } });
  for (const autodiscoverUrl of [`https://127.0.0.1:${listeningPort}/autodiscover/autodiscover.svc`, 'https://169.254.169.254/autodiscover/autodiscover.svc', 'https://[::ffff:10.0.0.1]/autodiscover/autodiscover.xml']) {
    assertRefusedAt(await discover({ autodiscoverUrl }), '/autodiscoverUrl', /private, loopback or link-local/);
  }
  assertRefusedAt(await discover({ autodiscoverUrl: `http://93.184.216.34/autodiscover/autodiscover.svc` }), '/autodiscoverUrl', /https/);
  // Candidates derived from the address's domain get the same policy: a loopback name and an unresolvable one.
  for (const emailAddress of ['alice@mail.localhost', 'alice@contoso.invalid']) {
    const result = await discover({ emailAddress });
    assert.equal(result.status, 200, result.text);
    assert.equal(result.body.outcome, 'failed');
    assert.equal(result.body.attempts.length, 4, 'SOAP and POX at the domain and at autodiscover.<domain>');
    for (const attempt of result.body.attempts) assert.equal(attempt.outcome, 'refusedByPolicy', JSON.stringify(attempt));
    assert.ok(!result.text.includes('Svc-Pass-1'));
  }
  assert.equal(connections, 0, 'nothing was contacted');
});
