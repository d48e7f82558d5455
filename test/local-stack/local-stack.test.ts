import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { seedDemoOrganisation, type DemoOrganisation } from '../../dev/demo-organisation';
import { startLocalStack, type LocalStack } from '../../dev/local-stack';
import { projectRoot } from '../../dev/project-paths';

// The same composition `npm start` runs, on random ports and in memory.
let stack: LocalStack;
let demo: DemoOrganisation;

before(async () => {
  stack = await startLocalStack({ projectRoot: projectRoot(), mode: 'ephemeral' });
  demo = await seedDemoOrganisation(stack);
});

after(async () => {
  await stack?.close();
});

test('the health endpoint answers without credentials', async () => {
  const response = await fetch(`${stack.apiBaseUrl}/health`);
  assert.equal(response.status, 200);
  assert.equal(((await response.json()) as { status: string }).status, 'ok');
});

test('the admin ping needs the bearer token that npm start prints', async () => {
  const anonymous = await fetch(`${stack.apiBaseUrl}/admin/ping`);
  assert.equal(anonymous.status, 401);
  assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer/);
  const pinged = await fetch(`${stack.apiBaseUrl}/admin/ping`, { headers: { authorization: `Bearer ${stack.adminToken()}` } });
  assert.equal(pinged.status, 200);
  assert.deepEqual(((await pinged.json()) as { roles: string[] }).roles, ['Connector.Admin']);
});

test('the demo organisation is created through the admin API and its connection test passes', async () => {
  assert.equal(demo.mailboxes.length, 3);
  assert.equal(demo.connectionTest?.outcome, 'passed', JSON.stringify(demo.connectionTest));
  const again = await seedDemoOrganisation(stack);
  assert.equal(again.groupId, demo.groupId, 'a second start finds the demo organisation instead of duplicating it');
});

test('the service-account password went to Key Vault, not to any response', async () => {
  const response = await fetch(`${stack.apiBaseUrl}/admin/tenants/${demo.tenantId}/groups/${demo.groupId}`, { headers: { authorization: `Bearer ${stack.adminToken()}` } });
  const text = await response.text();
  assert.equal(response.status, 200);
  assert.doesNotMatch(text, /Connector-Svc-Pass1/);
  assert.equal((JSON.parse(text) as { credentials: { credentialSet: boolean } }).credentials.credentialSet, true);
});
