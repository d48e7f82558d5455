/**
 * Microsoft Graph end to end through the local Functions host: timer → sync-jobs queue → sync
 * over Graph (the Graph simulator, one mailbox store with the EWS simulator) → deliveries queue →
 * signed webhook (the demo receiver verifies every signature). The admin API configures
 * everything; Contoso has granted admin consent to the connector app (application and delegated
 * Graph permissions). Covered: app-only and delegated groups syncing mail, calendar, contacts and
 * tasks; a 429 with Retry-After going back to the queue; expired delta tokens (full resync,
 * flagged); an app confined by an Exchange RBAC management scope (403); process-and-delete;
 * send-mail; EWS → Graph switch without re-delivery plus the EWS → Graph id mapping; and, as an
 * attacker, a group pointing at another organisation's mailbox.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { demoOrganisationSeed } from '../../dev/ews-simulator/seed/demo';
import { DEMO_IDENTITY } from '../../dev/identity/demo-seed';
import { startWebhookReceiver } from '../../dev/webhook-receiver/receiver';
import type { RunningWebhookReceiver } from '../../dev/webhook-receiver/receiver';
import type { ChangeRecord } from '../../shared/delivery/change-batch';
import { SecretString } from '../../shared/logging';
import { secretNames } from '../../shared/secrets/secret-names';
import { startConnectorStack } from '../support/connector-stack';
import type { ConnectorStack } from '../support/connector-stack';
import { answerAdminConsent } from '../support/admin-consent-browser';
import { eventually, resultCode } from '../support/eventually';
import { adminApiCalls, controlCall } from '../support/http-json';

const d = DEMO_IDENTITY;
const MASTER_KEY = 'graph-e2e-master-key';
const ALICE = 'alice@contoso.com';
const BOB = 'bob@contoso.com';
const CAROL = 'carol@contoso.com';
const DISPATCH = 'dispatch@contoso.com';
const STRANGER = 'ceo@fabrikam.test';
/** The customer's own app registration for app-only groups (the connector's multi-tenant app is for consent and delegated groups only). */
const CUSTOMER_APP = 'c0ffee00-0000-4000-8000-0000000c0501';
const CUSTOMER_SECRET = 'contoso-lob-app-secret';

let stack: ConnectorStack;
let receiver: RunningWebhookReceiver;
let adminToken: string;
let tenantId: string;
const signingSecrets: string[] = [];

const { api, ok } = adminApiCalls(() => stack.settings.PUBLIC_BASE_URL, () => adminToken);

const storeControl = (method: string, path: string, body?: unknown): Promise<any> => controlCall(stack.graph!.storeControlUrl, method, path, body);

const graphControl = (method: string, path: string, body?: unknown): Promise<any> => controlCall(stack.graph!.controlUrl, method, path, body);

function newMail(mailbox: string, subject: string): Promise<{ id: string }> {
  return storeControl('POST', `/mailboxes/${mailbox}/items`, { folder: 'inbox', item: { kind: 'message', subject, from: { address: 'customer@example.net', name: 'Customer' } } });
}

