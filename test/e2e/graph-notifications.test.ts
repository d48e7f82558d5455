/**
 * Graph change notifications end to end through the local Functions host: the renewal timer
 * subscribes the group's folders on the Graph simulator (which validates the callback), a new
 * message is pushed to the anonymous callback and delivered to the customer's webhook without any
 * poll; a burst of 500 notifications runs one sync and at most one follow-up; each lifecycle event
 * (reauthorizationRequired, subscriptionRemoved, missed); renewal before expiry; recovery after the
 * callback endpoint was down (a front door the test switches off); and, as an attacker, forged
 * notifications (wrong clientState, unknown subscription) refused without effect.
 *
 * The group polls every 60 minutes, so after the initial sync every delivery here is pushed.
 */
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TableClient } from '@azure/data-tables';
import { closeServer, listen } from '../../dev/server-lifecycle';
import { encodeKeyPart, joinKeyParts } from '../../shared/storage/table-keys';
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
import { eventually } from '../support/eventually';
import { freeLoopbackPort } from '../support/free-port';
import { adminApiCalls, controlCall } from '../support/http-json';

const d = DEMO_IDENTITY;
const MASTER_KEY = 'notify-e2e-master-key';
const ALICE = 'alice@contoso.com';
const CUSTOMER_APP = 'c0ffee00-0000-4000-8000-0000000c0502';
const CUSTOMER_SECRET = 'contoso-notify-app-secret';

let stack: ConnectorStack;
let receiver: RunningWebhookReceiver;
let adminToken: string;
let tenantId: string;
let groupId: string;
const signingSecrets: string[] = [];

/** The public front door Graph calls: forwards to the host unless the test switches it off. */
const frontDoor = { up: true, target: '', url: '', close: async (): Promise<void> => undefined };

async function startFrontDoor(port: number): Promise<void> {
  const server = createServer((req, res) => {
    if (!frontDoor.up || !frontDoor.target) {
      res.writeHead(503).end();
      return;
    }
    const target = new URL(req.url ?? '/', frontDoor.target);
    const upstream = httpRequest(target, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.headersSent ? res.destroy() : res.writeHead(502).end());
    req.pipe(upstream);
  });
  await listen(server, port, '127.0.0.1');
  frontDoor.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  frontDoor.close = () => closeServer(server);
}

const { ok } = adminApiCalls(() => stack.settings.PUBLIC_BASE_URL, () => adminToken);

const graphControl = (method: string, path: string, body?: unknown): Promise<any> => controlCall(stack.graph!.controlUrl, method, path, body);

