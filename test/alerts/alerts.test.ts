/**
 * Alerts end to end in the local stack (the composition `npm start` runs, on random ports): the
 * demo group's service-account password has a recorded expiry; moving the alert timer's clock
 * makes the notice arrive in the Contoso admin's simulator inbox (sent from the tenant's own
 * sender mailbox) and as a signed credentialExpiring event at the demo receiver, once per
 * threshold, recorded in the audit.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { seedDemoOrganisation, type DemoOrganisation } from '../../dev/demo-organisation';
import { DEMO_SERVICE_ACCOUNT } from '../../dev/ews-simulator/seed/demo';
import { DEMO_ALERT_CONTACT, startLocalStack, type LocalStack } from '../../dev/local-stack';
import { projectRoot } from '../../dev/project-paths';
import { useAlertsOverrides } from '../../shared/alerts/alerts-composition';
import { requestJson } from '../support/http-json';

const MASTER_KEY = 'alerts-test-master-key';
const DAY_IN_MS = 24 * 3600_000;
const HOSTILE_NAME = '<img src=x onerror=alert(1)> Contoso "field" & co';
let stack: LocalStack;
let demo: DemoOrganisation;
const start = Date.now();

const auth = () => ({ authorization: `Bearer ${stack.adminToken()}` });
const api = (method: string, path: string, body?: unknown) => requestJson(method, `${stack.apiBaseUrl}/admin${path}`, { headers: auth(), ...(body !== undefined ? { body } : {}) });

/** Runs the hourly alert timer now, as if the clock showed `daysLater` days from the test's start. */
async function runAlertsAt(daysLater: number): Promise<void> {
  useAlertsOverrides({ now: () => new Date(start + daysLater * DAY_IN_MS) });
  const since = Date.now();
  const response = await fetch(`${stack.functionsHost!.url}/admin/functions/send-alerts`, { method: 'POST', headers: { 'x-functions-key': MASTER_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ input: '' }) });
  assert.equal(response.status, 202);
  const run = await stack.functionsHost!.waitForInvocation((r) => r.functionName === 'send-alerts' && r.startedAt.getTime() >= since && r.status !== 'running', { timeoutInMs: 30_000 });
  assert.equal(run.status, 'succeeded', run.error);
}

interface InboxItem { id: string; subject: string }
async function inbox(address: string): Promise<InboxItem[]> {
  const response = await fetch(`${stack.ewsSimulator.controlUrl}/mailboxes/${address}/folders/inbox?limit=200`);
  return ((await response.json()) as { items: InboxItem[] }).items;
}
async function itemBody(id: string): Promise<string> {
  const response = await fetch(`${stack.ewsSimulator.controlUrl}/items/${encodeURIComponent(id)}`);
  return ((await response.json()) as { body: { content: string } }).body.content;
}
const alertMails = async (address: string) => (await inbox(address)).filter((item) => item.subject.startsWith('Action needed'));
const credentialEvents = () => stack.webhookReceiver.events().filter((e) => e.event.type === 'credentialExpiring');

before(async () => {
  stack = await startLocalStack({ projectRoot: projectRoot(), mode: 'ephemeral', functionKeys: { masterKey: MASTER_KEY } });
  demo = await seedDemoOrganisation(stack);
  // The password expires 40 days after the test's start; the group's name is hostile.
  const expiresOn = new Date(start + 40 * DAY_IN_MS).toISOString();
  assert.equal((await api('PUT', `/tenants/${demo.tenantId}/groups/${demo.groupId}/credentials`, { password: DEMO_SERVICE_ACCOUNT.password, expiresOn })).status, 200);
  assert.equal((await api('PATCH', `/tenants/${demo.tenantId}/groups/${demo.groupId}`, { name: HOSTILE_NAME })).status, 200);
  // Another tenant with its own alert contact (bob) and nothing expiring.
  // Bound to another Entra tenant: one Entra tenant binds one connector tenant.
  const other = await api('POST', '/tenants', { displayName: 'Contoso', entraTenantId: '00000000-0000-4000-8000-0000000000f2' });
  assert.equal(other.status, 201, other.text);
  assert.equal((await api('PUT', `/tenants/${other.body.id}/consent-settings`, { senderMailbox: 'dispatch@contoso.com', alertContacts: ['bob@contoso.com'] })).status, 200);
});

after(async () => {
  useAlertsOverrides({});
  await stack?.close();
});

test('nothing is sent while the expiry is more than 30 days away', async () => {
  await runAlertsAt(0);
  assert.equal((await alertMails(DEMO_ALERT_CONTACT)).length, 0);
  assert.equal(credentialEvents().length, 0);
});

test('at 30 days: an email in the admin\'s inbox and a signed event at the receiver, once; recorded in the audit', async () => {
  await runAlertsAt(11); // 29 days left
  const mails = await alertMails(DEMO_ALERT_CONTACT);
  assert.equal(mails.length, 1, JSON.stringify(mails));
  const body = await itemBody(mails[0]!.id);
  assert.match(body, /service-account password/);
  assert.match(body, /expires in 29 day/);
  assert.match(body, new RegExp(`/api/admin/tenants/${demo.tenantId}/groups/${demo.groupId}/credentials`));
  const events = credentialEvents();
  assert.equal(events.length, 1, 'the receiver verified the signature and kept the event');
  assert.equal(events[0]!.event.groupId, demo.groupId);
  assert.equal((events[0]!.event as unknown as { credential: { threshold: string } }).credential.threshold, '30days');

  await runAlertsAt(11.5);
  assert.equal((await alertMails(DEMO_ALERT_CONTACT)).length, 1, 'once per threshold');
  assert.equal(credentialEvents().length, 1);

  const audit = await api('GET', `/tenants/${demo.tenantId}/audit?limit=50`);
  const entries = (audit.body.items as { action: string; details: Record<string, unknown> }[]).filter((e) => e.action === 'alert.credentialExpiring');
  assert.equal(entries.length, 1);
  assert.equal(entries[0]!.details['threshold'], '30days');
  assert.equal(entries[0]!.details['emailsSent'], 1);
  assert.equal(entries[0]!.details['event'], 'delivered');
});

test('at 7 days and on expiry: one more notice each', async () => {
  await runAlertsAt(34); // 6 days left
  await runAlertsAt(41); // expired a day ago
  const thresholds = credentialEvents().map((e) => (e.event as unknown as { credential: { threshold: string } }).credential.threshold);
  assert.deepEqual(thresholds, ['30days', '7days', 'expired']);
  assert.equal((await alertMails(DEMO_ALERT_CONTACT)).length, 3);
});

test('attacker: a hostile group name is escaped in the email and quoted in the event; another tenant\'s contacts receive nothing', async () => {
  const mails = await alertMails(DEMO_ALERT_CONTACT);
  for (const mail of mails) {
    const body = await itemBody(mail.id);
    assert.ok(!body.includes('<img'), 'markup from the group name is not live in the email');
    assert.match(body, /&lt;img src=x onerror=alert\(1\)&gt;/);
  }
  assert.ok(credentialEvents().every((e) => e.event.message.includes(HOSTILE_NAME)), 'the JSON event carries the name as data');
  assert.equal((await alertMails('bob@contoso.com')).length, 0, 'the other tenant\'s alert contact got nothing');
  assert.ok(credentialEvents().every((e) => e.event.tenantId === demo.tenantId));
});