async function invoke(name: string, input = ''): Promise<void> {
  const response = await fetch(`${stack.host.url}/admin/functions/${name}`, { method: 'POST', headers: { 'x-functions-key': MASTER_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
  assert.equal(response.status, 202);
}

/** Waits until no sync job runs (a job for a mailbox whose lease is held would be re-queued 20-40 s later). */
async function syncIdle(): Promise<void> {
  await eventually('no sync job running', () => (stack.host.invocations().some((r) => r.functionName === 'sync-mailbox' && r.status === 'running') ? undefined : true), { intervalInMs: 50 });
}

async function syncNow(groupId: string, mailbox: string): Promise<void> {
  await syncIdle();
  await invoke('sync-mailbox', JSON.stringify({ version: 1, tenantId, groupId, mailbox, reason: 'manual', enqueuedAt: new Date().toISOString() }));
}

function records(groupId: string, mailbox?: string): ChangeRecord[] {
  return receiver
    .received()
    .filter((b) => b.batch.groupId === groupId && (mailbox === undefined || b.batch.mailbox === mailbox))
    .flatMap((b) => [...b.batch.records]);
}

function subjects(list: readonly ChangeRecord[]): string[] {
  return list.map((r) => r.item?.subject ?? '').filter(Boolean);
}

async function mailboxStatus(groupId: string, mailbox: string): Promise<{ status: string; lastError?: { code: string; message: string } }> {
  return ok('GET', `/tenants/${tenantId}/groups/${groupId}/mailboxes/${mailbox}`);
}

/** A group with a webhook to the receiver and a signing key the receiver accepts. */
async function createGroup(body: Record<string, unknown>): Promise<string> {
  const group = await ok('POST', `/tenants/${tenantId}/groups`, { folders: ['mail'], pollIntervalMinutes: 60, delivery: { kind: 'webhook', url: `${receiver.url}/webhook` }, ...body });
  const key = await ok('POST', `/tenants/${tenantId}/groups/${group.id}/delivery/signing-key`);
  signingSecrets.push(key.secret);
  if (group.mailboxAccessType === 'appOnly') await ok('PUT', `/tenants/${tenantId}/groups/${group.id}/credentials`, { clientSecret: CUSTOMER_SECRET });
  return group.id;
}

async function addMailbox(groupId: string, smtpAddress: string): Promise<void> {
  await ok('POST', `/tenants/${tenantId}/groups/${groupId}/mailboxes`, { smtpAddress });
}

before(async () => {
  receiver = await startWebhookReceiver({ port: 0, secret: () => signingSecrets, print: () => undefined, keep: 5_000 });
  stack = await startConnectorStack({
    functions: ['admin-tenants', 'admin-consent', 'consent-admin-callback', 'admin-groups', 'admin-mailboxes', 'admin-invitations', 'consent-signin', 'delivery-admin', 'send-mail', 'delivery-deliver-batch', 'sync-schedule', 'sync-mailbox'],
    publicBaseUrlIsHost: true,
    identitySeed: { contosoAdminConsent: true },
    ews: {
      seed: (store) => {
        demoOrganisationSeed({ itemsPerFolder: 2 }).apply(store);
        // Another customer's organisation in the same Exchange: Contoso's app must never read it.
        store.addOrganisation({ id: 'fabrikam', name: 'Fabrikam', domains: ['fabrikam.test'], entraTenantId: '00000000-0000-4000-8000-0000000000f1' });
        store.addMailbox({ smtpAddress: STRANGER, displayName: 'Fabrikam CEO', organisationId: 'fabrikam', password: 'Ceo-Pass1' });
      },
      trustIdentityProvider: true,
    },
    graph: {},
    functionKeys: { masterKey: MASTER_KEY },
    queues: { maxPollingIntervalInMs: 200, visibilityTimeoutInMs: 0 },
    shutdownGracePeriodInMs: 5_000,
    beforeHost: async ({ secrets }) => {
      await secrets.setSecret(secretNames.connectorAppClientSecret(), new SecretString(d.connectorApp.clientSecret), { expiresOn: new Date(Date.now() + 365 * 24 * 3600_000) });
    },
  });
  adminToken = stack.idp.control.issueAccessToken({ tenantId: d.operatorTenantId, audience: d.adminApi.audience, roles: ['Connector.Admin'], oid: d.users.operatorAdmin.objectId, name: 'Operator Admin', upn: d.users.operatorAdmin.upn });
  stack.idp.control.addApp({
    appId: CUSTOMER_APP,
    displayName: 'Contoso line-of-business app',
    homeTenantId: d.contosoTenantId,
    secrets: [{ value: CUSTOMER_SECRET, displayName: 'e2e' }],
    requiredResourceAccess: [
      { resource: 'https://graph.microsoft.com', applicationPermissions: ['Mail.ReadWrite', 'Mail.Send', 'Calendars.ReadWrite', 'Contacts.ReadWrite', 'Tasks.ReadWrite.All'] },
      { resource: 'https://outlook.office365.com', applicationPermissions: ['full_access_as_app'] },
    ],
  });
  stack.idp.control.grantAdminConsent(d.contosoTenantId, CUSTOMER_APP);
  tenantId = (await ok('POST', '/tenants', { displayName: 'Contoso (Graph)', entraTenantId: d.contosoTenantId })).id;
  // The tenant is bound to Contoso's Entra tenant by its administrator's consent (never by a typed id).
  const consent = await ok('POST', `/tenants/${tenantId}/consent`);
  assert.equal((await answerAdminConsent(consent.url, d.users.contosoAdmin)).code, 'AdminConsentGranted');
});

after(async () => {
  if (process.env.GRAPH_E2E_LOGS) console.log(stack.logs.filter((l) => !l.startsWith('debug')).join('\n'));
  await stack?.close();
  await receiver?.close();
});

describe('Graph end to end through the Functions host', () => {
  let appGroup: string;

  it('app-only: a new group on Exchange Online defaults to Graph and the timer delivers mail, calendar, contacts and tasks, signed', async () => {
    appGroup = await createGroup({ name: 'Sales (Graph)', externalId: 'sales-graph', mailboxAccessType: 'appOnly', appOnly: { entraTenantId: d.contosoTenantId, clientId: CUSTOMER_APP }, folders: ['mail', 'calendar', 'contacts', 'tasks'] });
    const group = await ok('GET', `/tenants/${tenantId}/groups/${appGroup}`);
    assert.equal(group.protocol, 'graph', 'app-only groups on Exchange Online default to Graph');
    await addMailbox(appGroup, ALICE);
    const test = await ok('POST', `/tenants/${tenantId}/groups/${appGroup}/connection-tests`, {});
    assert.equal(test.outcome, 'passed', JSON.stringify(test.steps));
    assert.equal(test.protocol, 'graph');
    assert.deepEqual(test.steps.map((step: { name: string; status: string }) => `${step.name}:${step.status}`), ['configuration:passed', 'credentialExpiry:passed', 'tokenAcquisition:passed', 'graphRoles:passed', 'mailboxReachable:passed', 'rbacScope:passed']);
    await storeControl('POST', `/mailboxes/${ALICE}/items`, { folder: 'contacts', item: { kind: 'contact', displayName: 'Graph Contact', givenName: 'Gina', emailAddresses: [{ key: 'EmailAddress1', address: 'gina@example.net' }] } });
    await storeControl('POST', `/mailboxes/${ALICE}/items`, { folder: 'tasks', item: { kind: 'task', subject: 'Graph Task', status: 'InProgress' } });
    const start = new Date(Date.now() + 86_400_000);
    await storeControl('POST', `/mailboxes/${ALICE}/items`, { folder: 'calendar', item: { kind: 'calendarItem', subject: 'Graph Meeting', start: start.toISOString(), end: new Date(start.getTime() + 3_600_000).toISOString() } });
    await newMail(ALICE, 'Graph Order 1');

    await invoke('schedule-due-groups');
    const delivered = await eventually('all four folders delivered for Alice', () => {
      const list = records(appGroup, ALICE);
      const folders = new Set(list.map((r) => r.folder));
      return ['inbox', 'calendar', 'contacts', 'tasks'].every((f) => folders.has(f as never)) && subjects(list).includes('Graph Task') ? list : undefined;
    });
    assert.ok(delivered.every((r) => r.source === 'graph'), 'every record names Graph as its source');
    assert.ok(delivered.every((r) => r.fullResync === false && r.changeType === 'created'));
    for (const subject of ['Graph Order 1', 'Graph Meeting', 'Graph Contact', 'Graph Task']) assert.ok(subjects(delivered).includes(subject), `${subject} in ${subjects(delivered).join(', ')}`);
    const order = delivered.find((r) => r.item?.subject === 'Graph Order 1')!;
    assert.equal(order.item?.kind, 'message');
    assert.deepEqual(order.item?.from, { name: 'Customer', address: 'customer@example.net' });
    assert.equal(receiver.refused().length, 0, 'every delivery carried a valid signature');
    assert.equal((await mailboxStatus(appGroup, ALICE)).status, 'ok');

    // Incremental: a read flag and a deletion arrive as such.
    const second = await newMail(ALICE, 'Graph Order 2');
    const before = records(appGroup, ALICE).length;
    await syncNow(appGroup, ALICE);
    await eventually('Order 2 delivered', () => (subjects(records(appGroup, ALICE).slice(before)).includes('Graph Order 2') ? true : undefined));
    await storeControl('DELETE', `/items/${encodeURIComponent(second.id)}?mode=HardDelete`);
    const mark = records(appGroup, ALICE).length;
    await syncNow(appGroup, ALICE);
    await eventually('the deletion delivered', () => (records(appGroup, ALICE).slice(mark).some((r) => r.changeType === 'deleted' && r.folder === 'inbox') ? true : undefined));
    assert.ok(!stack.logs.join('\n').includes(CUSTOMER_SECRET), 'the client secret never reaches the logs');
  });

  it('throttling: a 429 with Retry-After re-queues the job (no sleeping in the function) and the mail arrives afterwards', async () => {
    await graphControl('POST', '/faults', { kind: 'http429', operation: 'messagesDelta', mailbox: ALICE, count: 1, retryAfterInSeconds: 3 });
    await newMail(ALICE, 'After throttling');
    const started = Date.now();
    await syncNow(appGroup, ALICE);
    await eventually('the throttled job re-queued', () => (stack.logs.some((line) => line.includes('re-queued with a delay')) ? true : undefined));
    const record = await eventually('mail delivered after the Retry-After', () => records(appGroup, ALICE).find((r) => r.item?.subject === 'After throttling'));
    assert.ok(record.source === 'graph');
    assert.ok(Date.now() - started >= 3_000, 'the retry waited for Retry-After');
    const throttledRuns = stack.host.invocations().filter((r) => r.functionName === 'sync-mailbox' && r.startedAt.getTime() >= started);
    assert.ok(throttledRuns.length >= 2, 'the throttled run ended and a later run delivered');
    assert.ok(throttledRuns.every((r) => r.status !== 'failed'));
  });

  it('expired delta tokens: the folder starts over as a full resync, every record flagged', async () => {
    stack.graph!.expireDeltaTokens(ALICE);
    const mark = records(appGroup, ALICE).length;
    await syncNow(appGroup, ALICE);
    const resynced = await eventually('the full resync delivered', () => {
      const list = records(appGroup, ALICE).slice(mark);
      return list.some((r) => r.item?.subject === 'Graph Order 1') && list.some((r) => r.folder === 'tasks') ? list : undefined;
    });
    assert.ok(resynced.every((r) => r.fullResync === true), 'records of a full resync are flagged');
    assert.ok(stack.logs.some((line) => line.includes('Sync state was invalid; full re-sync started')));
    const earlier = records(appGroup, ALICE).slice(0, mark).find((r) => r.item?.subject === 'Graph Order 1')!;
    const again = resynced.find((r) => r.item?.subject === 'Graph Order 1')!;
    assert.equal(again.itemId, earlier.itemId, 'immutable ids: the same item has the same id after a resync');
  });

  it('send-mail and process-and-delete go through Graph', async () => {
    const intake = await createGroup({ name: 'Intake (Graph)', externalId: 'intake-graph', mailboxAccessType: 'appOnly', appOnly: { entraTenantId: d.contosoTenantId, clientId: CUSTOMER_APP }, initialSync: { kind: 'none' }, delivery: { kind: 'webhook', url: `${receiver.url}/webhook`, processAndDelete: 'moveToDeletedItems' } });
    await addMailbox(intake, CAROL);
    await syncNow(intake, CAROL);
    await eventually('Carol baseline synced', async () => ((await mailboxStatus(intake, CAROL)).status === 'ok' ? true : undefined));
    // Alice sends to Carol through the connector.
    await ok('POST', `/tenants/${tenantId}/groups/${appGroup}/mailboxes/${ALICE}/send-mail`, { to: [CAROL], subject: 'Sent over Graph', body: { contentType: 'text', content: 'Hello Carol' } });
    const inbox = (): Promise<{ items: { id: string; subject?: string }[] }> => storeControl('GET', `/mailboxes/${CAROL}/folders/inbox`);
    await eventually('the mail reached Carol', async () => ((await inbox()).items.some((i) => i.subject === 'Sent over Graph') ? true : undefined));
    await syncNow(intake, CAROL);
    const record = await eventually('Carol\'s new mail delivered', () => records(intake, CAROL).find((r) => r.item?.subject === 'Sent over Graph'));
    assert.equal(record.source, 'graph');
    await eventually('process-and-delete moved it out of the Inbox', async () => ((await inbox()).items.some((i) => i.subject === 'Sent over Graph') ? undefined : true));
    const deleted = await storeControl('GET', `/mailboxes/${CAROL}/folders/deleteditems`);
    assert.ok(deleted.items.some((i: { subject?: string }) => i.subject === 'Sent over Graph'), 'moved to Deleted Items');
    const sent = await storeControl('GET', `/mailboxes/${ALICE}/folders/sentitems`);
    assert.ok(sent.items.some((i: { subject?: string }) => i.subject === 'Sent over Graph'), 'a copy in Alice\'s Sent Items');
  });

  it('EWS → Graph: switching protocol delivers only what changed since, and EWS ids map to the Graph ids', async () => {
    const legacy = await createGroup({ name: 'Legacy (EWS)', externalId: 'legacy-ews', mailboxAccessType: 'appOnly', protocol: 'ews', appOnly: { entraTenantId: d.contosoTenantId, clientId: CUSTOMER_APP } });
    await addMailbox(legacy, BOB);
    await newMail(BOB, 'Backlog before switch');
    // Exchange keeps times to the second, and a switch delivers again what changed in the second of the
    // last EWS read rather than risk losing it: the backlog here is older than that second, as a real one is.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await syncNow(legacy, BOB);
    const backlog = await eventually('EWS delivered the backlog', () => {
      const list = records(legacy, BOB);
      return subjects(list).includes('Backlog before switch') ? list : undefined;
    });
    assert.ok(backlog.every((r) => r.source === undefined), 'EWS records carry no source');
    await eventually('EWS sync finished', async () => ((await mailboxStatus(legacy, BOB)).status === 'ok' ? true : undefined));
    await ok('PATCH', `/tenants/${tenantId}/groups/${legacy}`, { protocol: 'graph' });
    await newMail(BOB, 'After switch');
    const mark = records(legacy, BOB).length;
    await syncNow(legacy, BOB);
    await eventually('the new mail delivered over Graph', () => (subjects(records(legacy, BOB).slice(mark)).includes('After switch') ? true : undefined));
    await eventually('Graph sync finished', async () => ((await mailboxStatus(legacy, BOB)).status === 'ok' ? true : undefined));
    // The switch's first pass is long work: its progress is told like an initial sync's.
    assert.ok(stack.logs.some((line) => /Switch to graph complete: \d+ items in .* already delivered and skipped/.test(line)), stack.logs.filter((l) => l.includes('Switch')).join('\n') || 'no switch progress line');
    const afterSwitch = records(legacy, BOB).slice(mark);
    assert.deepEqual(subjects(afterSwitch), ['After switch'], 'nothing from before the switch is delivered again');
    assert.ok(afterSwitch.every((r) => r.source === 'graph' && r.fullResync === false), JSON.stringify(afterSwitch.map((r) => ({ s: r.source, f: r.fullResync, t: r.changeType, sub: r.item?.subject }))));

    // The mapping for records delivered under EWS.
    const ewsRecord = backlog.find((r) => r.item?.subject === 'Backlog before switch')!;
    const mapping = await ok('POST', `/tenants/${tenantId}/groups/${legacy}/mailboxes/${BOB}/graph-ids`, { ewsIds: [ewsRecord.itemId, 'AAMkAGnonexistent'] });
    assert.equal(mapping.items.length, 2);
    assert.equal(mapping.items[0].ewsId, ewsRecord.itemId);
    assert.equal(typeof mapping.items[0].graphId, 'string');
    assert.notEqual(mapping.items[0].graphId, ewsRecord.itemId);
    assert.equal(mapping.items[1].graphId, null);
    // The mapped id is the id Graph records carry for that item: a later change shows it.
    await storeControl('PATCH', `/items/${encodeURIComponent(ewsRecord.itemId)}`, { subject: 'Backlog edited after switch' });
    const edited = records(legacy, BOB).length;
    await syncNow(legacy, BOB);
    const update = await eventually('the edit delivered', () => records(legacy, BOB).slice(edited).find((r) => r.item?.subject === 'Backlog edited after switch'));
    assert.equal(update.itemId, mapping.items[0].graphId);

    const problem = await api('PATCH', `/tenants/${tenantId}/groups/${legacy}`, { protocol: 'sideways' });
    assert.equal(problem.status, 400);
    assert.ok(JSON.stringify(problem.body.errors).includes('/protocol'), problem.text);
  });

  it('delegated: a signed-in user\'s mailbox syncs over Graph with her own token', async () => {
    const field = await createGroup({ name: 'Field (Graph)', externalId: 'field-graph', mailboxAccessType: 'delegated', folders: ['mail', 'calendar', 'contacts', 'tasks'] });
    assert.equal((await ok('GET', `/tenants/${tenantId}/groups/${field}`)).protocol, 'graph');
    await addMailbox(field, ALICE);
    const invitation = await ok('POST', `/tenants/${tenantId}/groups/${field}/invitations`, { mailboxes: [ALICE], sendEmail: false });
    const start = await fetch(invitation.items[0].link, { redirect: 'manual' });
    assert.equal(start.status, 302, await start.text());
    const authorize = new URL(start.headers.get('location')!);
    assert.match(authorize.searchParams.get('scope') ?? '', /https:\/\/graph\.microsoft\.com\/Mail\.ReadWrite/, 'a Graph group asks the user for Graph permissions');
    assert.doesNotMatch(authorize.searchParams.get('scope') ?? '', /EWS\.AccessAsUser\.All/);
    authorize.searchParams.set('login_hint', ALICE);
    authorize.searchParams.set('dev_password', d.users.alice.password);
    authorize.searchParams.set('dev_consent', 'accept');
    const answer = await fetch(authorize, { redirect: 'manual' });
    assert.equal(answer.status, 302, await answer.text());
    const page = await fetch(answer.headers.get('location')!);
    assert.equal(resultCode(await page.text()), 'SignInCompleted');
    await newMail(ALICE, 'For the field team');
    await syncNow(field, ALICE);
    const list = await eventually('Alice\'s mailbox delivered over Graph with her token', () => {
      const got = records(field, ALICE);
      const folders = new Set(got.map((r) => r.folder));
      return subjects(got).includes('For the field team') && folders.has('tasks') && folders.has('contacts') && folders.has('calendar') ? got : undefined;
    });
    assert.ok(list.every((r) => r.source === 'graph'));
    assert.equal((await mailboxStatus(field, ALICE)).status, 'ok');
  });

  it('RBAC for Applications: an app confined to a management scope gets 403 for other mailboxes, shown on the mailbox', async () => {
    await addMailbox(appGroup, DISPATCH);
    await storeControl('POST', '/application-access-policies', { organisationId: 'contoso', appId: CUSTOMER_APP, scope: { kind: 'list', mailboxes: [ALICE] } });
    await syncNow(appGroup, DISPATCH);
    const status = await eventually('the mailbox shows the refusal', async () => {
      const current = await mailboxStatus(appGroup, DISPATCH);
      return current.status === 'error' ? current : undefined;
    });
    assert.equal(status.lastError?.code, 'AccessDenied');
    assert.match(status.lastError?.message ?? '', /management scope/);
    assert.equal(records(appGroup, DISPATCH).length, 0);
    const test = await ok('POST', `/tenants/${tenantId}/groups/${appGroup}/connection-tests`, { targetMailbox: DISPATCH });
    assert.equal(test.outcome, 'failed');
    const failed = test.steps.find((step: { status: string }) => step.status === 'failed');
    assert.equal(failed.name, 'rbacScope', JSON.stringify(test.steps));
    assert.match(failed.message, /New-ManagementRoleAssignment/);
    // Alice is inside the scope and keeps syncing.
    await newMail(ALICE, 'Inside the scope');
    await syncNow(appGroup, ALICE);
    await eventually('Alice still syncs', () => records(appGroup, ALICE).find((r) => r.item?.subject === 'Inside the scope'));
  });

  it('attacker: a group of Contoso naming another organisation\'s mailbox gets nothing from it', async () => {
    await addMailbox(appGroup, STRANGER);
    await storeControl('POST', `/mailboxes/${STRANGER}/items`, { folder: 'inbox', item: { kind: 'message', subject: 'Fabrikam board minutes' } });
    await syncNow(appGroup, STRANGER);
    const status = await eventually('the foreign mailbox is refused', async () => {
      const current = await mailboxStatus(appGroup, STRANGER);
      return current.status === 'error' ? current : undefined;
    });
    assert.ok(['MailboxNotFound', 'AccessDenied', 'AuthenticationFailed'].includes(status.lastError?.code ?? ''), JSON.stringify(status));
    assert.equal(records(appGroup, STRANGER).length, 0);
    assert.ok(!receiver.received().some((b) => b.batch.records.some((r) => r.item?.subject === 'Fabrikam board minutes')));
  });
});
