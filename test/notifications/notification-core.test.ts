/**
 * The protocol-neutral notification core against Azurite: the debounced trigger (a burst yields
 * one queued job, the next one only after the sync started), the secret check (hash stored,
 * forged and unknown notifications refused with no write and no job), the admin status summary
 * and the safety-poll spread.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startAzurite } from '../../dev/azurite/azurite';
import type { AzuriteInstance } from '../../dev/azurite/azurite';
import { SecretString } from '../../shared/logging';
import { TableStorage } from '../../shared/storage';
import type { SyncJob, SyncJobQueue } from '../../shared/sync/sync-jobs';
import { hashSubscriptionSecret, newSubscriptionSecret, subscriptionSecretMatches } from '../../shared/notifications/client-state';
import { acceptChangeNotification } from '../../shared/notifications/notification-intake';
import { mailboxNotificationStatus, safetyPollDue } from '../../shared/notifications/notification-status';
import { NotificationSubscriptionsRepository } from '../../shared/notifications/subscription-records';
import type { NotificationSubscriptionRecord } from '../../shared/notifications/subscription-records';
import { NotificationSyncTrigger } from '../../shared/notifications/sync-trigger';

let azurite: AzuriteInstance;
let storage: TableStorage;

before(async () => {
  azurite = await startAzurite({ inMemory: true });
  storage = new TableStorage({ storage: { kind: 'connectionString', connectionString: new SecretString(azurite.connectionString) } });
});
after(async () => azurite.close());

function recordingQueue(): SyncJobQueue & { jobs: SyncJob[] } {
  const jobs: SyncJob[] = [];
  return { jobs, enqueue: async (job) => void jobs.push(job) };
}

const ref = { tenantId: 't1', groupId: 'g1', mailbox: 'Alice@Contoso.com' };

test('a burst of 500 notifications queues one job; during its sync the next burst queues exactly one delayed follow-up', async () => {
  const queue = recordingQueue();
  const delays: (number | undefined)[] = [];
  const trigger = new NotificationSyncTrigger(storage, { enqueue: async (job, options) => { delays.push(options?.delayInMs); await queue.enqueue(job); } }, () => new Date(), 2_500);
  const first = await Promise.all(Array.from({ length: 500 }, () => trigger.trigger(ref)));
  assert.equal(first.filter((o) => o === 'queued').length, 1);
  assert.equal(queue.jobs.length, 1);
  assert.deepEqual({ reason: queue.jobs[0]!.reason, mailbox: queue.jobs[0]!.mailbox }, { reason: 'notification', mailbox: 'alice@contoso.com' });
  const running = await trigger.started(ref); // the job's sync starts
  assert.ok(running);
  const second = await Promise.all(Array.from({ length: 500 }, () => trigger.trigger(ref)));
  assert.equal(second.filter((o) => o === 'followUpQueued').length, 1);
  assert.equal(second.filter((o) => o !== 'alreadyQueued').length, 1);
  assert.equal(queue.jobs.length, 2);
  assert.deepEqual(delays, [undefined, 2_500], 'the follow-up waits for the rest of the burst');
  await trigger.finished(running);
  assert.equal(await trigger.trigger(ref), 'alreadyQueued', 'the follow-up is still queued: the end of the first sync kept its marker');
  const followUp = await trigger.started(ref);
  await trigger.finished(followUp!);
  assert.equal(await trigger.trigger(ref), 'queued', 'idle again: the next notification syncs at once');
  // Another mailbox is not debounced by this one's marker.
  assert.equal(await trigger.trigger({ ...ref, mailbox: 'bob@contoso.com' }), 'queued');
});

test('a marker whose job was lost is taken over once stale', async () => {
  const queue = recordingQueue();
  let now = new Date('2026-01-01T00:00:00Z');
  const trigger = new NotificationSyncTrigger(storage, queue, () => now);
  const mailbox = { ...ref, mailbox: 'lost@contoso.com' };
  assert.equal(await trigger.trigger(mailbox), 'queued');
  now = new Date(now.getTime() + 60_000);
  assert.equal(await trigger.trigger(mailbox), 'alreadyQueued');
  now = new Date(now.getTime() + 5 * 60_000);
  assert.equal(await trigger.trigger(mailbox), 'queued');
  assert.equal(queue.jobs.length, 2);
});

test('a failed enqueue leaves no marker behind', async () => {
  let fail = true;
  const jobs: SyncJob[] = [];
  const trigger = new NotificationSyncTrigger(storage, { enqueue: async (job) => { if (fail) throw new Error('queue down'); jobs.push(job); } });
  const mailbox = { ...ref, mailbox: 'flaky@contoso.com' };
  await assert.rejects(trigger.trigger(mailbox), /queue down/);
  fail = false;
  assert.equal(await trigger.trigger(mailbox), 'queued');
});

test('the secret is stored as a hash and compared exactly', () => {
  const secret = newSubscriptionSecret();
  assert.equal(secret.hash, hashSubscriptionSecret(secret.value.reveal()));
  assert.ok(!secret.hash.includes(secret.value.reveal()));
  assert.equal(subscriptionSecretMatches(secret.value.reveal(), secret.hash), true);
  assert.equal(subscriptionSecretMatches(secret.value.reveal() + 'x', secret.hash), false);
  assert.equal(subscriptionSecretMatches(secret.hash, secret.hash), false, 'the stored hash is no key');
  assert.equal(subscriptionSecretMatches('', secret.hash), false);
  assert.equal(subscriptionSecretMatches(undefined, secret.hash), false);
  assert.equal(subscriptionSecretMatches(secret.value.reveal(), undefined), false);
});

test('as an attacker: an unknown subscription or a wrong clientState is refused with no write and no job', async () => {
  const subscriptions = new NotificationSubscriptionsRepository(storage);
  const queue = recordingQueue();
  const trigger = new NotificationSyncTrigger(storage, queue);
  const secret = newSubscriptionSecret();
  const record: NotificationSubscriptionRecord = { protocol: 'graph', tenantId: 't2', groupId: 'g2', mailbox: 'carol@contoso.com', folder: 'inbox', resource: 'users/carol@contoso.com/mailFolders/inbox/messages', subscriptionId: 'sub-1', status: 'active', secretHash: secret.hash, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z' };
  await subscriptions.save(record);
  const deps = { subscriptions, trigger };
  assert.deepEqual(await acceptChangeNotification(deps, { protocol: 'graph', subscriptionId: 'sub-2', secret: secret.value.reveal() }), { kind: 'refused', reason: 'unknownSubscription' });
  assert.deepEqual(await acceptChangeNotification(deps, { protocol: 'graph', subscriptionId: 'sub-1', secret: 'forged' }), { kind: 'refused', reason: 'wrongSecret' });
  assert.deepEqual(await acceptChangeNotification(deps, { protocol: 'ews', subscriptionId: 'sub-1', secret: secret.value.reveal() }), { kind: 'refused', reason: 'unknownSubscription' }, 'ids of one protocol do not open the other');
  assert.equal(queue.jobs.length, 0);
  assert.equal((await subscriptions.find('t2', 'g2', 'carol@contoso.com', 'inbox'))?.lastNotificationAt, undefined);
  const accepted = await acceptChangeNotification(deps, { protocol: 'graph', subscriptionId: 'sub-1', secret: secret.value.reveal() });
  assert.equal(accepted.kind, 'accepted');
  assert.equal(queue.jobs.length, 1);
  assert.ok((await subscriptions.find('t2', 'g2', 'carol@contoso.com', 'inbox'))?.lastNotificationAt);
  // A replaced subscription's old id no longer opens the record.
  await subscriptions.save({ ...record, subscriptionId: 'sub-3' });
  assert.equal(await subscriptions.findBySubscriptionId('graph', 'sub-1'), undefined);
});

test('mailbox status: the worst state, the latest notification, the earliest expiry; an overdue active one is failed', () => {
  const base: NotificationSubscriptionRecord = { protocol: 'graph', tenantId: 't', groupId: 'g', mailbox: 'm@x.test', folder: 'inbox', resource: 'r', status: 'active', createdAt: '', updatedAt: '' };
  const now = new Date('2026-01-02T00:00:00Z');
  assert.equal(mailboxNotificationStatus([], now), undefined);
  assert.deepEqual(
    mailboxNotificationStatus([{ ...base, expiresAt: '2026-01-05T00:00:00Z', lastNotificationAt: '2026-01-01T10:00:00Z' }, { ...base, folder: 'calendar', expiresAt: '2026-01-04T00:00:00Z', lastNotificationAt: '2026-01-01T11:00:00Z' }], now),
    { protocol: 'graph', state: 'active', lastNotificationAt: '2026-01-01T11:00:00Z', expiresAt: '2026-01-04T00:00:00Z' },
  );
  assert.equal(mailboxNotificationStatus([base, { ...base, status: 'renewing' }], now)?.state, 'renewing');
  assert.equal(mailboxNotificationStatus([{ ...base, status: 'unsupported' }, { ...base, status: 'failed' }], now)?.state, 'failed');
  assert.equal(mailboxNotificationStatus([{ ...base, expiresAt: '2026-01-01T00:00:00Z' }], now)?.state, 'failed');
});

test('the safety poll is due once per interval per mailbox, spread across mailboxes', () => {
  const interval = 15 * 60_000;
  const start = new Date('2026-01-01T00:00:00Z').getTime();
  const dueTimes = (mailbox: string) => {
    const due: number[] = [];
    for (let t = start + 60_000; t <= start + 60 * 60_000; t += 60_000) if (safetyPollDue(mailbox, new Date(t - 60_000), new Date(t), interval)) due.push(t);
    return due;
  };
  const alice = dueTimes('alice@contoso.com');
  assert.equal(alice.length, 4, 'four safety polls in an hour at 15 minutes');
  const offsets = new Set(['a@x', 'b@x', 'c@x', 'd@x', 'e@x', 'f@x'].map((m) => (dueTimes(m)[0]! - start) % interval));
  assert.ok(offsets.size > 1, 'mailboxes are not all polled in the same minute');
  assert.equal(safetyPollDue('alice@contoso.com', undefined, new Date(start), interval), true);
});
