/**
 * The EWS push callback's decisions without a host (fast): which notification gets OK and which
 * Unsubscribe, what each one triggers and writes, the pending-token window, and when a
 * subscription counts as lost. The end-to-end version is test/e2e/ews-push.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashSubscriptionSecret } from '../../shared/notifications/client-state';
import { handleEwsNotification, pushSubscriptionLost, silenceDeadline, type EwsPushDependencies } from '../../shared/notifications/ews-push';
import type { PendingEwsSubscription } from '../../shared/notifications/ews-push-pending';
import type { NotificationSubscriptionRecord } from '../../shared/notifications/subscription-records';
import type { Stored } from '../../shared/storage/entity-table';

const TOKEN = 'tok-' + 'a'.repeat(40);
const NOW = new Date('2026-12-03T12:00:00Z');
const SETTINGS = { callbackBaseUrl: 'https://connector.example', statusFrequencyInMinutes: 5, minuteInMs: 60_000 };

function record(overrides: Partial<NotificationSubscriptionRecord> = {}): Stored<NotificationSubscriptionRecord> {
  return {
    protocol: 'ews', tenantId: 't', groupId: 'g', mailbox: 'anna@fabrikam.test', folder: 'inbox', resource: 'inbox',
    subscriptionId: 'SUB-1', status: 'active', secretHash: hashSubscriptionSecret(TOKEN), watermark: 'W0',
    createdAt: '2026-12-03T11:00:00Z', updatedAt: '2026-12-03T11:00:00Z', etag: 'e1', ...overrides,
  };
}

function notification(subscriptionId: string, events: string[]): string {
  const body = events.map((e, i) => `<t:${e}><t:Watermark>W${i + 1}</t:Watermark>${e === 'StatusEvent' ? '' : '<t:TimeStamp>2026-12-03T12:00:00Z</t:TimeStamp><t:ItemId Id="i"/><t:ParentFolderId Id="p"/>'}</t:${e}>`).join('');
  return (
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><soap:Body>' +
    `<m:SendNotification><m:ResponseMessages><m:SendNotificationResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Notification><t:SubscriptionId>${subscriptionId}</t:SubscriptionId><t:PreviousWatermark>W0</t:PreviousWatermark><t:MoreEvents>false</t:MoreEvents>${body}</m:Notification></m:SendNotificationResponseMessage></m:ResponseMessages></m:SendNotification></soap:Body></soap:Envelope>`
  );
}

function fakes(stored: Stored<NotificationSubscriptionRecord> | undefined, pending?: PendingEwsSubscription) {
  const triggered: string[] = [];
  const noted: { watermark?: string; expiresAt?: string }[] = [];
  const deps: EwsPushDependencies = {
    records: {
      find: async () => stored,
      findBySubscriptionId: async (_protocol, id) => (stored?.subscriptionId === id ? stored : undefined),
      noteNotification: async (_record, _at, options) => {
        noted.push({ ...(options?.watermark ? { watermark: options.watermark } : {}), ...(options?.expiresAt ? { expiresAt: options.expiresAt } : {}) });
      },
    },
    pending: { find: async (hash) => (pending?.secretHash === hash ? pending : undefined) },
    trigger: { trigger: async (ref) => triggered.push(ref.mailbox) },
    settings: SETTINGS,
    now: () => NOW,
  };
  return { deps, triggered, noted };
}

const status = (body: string) => /<SubscriptionStatus>(\w+)</.exec(body)?.[1];

test('a change for a known, active subscription with its token: OK, one sync queued, health and watermark noted', async () => {
  const { deps, triggered, noted } = fakes(record());
  const answer = await handleEwsNotification(deps, TOKEN, notification('SUB-1', ['NewMailEvent', 'CreatedEvent']));
  assert.equal(status(answer.body), 'OK');
  assert.deepEqual(triggered, ['anna@fabrikam.test']);
  assert.deepEqual(noted, [{ watermark: 'W2', expiresAt: silenceDeadline(SETTINGS, NOW) }]);
});

test('a keep-alive refreshes health and queues no sync', async () => {
  const { deps, triggered, noted } = fakes(record());
  const answer = await handleEwsNotification(deps, TOKEN, notification('SUB-1', ['StatusEvent']));
  assert.equal(status(answer.body), 'OK');
  assert.equal(answer.outcome, 'keepAlive');
  assert.deepEqual(triggered, []);
  assert.equal(noted.length, 1);
});

test('attacker: wrong token, no token, unknown subscription, failed subscription → Unsubscribe, nothing queued or written', async () => {
  for (const [token, id, stored] of [
    ['tok-' + 'b'.repeat(40), 'SUB-1', record()],
    [undefined, 'SUB-1', record()],
    [TOKEN, 'SUB-OTHER', record()],
    [TOKEN, 'SUB-1', record({ status: 'failed' })],
  ] as const) {
    const { deps, triggered, noted } = fakes(stored);
    const answer = await handleEwsNotification(deps, token, notification(id, ['NewMailEvent']));
    assert.equal(status(answer.body), 'Unsubscribe', `${token?.slice(0, 6)} ${id} ${stored.status}`);
    assert.equal(answer.outcome, 'refused');
    assert.deepEqual(triggered, []);
    assert.deepEqual(noted, []);
  }
  const { deps } = fakes(record());
  const garbage = await handleEwsNotification(deps, TOKEN, '<x/>');
  assert.equal(garbage.httpStatus, 400);
});

test('a notification before the record is saved is accepted by its pending token, and only until the record holds that token', async () => {
  const pending: PendingEwsSubscription = { secretHash: hashSubscriptionSecret(TOKEN), tenantId: 't', groupId: 'g', mailbox: 'anna@fabrikam.test', folder: 'inbox', createdAt: NOW.toISOString() };
  // The record still describes the previous subscription (another token).
  const before = fakes(record({ subscriptionId: 'SUB-OLD', secretHash: hashSubscriptionSecret('old-token') }), pending);
  const early = await handleEwsNotification(before.deps, TOKEN, notification('SUB-NEW', ['NewMailEvent']));
  assert.equal(status(early.body), 'OK');
  assert.deepEqual(before.triggered, ['anna@fabrikam.test']);
  // Saved: the token now counts only with its own subscription id.
  const after = fakes(record({ subscriptionId: 'SUB-NEW' }), pending);
  const forged = await handleEwsNotification(after.deps, TOKEN, notification('SUB-FORGED', ['NewMailEvent']));
  assert.equal(status(forged.body), 'Unsubscribe');
  assert.deepEqual(after.triggered, []);
});

test('lost = silent for more than 2 × StatusFrequency + 1 minute', () => {
  const heard = record({ lastNotificationAt: '2026-12-03T11:50:00Z', updatedAt: '2026-12-03T11:00:00Z' });
  assert.equal(pushSubscriptionLost(heard, SETTINGS, new Date('2026-12-03T12:00:59Z')), false);
  assert.equal(pushSubscriptionLost(heard, SETTINGS, new Date('2026-12-03T12:01:01Z')), true);
  assert.equal(pushSubscriptionLost(record({ status: 'failed' }), SETTINGS, new Date('2027-01-01T00:00:00Z')), false, 'only active ones are "lost"; failed ones are recreated anyway');
  assert.equal(silenceDeadline(SETTINGS, NOW), '2026-12-03T12:11:00.000Z');
});