async function newMail(subject: string): Promise<void> {
  const response = await fetch(`${stack.graph!.storeControlUrl}/mailboxes/${ALICE}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ folder: 'inbox', item: { kind: 'message', subject, from: { address: 'customer@example.net', name: 'Customer' } } }) });
  assert.equal(response.status, 201, await response.text());
}

async function invoke(name: string, input = ''): Promise<void> {
  const response = await fetch(`${stack.host.url}/admin/functions/${name}`, { method: 'POST', headers: { 'x-functions-key': MASTER_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
  assert.equal(response.status, 202);
}

/** Runs the renewal timer and waits for it to finish. */
async function renewNow(): Promise<void> {
  const before = stack.host.invocations().filter((r) => r.functionName === 'notifications-renew').length;
  await invoke('notifications-renew');
  await eventually('renewal run finished', () => {
    const runs = stack.host.invocations().filter((r) => r.functionName === 'notifications-renew');
    return runs.length > before && runs.every((r) => r.status !== 'running') ? true : undefined;
  });
}

function records(): ChangeRecord[] {
  return receiver.received().filter((b) => b.batch.groupId === groupId && b.batch.mailbox === ALICE).flatMap((b) => [...b.batch.records]);
}

function delivered(subject: string): boolean {
  return records().some((r) => r.item?.subject === subject);
}

/** Sync jobs the worker ran for a reason (from its per-job debug line). */
function syncRuns(reason: string): number {
  return stack.logs.filter((line) => line.includes('Sync job finished') || line.includes('Mailbox synced')).filter((line) => line.includes('Mailbox synced') && line.includes(`"reason":"${reason}"`)).length;
}

function simulatorSubscriptions(): { id: string; kind: string; clientState?: string; expirationDateTime: Date }[] {
  return stack.graph!.subscriptions.list().filter((s) => s.mailbox === ALICE);
}

function inboxSubscription() {
  const found = simulatorSubscriptions().find((s) => s.kind === 'messages');
  assert.ok(found, 'an inbox subscription exists at the simulator');
  return found;
}

async function mailboxNotifications(): Promise<{ state: string; lastNotificationAt?: string; expiresAt?: string; protocol: string } | undefined> {
  return (await ok('GET', `/tenants/${tenantId}/groups/${groupId}/mailboxes/${ALICE}`)).notifications;
}

function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${stack.host.url}/api/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

function notificationFor(subscription: { id: string; clientState?: string }, clientState: string | null | undefined = subscription.clientState): Record<string, unknown> {
  return { subscriptionId: subscription.id, subscriptionExpirationDateTime: new Date(Date.now() + 3600_000).toISOString(), changeType: 'created', resource: 'Users/x/Messages/y', clientState, tenantId: d.contosoTenantId };
}

before(async () => {
  receiver = await startWebhookReceiver({ port: 0, secret: () => signingSecrets, print: () => undefined, keep: 5_000 });
  await startFrontDoor(await freeLoopbackPort());
  stack = await startConnectorStack({
    functions: ['admin-tenants', 'admin-consent', 'consent-admin-callback', 'admin-groups', 'admin-mailboxes', 'delivery-admin', 'delivery-deliver-batch', 'sync-schedule', 'sync-mailbox', 'notifications-graph', 'notifications-lifecycle', 'notifications-renew'],
    publicBaseUrlIsHost: true,
    identitySeed: { contosoAdminConsent: true },
    ews: { seed: (store) => demoOrganisationSeed({ itemsPerFolder: 1 }).apply(store), trustIdentityProvider: true },
    graph: { subscriptions: { validationTimeoutInMs: 5_000, notificationTimeoutInMs: 3_000, retryBaseDelayInMs: 300, maxDeliveryAttempts: 5 } },
    functionKeys: { masterKey: MASTER_KEY },
    queues: { maxPollingIntervalInMs: 100, visibilityTimeoutInMs: 0 },
    extraSettings: { NOTIFICATIONS_CALLBACK_BASE_URL: frontDoor.url, SYNC_BUSY_RETRY_DELAY_MS: '200' },
    shutdownGracePeriodInMs: 5_000,
    beforeHost: async ({ secrets }) => {
      await secrets.setSecret(secretNames.connectorAppClientSecret(), new SecretString(d.connectorApp.clientSecret), { expiresOn: new Date(Date.now() + 365 * 24 * 3600_000) });
    },
  });
  frontDoor.target = stack.host.url;
  adminToken = stack.idp.control.issueAccessToken({ tenantId: d.operatorTenantId, audience: d.adminApi.audience, roles: ['Connector.Admin'], oid: d.users.operatorAdmin.objectId, name: 'Operator Admin', upn: d.users.operatorAdmin.upn });
  stack.idp.control.addApp({
    appId: CUSTOMER_APP,
    displayName: 'Contoso notifications app',
    homeTenantId: d.contosoTenantId,
    secrets: [{ value: CUSTOMER_SECRET, displayName: 'e2e' }],
    requiredResourceAccess: [{ resource: 'https://graph.microsoft.com', applicationPermissions: ['Mail.ReadWrite', 'Calendars.ReadWrite', 'Contacts.ReadWrite', 'Tasks.ReadWrite.All'] }],
  });
  stack.idp.control.grantAdminConsent(d.contosoTenantId, CUSTOMER_APP);
  tenantId = (await ok('POST', '/tenants', { displayName: 'Contoso (notifications)', entraTenantId: d.contosoTenantId })).id;
  const consent = await ok('POST', `/tenants/${tenantId}/consent`);
  assert.equal((await answerAdminConsent(consent.url, d.users.contosoAdmin)).code, 'AdminConsentGranted');
  const group = await ok('POST', `/tenants/${tenantId}/groups`, { name: 'Dispatch (push)', externalId: 'push', mailboxAccessType: 'appOnly', appOnly: { entraTenantId: d.contosoTenantId, clientId: CUSTOMER_APP }, folders: ['mail', 'calendar'], pollIntervalMinutes: 60, delivery: { kind: 'webhook', url: `${receiver.url}/webhook` } });
  groupId = group.id;
  signingSecrets.push((await ok('POST', `/tenants/${tenantId}/groups/${groupId}/delivery/signing-key`)).secret);
  await ok('PUT', `/tenants/${tenantId}/groups/${groupId}/credentials`, { clientSecret: CUSTOMER_SECRET });
  await ok('POST', `/tenants/${tenantId}/groups/${groupId}/mailboxes`, { smtpAddress: ALICE });
  // The initial sync (the one poll of this file), then the subscriptions.
  await invoke('schedule-due-groups');
  await eventually('initial sync done', async () => ((await ok('GET', `/tenants/${tenantId}/groups/${groupId}/mailboxes/${ALICE}`)).status === 'ok' ? true : undefined), { timeoutInMs: 60_000 });
});

after(async () => {
  if (process.env.NOTIFY_E2E_LOGS) require('node:fs').writeFileSync(process.env.NOTIFY_E2E_LOGS, stack.logs.join('\n'));
  await stack?.close();
  await receiver?.close();
  await frontDoor.close();
});

describe('Graph change notifications through the Functions host', () => {
  it('the renewal timer subscribes each synced folder (validated by the simulator) and the admin API shows them active', async () => {
    assert.equal(await mailboxNotifications(), undefined, 'nothing before the first renewal run');
    await renewNow();
    const kinds = simulatorSubscriptions().map((s) => s.kind).sort();
    assert.deepEqual(kinds, ['events', 'messages']);
    const validations = (await graphControl('GET', '/notifications?kind=validation')) as { status: number }[];
    assert.ok(validations.length >= 4 && validations.every((v) => v.status === 200), 'notification and lifecycle URLs answered the handshake');
    const status = await mailboxNotifications();
    assert.equal(status?.state, 'active');
    assert.equal(status?.protocol, 'graph');
    assert.ok(status?.expiresAt && Date.parse(status.expiresAt) > Date.now() + 6 * 24 * 3600_000, `the longest lifetime (about 7 days): ${status?.expiresAt}`);
    const tables = await stack.dumpTables();
    for (const s of simulatorSubscriptions()) assert.ok(s.clientState && !tables.includes(s.clientState), 'no clientState in Table Storage');
    // A second run renews nothing: they are days from expiry.
    const patchesBefore = ((await graphControl('GET', '/requests?operation=updateSubscription')) as unknown[]).length;
    await renewNow();
    assert.equal(((await graphControl('GET', '/requests?operation=updateSubscription')) as unknown[]).length, patchesBefore);
  });

  it('a new message reaches the customer without a poll', async () => {
    const started = Date.now();
    await newMail('Pushed 1');
    await eventually('Pushed 1 delivered', () => (delivered('Pushed 1') ? true : undefined), { timeoutInMs: 20_000, intervalInMs: 50 });
    const elapsed = Date.now() - started;
    await eventually('a notification-triggered sync delivered it', () => (syncRuns('notification') >= 1 ? true : undefined));
    assert.ok(elapsed < 20_000, `pushed within ${elapsed} ms`);
    const status = await mailboxNotifications();
    assert.ok(status?.lastNotificationAt && Date.parse(status.lastNotificationAt) >= started - 1000, 'last notification time shown');
  });

  it('a burst of 500 notifications for one mailbox runs one sync and at most one follow-up', async () => {
    await eventually('no sync running', () => (stack.host.invocations().some((r) => r.functionName === 'sync-mailbox' && r.status === 'running') ? undefined : true));
    const before = syncRuns('notification');
    const inbox = inboxSubscription();
    // As Graph sends a burst: several POSTs, each with many notifications.
    const answers = await Promise.all(Array.from({ length: 5 }, () => post('notifications/graph', { value: Array.from({ length: 100 }, () => notificationFor(inbox)) })));
    assert.ok(answers.every((a) => a.status === 202), answers.map((a) => a.status).join(','));
    await new Promise((r) => setTimeout(r, 5_000));
    await eventually('no sync running', () => (stack.host.invocations().some((r) => r.functionName === 'sync-mailbox' && r.status === 'running') ? undefined : true));
    const runs = syncRuns('notification') - before;
    assert.ok(runs >= 1 && runs <= 2, `one sync and at most one follow-up, saw ${runs}`);
  });

  it('as an attacker: a wrong clientState or an unknown subscription is refused with no sync and no trace', async () => {
    const inbox = inboxSubscription();
    const statusBefore = await mailboxNotifications();
    const runsBefore = syncRuns('notification');
    const wrong = await post('notifications/graph', { value: [notificationFor(inbox, 'forged-client-state')] });
    assert.equal(wrong.status, 403);
    const unknown = await post('notifications/graph', { value: [notificationFor({ id: '00000000-0000-4000-8000-000000000bad' }, inbox.clientState)] });
    assert.equal(unknown.status, 403);
    const noState = await post('notifications/graph', { value: [notificationFor(inbox, null)] });
    assert.equal(noState.status, 403);
    const lifecycle = await post('notifications/graph/lifecycle', { value: [{ ...notificationFor(inbox, 'forged'), lifecycleEvent: 'subscriptionRemoved' }] });
    assert.equal(lifecycle.status, 403);
    assert.equal((await post('notifications/graph', { nonsense: true })).status, 400);
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(syncRuns('notification'), runsBefore, 'no sync was queued');
    assert.equal(inboxSubscription().id, inbox.id, 'the forged subscriptionRemoved recreated nothing');
    assert.deepEqual(await mailboxNotifications(), statusBefore, 'the status did not move');
    // The handshake answers only the token, as text.
    const handshake = await fetch(`${stack.host.url}/api/notifications/graph?validationToken=${encodeURIComponent('<b>token</b>')}`, { method: 'POST' });
    assert.equal(handshake.status, 200);
    assert.match(handshake.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(await handshake.text(), '<b>token</b>');
  });

  it('renewal: a subscription near its expiry is renewed by the timer before it expires', async () => {
    const inbox = inboxSubscription();
    // Two minutes from expiry, on both sides (as after days without a renewal run).
    await graphControl('POST', `/subscriptions/${inbox.id}/expire`, { inSeconds: 120 });
    const table = TableClient.fromConnectionString(stack.azurite.connectionString, 'notifysubs', { allowInsecureConnection: true });
    await table.updateEntity({ partitionKey: joinKeyParts(encodeKeyPart(tenantId), encodeKeyPart(groupId)), rowKey: joinKeyParts(encodeKeyPart(ALICE), encodeKeyPart('inbox')), expiresAt: new Date(Date.now() + 120_000).toISOString() }, 'Merge');
    assert.ok(Date.parse((await mailboxNotifications())!.expiresAt!) < Date.now() + 130_000, 'the status shows the near expiry');
    await renewNow();
    const renewed = inboxSubscription();
    assert.equal(renewed.id, inbox.id, 'renewed, not recreated');
    assert.ok(renewed.expirationDateTime.getTime() > Date.now() + 6 * 24 * 3600_000, 'pushed out to the maximum again');
    assert.equal((await mailboxNotifications())?.state, 'active');
  });

  it('lifecycle reauthorizationRequired: the subscription is renewed (reauthorized)', async () => {
    const inbox = inboxSubscription();
    const patches = ((await graphControl('GET', '/requests?operation=updateSubscription')) as unknown[]).length;
    await graphControl('POST', `/subscriptions/${inbox.id}/lifecycle`, { event: 'reauthorizationRequired' });
    await eventually('renewed after the challenge', async () => (((await graphControl('GET', '/requests?operation=updateSubscription')) as unknown[]).length > patches ? true : undefined), { timeoutInMs: 15_000 });
    await eventually('challenge cleared', () => (stack.graph!.subscriptions.list().find((s) => s.id === inbox.id)?.reauthorizationRequired === false ? true : undefined));
    await newMail('After reauthorization');
    await eventually('delivered after reauthorization', () => (delivered('After reauthorization') ? true : undefined), { timeoutInMs: 20_000 });
  });

  it('lifecycle subscriptionRemoved: a new subscription is created, then a delta sync delivers what changed meanwhile', async () => {
    const inbox = inboxSubscription();
    const runs = syncRuns('notification');
    await graphControl('POST', `/subscriptions/${inbox.id}/lifecycle`, { event: 'subscriptionRemoved' });
    // Mail while no subscription exists: only the delta sync after the recreation can deliver it.
    await newMail('While removed');
    const replacement = await eventually('a new inbox subscription', () => simulatorSubscriptions().find((s) => s.kind === 'messages' && s.id !== inbox.id), { timeoutInMs: 15_000 });
    assert.ok(replacement);
    await eventually('delivered by the delta sync', () => (delivered('While removed') ? true : undefined), { timeoutInMs: 20_000 });
    await eventually('a notification sync ran', () => (syncRuns('notification') > runs ? true : undefined));
    await eventually('active again', async () => ((await mailboxNotifications())?.state === 'active' ? true : undefined));
    // The old id is no longer accepted.
    assert.equal((await post('notifications/graph', { value: [notificationFor(inbox)] })).status, 403);
  });

  it('lifecycle missed: notifications the endpoint never took are dropped, Graph says missed, and a delta sync delivers the change', async () => {
    frontDoor.up = false;
    await graphControl('DELETE', '/notifications');
    await newMail('Missed one');
    // Every attempt fails (5 attempts, backoff from 300 ms): the simulator gives up on the change notification.
    await eventually('all attempts failed', async () => (((await graphControl('GET', '/notifications?kind=change')) as { status: number }[]).filter((e) => e.status === 503).length >= 5 ? true : undefined), { timeoutInMs: 20_000 });
    assert.equal(delivered('Missed one'), false);
    const runs = syncRuns('notification');
    frontDoor.up = true;
    // The `missed` lifecycle event (retried until the endpoint is back) triggers the delta sync.
    await eventually('delivered after missed', () => (delivered('Missed one') ? true : undefined), { timeoutInMs: 20_000 });
    const lifecycle = (await graphControl('GET', '/notifications?kind=lifecycle')) as { status: number }[];
    assert.ok(lifecycle.some((e) => e.status === 202), 'the missed event was accepted');
    const changes = (await graphControl('GET', '/notifications?kind=change')) as { status: number }[];
    assert.ok(changes.every((e) => e.status !== 202), 'the change notification itself never arrived');
    await eventually('a notification sync ran', () => (syncRuns('notification') > runs ? true : undefined));
  });

  it('recovery: while the callback endpoint is down the simulator retries with backoff; once it is back the mail arrives', async () => {
    frontDoor.up = false;
    await graphControl('DELETE', '/notifications');
    await newMail('Sent while down');
    await eventually('two failed attempts', async () => (((await graphControl('GET', '/notifications?kind=change')) as { status: number }[]).filter((e) => e.status === 503).length >= 2 ? true : undefined), { timeoutInMs: 15_000 });
    assert.equal(delivered('Sent while down'), false, 'nothing without a notification or a poll');
    frontDoor.up = true;
    await eventually('delivered after recovery', () => (delivered('Sent while down') ? true : undefined), { timeoutInMs: 20_000 });
    const log = (await graphControl('GET', '/notifications?kind=change')) as { status: number }[];
    assert.ok(log.some((e) => e.status === 202), 'a retry was accepted');
  });

  it('cleanup: disabling the mailbox deletes its subscriptions at the server and the status goes', async () => {
    await ok('PATCH', `/tenants/${tenantId}/groups/${groupId}/mailboxes/${ALICE}`, { enabled: false });
    await renewNow();
    assert.deepEqual(simulatorSubscriptions(), []);
    assert.equal(await mailboxNotifications(), undefined);
  });
});
