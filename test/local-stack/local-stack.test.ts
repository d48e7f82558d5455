import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { seedDemoOrganisation, type DemoOrganisation } from '../../dev/demo-organisation';
import { startLocalStack, type LocalStack } from '../../dev/local-stack';
import { projectRoot } from '../../dev/project-paths';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requestJson } from '../support/http-json';

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

test('a restart after the admin API walkthrough (more tenants named "Contoso") still finds the demo organisation and changes nothing else', async () => {
  const auth = { authorization: `Bearer ${stack.adminToken()}` };
  // docs/admin-api.md creates a tenant with the same name and Entra tenant; several make a lookup
  // by name pick the wrong one most of the time, as it did in about half of `npm start` restarts.
  const decoys: string[] = [];
  for (let i = 0; i < 5; i++) {
    // Unbound, as the walkthrough's tenant starts: one Entra tenant binds one connector tenant.
    const created = await requestJson('POST', `${stack.apiBaseUrl}/admin/tenants`, { headers: auth, body: { displayName: 'Contoso' } });
    assert.equal(created.status, 201, created.text);
    decoys.push(created.body.id);
  }
  const again = await seedDemoOrganisation(stack);
  assert.deepEqual([again.tenantId, again.groupId, again.delegatedGroupId], [demo.tenantId, demo.groupId, demo.delegatedGroupId]);
  for (const decoy of decoys) {
    const groups = await requestJson('GET', `${stack.apiBaseUrl}/admin/tenants/${decoy}/groups`, { headers: auth });
    assert.deepEqual(groups.body.items, [], 'no demo group was added to another tenant named Contoso');
    const consent = await requestJson('GET', `${stack.apiBaseUrl}/admin/tenants/${decoy}/consent-settings`, { headers: auth });
    assert.notEqual(consent.body?.senderMailbox, 'dispatch@contoso.com', 'consent settings of another tenant were not touched');
  }
});

test('the demo organisation is recorded by ID in the file docs/consent.md reads', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'demo-record-'));
  try {
    const recordPath = join(dir, 'demo-organisation.json');
    // No record yet and exactly one tenant holds the demo groups: that one is adopted.
    const adopted = await seedDemoOrganisation(stack, { recordPath });
    assert.equal(adopted.tenantId, demo.tenantId);
    const record = JSON.parse(readFileSync(recordPath, 'utf8')) as Record<string, string>;
    assert.deepEqual(record, { tenantId: demo.tenantId, groupId: demo.groupId, delegatedGroupId: demo.delegatedGroupId });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
