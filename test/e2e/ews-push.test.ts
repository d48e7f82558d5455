/**
 * EWS push notifications end to end through the local Functions host: the renewal timer
 * (notifications-renew) subscribes each synced folder at the EWS simulator with a callback on the
 * host (notifications-ews); the simulator pushes SendNotification; the callback queues a
 * debounced sync; sync-mailbox reads through SyncFolderItems and hands the records to the outbox.
 * No poll runs in this file (the scheduler function is not loaded), so whatever arrives came
 * through a notification. One StatusFrequency minute lasts 1 s on both sides (simulator and
 * connector), so a subscription silent for 3 s counts as lost.
 *
 * Covered: delivery without a poll; keep-alives refreshing the subscription's health; the
 * simulator dropping a subscription → resubscription and sync; the callback endpoint unreachable
 * long enough for Exchange to drop the subscription → recovery; forged notifications (wrong token,
 * unknown subscription, another subscription's token, garbage) answered Unsubscribe with no effect.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SecretString } from '../../shared/logging';
import { mailboxNotificationStatus } from '../../shared/notifications/notification-status';
import { NotificationSubscriptionsRepository, type NotificationSubscriptionRecord } from '../../shared/notifications/subscription-records';
import { secretNames } from '../../shared/secrets';
import { GroupsRepository, MailboxesRepository, TableStorage, TenantsRepository } from '../../shared/storage';
import { useSyncOverrides } from '../../shared/sync/sync-composition';
import { RecordingOutbox } from '../sync/sync-fixture';
import { startConnectorStack } from '../support/connector-stack';
import type { ConnectorStack } from '../support/connector-stack';
import { eventually } from '../support/eventually';

const MASTER_KEY = 'ews-push-master-key';
const SVC = 'svc@fabrikam.test';
const SVC_PASSWORD = 'Fabrikam-Svc-Pass1';
const ANNA = 'anna@fabrikam.test';
const BEN = 'ben@fabrikam.test';
const MINUTE_IN_MS = 1000;

let stack: ConnectorStack;
let subscriptions: NotificationSubscriptionsRepository;
const outbox = new RecordingOutbox();

async function control(method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${stack.ews!.controlUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  assert.ok(response.ok, `${method} ${path}: ${response.status}`);
  return response.status === 204 ? undefined : response.json();
}

interface SimulatorPush {
  id: string;
  mailbox: string;
  url: string;
  state: string;
  endReason?: string;
}

async function pushList(): Promise<SimulatorPush[]> {
  return control('GET', '/push-subscriptions');
}

async function invoke(name: string): Promise<void> {
  const response = await fetch(`${stack.host.url}/admin/functions/${name}`, { method: 'POST', headers: { 'x-functions-key': MASTER_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ input: '' }) });
  assert.equal(response.status, 202);
}

/** Runs the renewal timer once and waits for it to finish. */
async function renew(): Promise<void> {
  const since = Date.now();
  await invoke('notifications-renew');
  const run = await stack.host.waitForInvocation((r) => r.functionName === 'notifications-renew' && r.startedAt.getTime() >= since && r.status !== 'running', { timeoutInMs: 20_000 });
  assert.equal(run.status, 'succeeded', run.error);
}

async function record(mailbox: string): Promise<NotificationSubscriptionRecord | undefined> {
  return subscriptions.find('fabrikam', 'sales', mailbox, 'inbox');
}

function subjects(mailbox: string): string[] {
  return outbox
    .records()
    .filter((r) => r.mailbox === mailbox)
    .map((r) => r.item?.subject ?? '');
}

function newMail(mailbox: string, subject: string): Promise<{ id: string }> {
  return control('POST', `/mailboxes/${mailbox}/items`, { folder: 'inbox', item: { kind: 'message', subject } });
}

function syncRuns(): number {
  return stack.host.invocations().filter((r) => r.functionName === 'sync-mailbox').length;
}

/** Posts a SendNotification to the host's callback as an attacker would. */
async function forge(token: string, subscriptionId: string): Promise<{ status: number; body: string }> {
  const body =
    '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><soap:Body>' +
    `<m:SendNotification><m:ResponseMessages><m:SendNotificationResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Notification><t:SubscriptionId>${subscriptionId}</t:SubscriptionId><t:PreviousWatermark>AAAA</t:PreviousWatermark><t:MoreEvents>false</t:MoreEvents>` +
    '<t:NewMailEvent><t:Watermark>AAAB</t:Watermark><t:TimeStamp>2026-01-01T00:00:00Z</t:TimeStamp><t:ItemId Id="x"/><t:ParentFolderId Id="y"/></t:NewMailEvent></m:Notification></m:SendNotificationResponseMessage></m:ResponseMessages></m:SendNotification></soap:Body></soap:Envelope>';
  const response = await fetch(`${stack.settings.PUBLIC_BASE_URL}/api/notifications/ews/${token}`, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8' }, body });
  return { status: response.status, body: await response.text() };
}

function tokenOf(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

before(async () => {
  stack = await startConnectorStack({
    functions: ['sync-mailbox', 'notifications-ews', 'notifications-renew'],
    publicBaseUrlIsHost: true,
    ews: {
      pushMinuteInMs: MINUTE_IN_MS,
      seed: (store) => {
        store.addOrganisation({ id: 'fabrikam', name: 'Fabrikam', domains: ['fabrikam.test'] });
        for (const address of [ANNA, BEN]) store.addMailbox({ smtpAddress: address, displayName: address, password: 'User-Pass1' });
        store.addServiceAccount({ userPrincipalName: SVC, password: SVC_PASSWORD, organisationId: 'fabrikam' });
        store.grantImpersonation({ organisationId: 'fabrikam', principal: SVC, scope: { kind: 'all' } });
      },
    },
    extraSettings: { EWS_PUSH_STATUS_FREQUENCY_MINUTES: '1', EWS_PUSH_MINUTE_MS: String(MINUTE_IN_MS) },
    functionKeys: { masterKey: MASTER_KEY },
    queues: { maxPollingIntervalInMs: 200, visibilityTimeoutInMs: 0 },
    shutdownGracePeriodInMs: 5_000,
    beforeHost: async ({ azurite, secrets }) => {
      const secretName = secretNames.groupPassword('fabrikam', 'sales');
      const stored = await secrets.setSecret(secretName, new SecretString(SVC_PASSWORD));
      const storage = new TableStorage({ storage: { kind: 'connectionString', connectionString: new SecretString(azurite.connectionString) } });
      subscriptions = new NotificationSubscriptionsRepository(storage);
      const at = new Date().toISOString();
      await new TenantsRepository(storage).create({ id: 'fabrikam', displayName: 'Fabrikam', status: 'active', createdAt: at, updatedAt: at });
      await new GroupsRepository(storage).create({
        tenantId: 'fabrikam', id: 'sales', name: 'Sales', externalId: 'sales', mailboxAccessType: 'impersonation',
        impersonation: { serviceAccount: SVC, authScheme: 'basic' },
        credential: { kind: 'password', secretName, secretVersion: stored.version, updatedAt: at },
        folders: ['mail'], pollIntervalMinutes: 60, initialSync: { kind: 'all' }, enabled: true, createdAt: at, updatedAt: at,
      });
      const mailboxes = new MailboxesRepository(storage);
      for (const address of [ANNA, BEN]) await mailboxes.create({ tenantId: 'fabrikam', groupId: 'sales', smtpAddress: address, enabled: true, status: 'pending', counts: { created: 0, updated: 0, deleted: 0 }, createdAt: at, updatedAt: at });
      useSyncOverrides({ outbox });
    },
  });
});

after(async () => {
  if (process.env['EWS_PUSH_E2E_LOGS']) console.log(stack?.logs.join('\n'));
  await stack?.close();
  useSyncOverrides({});
});

describe('EWS push notifications through the Functions host', () => {
  it('the renewal timer subscribes each synced folder, and new mail is delivered without a poll', async () => {
    await renew();
    const anna = await eventually('an active subscription record', async () => ((await record(ANNA))?.status === 'active' ? record(ANNA) : undefined));
    assert.ok(anna!.subscriptionId && anna!.secretHash && anna!.watermark);
    await eventually('a record for each mailbox', async () => ((await record(BEN))?.status === 'active' ? true : undefined));
    // The record names a subscription the simulator holds (the minute's own timer run may have made another, which is then refused).
    const live = await pushList();
    const benRecord = (await record(BEN))!;
    assert.equal(live.find((s) => s.id === benRecord.subscriptionId)?.mailbox, BEN);
    const annaLive = live.find((s) => s.id === anna!.subscriptionId);
    assert.equal(annaLive?.state, 'active');
    const callback = annaLive!.url;
    assert.ok(callback.startsWith(`${stack.settings.PUBLIC_BASE_URL}/api/notifications/ews/`), callback);
    // The record keeps only the token's hash.
    const token = tokenOf(callback);
    assert.ok(token.length >= 40);
    assert.ok(!(await stack.dumpTables()).includes(token), 'the token is never stored');

    const started = Date.now();
    await newMail(ANNA, 'Pushed order 1');
    await eventually('the pushed mail delivered', () => (subjects(ANNA).includes('Pushed order 1') ? true : undefined), { timeoutInMs: 15_000 });
    const latencyInMs = Date.now() - started;
    assert.ok(latencyInMs < 10_000, `delivered after ${latencyInMs} ms`);
    assert.ok(!stack.host.invocations().some((r) => r.functionName === 'schedule-due-groups'), 'no poll ran');
    await newMail(ANNA, 'Pushed order 2');
    await eventually('the second mail delivered', () => (subjects(ANNA).includes('Pushed order 2') ? true : undefined), { timeoutInMs: 15_000 });
  });

  it('keep-alives refresh the subscription health: a quiet mailbox stays subscribed', async () => {
    const before = (await record(BEN))!;
    // Four StatusFrequency minutes with no change: longer than the 3 minutes after which silence means "lost".
    await new Promise((resolve) => setTimeout(resolve, 4 * MINUTE_IN_MS));
    const after = (await record(BEN))!;
    assert.ok(after.lastNotificationAt && Date.now() - Date.parse(after.lastNotificationAt) < 2 * MINUTE_IN_MS, `last keep-alive ${after.lastNotificationAt}`);
    await renew();
    const renewed = (await record(BEN))!;
    assert.equal(renewed.subscriptionId, before.subscriptionId, 'a healthy subscription is left alone');
    const status = mailboxNotificationStatus([renewed]);
    assert.equal(status?.state, 'active');
    assert.ok(status?.expiresAt && Date.parse(status.expiresAt) > Date.now(), `keep-alives move the silence deadline on: ${status?.expiresAt}`);
    assert.equal(status?.protocol, 'ews');
  });

  it('attacker: forged notifications are answered Unsubscribe and change nothing', async () => {
    const live = await pushList();
    const annaRecord = (await record(ANNA))!;
    const anna = live.find((s) => s.id === annaRecord.subscriptionId)!;
    const benId = (await record(BEN))!.subscriptionId;
    const ben = live.find((s) => s.id === benId)!;
    assert.ok(anna && ben);
    const runs = syncRuns();
    const attempts = [
      await forge('A'.repeat(43), anna.id), // wrong token, real subscription
      await forge(tokenOf(anna.url), 'AAAAbm90LWEtc3Vic2NyaXB0aW9u'), // real token, unknown subscription
      await forge(tokenOf(ben.url), anna.id), // another subscription's token
      await forge('', anna.id),
    ];
    for (const attempt of attempts.slice(0, 3)) {
      assert.equal(attempt.status, 200);
      assert.match(attempt.body, /<SubscriptionStatus>Unsubscribe<\/SubscriptionStatus>/);
    }
    assert.notEqual(attempts[3]!.status, 200, 'no token: no route');
    const garbage = await fetch(`${stack.settings.PUBLIC_BASE_URL}/api/notifications/ews/${tokenOf(anna.url)}`, { method: 'POST', body: '<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>' });
    assert.equal(garbage.status, 400);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(syncRuns(), runs, 'no sync was queued by a forged notification');
    const after = (await record(ANNA))!;
    assert.equal(after.subscriptionId, annaRecord.subscriptionId);
    assert.equal(after.status, 'active');
    assert.ok((await pushList()).some((s) => s.id === anna.id && s.state === 'active'), 'the real subscription is untouched');
    const logs = stack.logs.join('\n');
    assert.match(logs, /Refused an EWS push notification/);
    for (const s of live) assert.ok(!logs.includes(tokenOf(s.url)), 'no token in the logs');
  });

  it('resubscription after the EWS server dropped a subscription: mail from the gap is delivered', async () => {
    const current = (await record(ANNA))!;
    const dropped = (await pushList()).find((s) => s.id === current.subscriptionId)!;
    await control('DELETE', `/push-subscriptions/${encodeURIComponent(dropped.id)}`);
    await newMail(ANNA, 'While unsubscribed');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.ok(!subjects(ANNA).includes('While unsubscribed'), 'nothing told the connector yet');
    // Silent for more than twice StatusFrequency: the renewal timer treats it as lost.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    // Past its silence deadline the subscription shows as failed (the scheduler polls at the normal interval again).
    assert.equal(mailboxNotificationStatus([(await record(ANNA))!])?.state, 'failed');
    await renew();
    const renewed = (await record(ANNA))!;
    assert.notEqual(renewed.subscriptionId, dropped.id);
    assert.equal(renewed.status, 'active');
    await eventually('the mail from the gap delivered', () => (subjects(ANNA).includes('While unsubscribed') ? true : undefined), { timeoutInMs: 15_000 });
    assert.match(stack.logs.join('\n'), /subscriptions reconciled.*"recreated":1/);
    // And the new subscription pushes.
    await newMail(ANNA, 'After resubscribing');
    await eventually('pushed again', () => (subjects(ANNA).includes('After resubscribing') ? true : undefined), { timeoutInMs: 15_000 });
  });

  it('recovery after the callback endpoint was down: Exchange drops the subscription, the connector subscribes again and syncs', async () => {
    const before = (await record(BEN))!;
    await control('PATCH', '/push-settings', { callbacksUnreachable: true });
    await newMail(BEN, 'During the outage');
    // Exchange retries at 30 s and 1 min (scaled) and then drops the subscription.
    await eventually(
      'the subscription dropped by the server',
      async () => ((await pushList()).some((s) => s.id === before.subscriptionId && s.endReason === 'callbackFailed') ? true : undefined),
      { timeoutInMs: 10_000 },
    );
    await control('PATCH', '/push-settings', { callbacksUnreachable: false });
    assert.ok(!subjects(BEN).includes('During the outage'));
    await eventually(
      'the renewal timer resubscribes once the silence is long enough',
      async () => {
        await renew();
        const now = await record(BEN);
        return now?.subscriptionId !== before.subscriptionId && now?.status === 'active' ? true : undefined;
      },
      { timeoutInMs: 15_000, intervalInMs: 1000 },
    );
    await eventually('the mail from the outage delivered', () => (subjects(BEN).includes('During the outage') ? true : undefined), { timeoutInMs: 15_000 });
  });
});
