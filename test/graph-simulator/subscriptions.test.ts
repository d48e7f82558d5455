/**
 * Graph simulator change notifications: the validation handshake (wrong, late, wrong type and
 * unreachable endpoints fail the POST), notifications for changes made through EWS, Graph and the
 * control API, retries with backoff and `missed` after the last attempt, lifecycle events on
 * demand, renewal limits, expiry, and another app's subscription being invisible.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { graphCall, startGraphFixture, type GraphFixture } from './fixture';
import { startNotificationReceiver, type NotificationReceiver } from './notification-receiver';

let f: GraphFixture;
let receiver: NotificationReceiver;
const INBOX = "users/alice@contoso.com/mailFolders('inbox')/messages";

before(async () => {
  f = await startGraphFixture({ subscriptions: { validationTimeoutInMs: 500, notificationTimeoutInMs: 300, retryBaseDelayInMs: 50, maxDeliveryAttempts: 3 } });
  receiver = await startNotificationReceiver();
});
after(async () => {
  await receiver.close();
  await f.close();
});
beforeEach(() => {
  receiver.received.length = 0;
  receiver.validation = 'echo';
  receiver.notifications = 202;
});

function subscribe(body: Record<string, unknown> = {}, token = f.appToken()) {
  return graphCall(f.graph, token, '/subscriptions', { method: 'POST', body: { changeType: 'created,updated,deleted', notificationUrl: `${receiver.url}/notify`, lifecycleNotificationUrl: `${receiver.url}/lifecycle`, resource: INBOX, expirationDateTime: new Date(Date.now() + 3600_000).toISOString(), clientState: 'secret-1', ...body } });
}

async function until<T>(what: string, probe: () => T | undefined, timeoutInMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutInMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function deliverTo(mailbox: string, subject: string): void {
  f.ews.store.deliverMail({ from: { address: 'x@example.net' }, toRecipients: [{ address: mailbox }], subject });
}

test('creation validates the endpoint: a wrong, late, non-text or failing answer fails the POST with 400 ValidationError', async () => {
  for (const mode of ['wrong', 'json', 'slow', 500] as const) {
    receiver.validation = mode;
    receiver.slowInMs = 1_000;
    const response = await subscribe();
    assert.equal(response.status, 400, `${mode}: ${JSON.stringify(response.body)}`);
    assert.equal((response.body as { error: { code: string } }).error.code, 'ValidationError', String(mode));
  }
  receiver.validation = 'echo';
  const unreachable = await subscribe({ notificationUrl: 'http://127.0.0.1:9/notify' });
  assert.equal(unreachable.status, 400);
  const listed = await graphCall<{ value: unknown[] }>(f.graph, f.appToken(), '/subscriptions');
  assert.equal(listed.body.value.length, 0, 'no failed creation left a subscription');
});

test('bad requests name every field at fault; an over-long lifetime is refused; http off loopback is refused', async () => {
  const bad = await graphCall(f.graph, f.appToken(), '/subscriptions', { method: 'POST', body: { changeType: 'moved', notificationUrl: 'http://example.com/x', bogus: 1 } });
  assert.equal(bad.status, 400);
  const message = (bad.body as { error: { message: string } }).error.message;
  for (const part of ['resource is required', 'expirationDateTime is required', "changeType 'moved'", 'notificationUrl must be an https URL', "'bogus'"]) assert.ok(message.includes(part), `${part} in ${message}`);
  const tooLong = await subscribe({ expirationDateTime: new Date(Date.now() + 10_080 * 60_000 + 5 * 60_000).toISOString() });
  assert.equal(tooLong.status, 400);
  const tasksTooLong = await subscribe({ resource: 'users/alice@contoso.com/todo/lists/Tasks/tasks', expirationDateTime: new Date(Date.now() + 5_000 * 60_000).toISOString() });
  assert.equal(tasksTooLong.status, 400, 'To Do tasks allow less than 3 days');
});

test('changes through the control API, EWS-side store changes and Graph writes are notified with the clientState; deletes too', async () => {
  const created = await subscribe();
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = String(created.body.id);
  assert.equal(created.body.clientState, null, 'the clientState is never echoed');
  deliverTo('alice@contoso.com', 'hello');
  deliverTo('bob@contoso.com', 'not alice');
  const first = await until('a created notification', () => receiver.received.find((r) => r.path === '/notify'));
  const n = first.body.value[0]!;
  assert.equal(n.subscriptionId, id);
  assert.equal(n.changeType, 'created');
  assert.equal(n.clientState, 'secret-1');
  assert.match(String(n.resource), /^Users\/.+\/Messages\/.+/);
  const messageId = String((n.resourceData as { id: string }).id);
  // A Graph write (PATCH isRead) is an update; a Graph DELETE moves the message out: deleted.
  assert.equal((await graphCall(f.graph, f.appToken(), `/users/alice@contoso.com/messages/${messageId}`, { method: 'PATCH', body: { isRead: true } })).status, 200);
  await until('an updated notification', () => receiver.received.find((r) => r.body.value[0]?.changeType === 'updated'));
  assert.equal((await graphCall(f.graph, f.appToken(), `/users/alice@contoso.com/messages/${messageId}`, { method: 'DELETE' })).status, 204);
  await until('a deleted notification', () => receiver.received.find((r) => r.body.value[0]?.changeType === 'deleted'));
  assert.ok(receiver.received.every((r) => r.body.value.every((v) => v.subscriptionId === id)), 'nothing for bob');
  await graphCall(f.graph, f.appToken(), `/subscriptions/${id}`, { method: 'DELETE' });
});

test('a failing endpoint is retried with backoff; after the last attempt a missed lifecycle event is sent', async () => {
  const created = await subscribe();
  const id = String(created.body.id);
  receiver.notifications = 503;
  deliverTo('alice@contoso.com', 'retry me');
  await until('missed', () => receiver.received.find((r) => r.path === '/lifecycle' && r.body.value[0]?.lifecycleEvent === 'missed'));
  const attempts = receiver.received.filter((r) => r.path === '/notify');
  assert.equal(attempts.length, 3, 'maxDeliveryAttempts');
  assert.ok(attempts[2]!.at - attempts[1]!.at >= attempts[1]!.at - attempts[0]!.at, 'backoff grows');
  // Recovery: the endpoint answers again and new changes arrive at once.
  receiver.notifications = 202;
  receiver.received.length = 0;
  deliverTo('alice@contoso.com', 'after recovery');
  await until('a notification after recovery', () => receiver.received.find((r) => r.path === '/notify'));
  const log = (await (await fetch(`${f.graph.controlUrl}/notifications?subscriptionId=${id}&kind=change`)).json()) as { status: number }[];
  assert.ok(log.some((e) => e.status === 503) && log.some((e) => e.status === 202));
  await graphCall(f.graph, f.appToken(), `/subscriptions/${id}`, { method: 'DELETE' });
});

test('lifecycle events on demand; reauthorize; subscriptionRemoved deletes it; renewal and expiry', async () => {
  const created = await subscribe();
  const id = String(created.body.id);
  const control = (path: string, body: unknown) => fetch(`${f.graph.controlUrl}/subscriptions/${id}/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal((await control('lifecycle', { event: 'nonsense' })).status, 400);
  assert.equal((await control('lifecycle', { event: 'reauthorizationRequired' })).status, 202);
  const reauth = await until('reauthorizationRequired', () => receiver.received.find((r) => r.body.value[0]?.lifecycleEvent === 'reauthorizationRequired'));
  assert.equal(reauth.body.value[0]!.clientState, 'secret-1');
  assert.equal((await graphCall(f.graph, f.appToken(), `/subscriptions/${id}/reauthorize`, { method: 'POST' })).status, 204);
  const renewedTo = new Date(Date.now() + 2 * 3600_000).toISOString();
  const renewed = await graphCall(f.graph, f.appToken(), `/subscriptions/${id}`, { method: 'PATCH', body: { expirationDateTime: renewedTo } });
  assert.equal(renewed.body.expirationDateTime, renewedTo);
  assert.equal((await graphCall(f.graph, f.appToken(), `/subscriptions/${id}`, { method: 'PATCH', body: { resource: 'x' } })).status, 400);
  // Another app does not see it.
  assert.equal((await graphCall(f.graph, f.appToken(undefined, { appId: 'c0ffee00-0000-4000-8000-0000000000ff' }), `/subscriptions/${id}`)).status, 404);
  await control('expire', { inSeconds: 0.05 });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal((await graphCall(f.graph, f.appToken(), `/subscriptions/${id}`)).status, 404, 'expired');
  receiver.received.length = 0;
  deliverTo('alice@contoso.com', 'after expiry');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(receiver.received.length, 0, 'an expired subscription sends nothing');

  const second = String((await subscribe()).body.id);
  await fetch(`${f.graph.controlUrl}/subscriptions/${second}/lifecycle`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ event: 'subscriptionRemoved' }) });
  await until('subscriptionRemoved', () => receiver.received.find((r) => r.body.value[0]?.lifecycleEvent === 'subscriptionRemoved'));
  assert.equal((await graphCall(f.graph, f.appToken(), `/subscriptions/${second}`)).status, 404);
});

test('as an attacker: a subscription on another tenant\'s mailbox or without the permission is refused', async () => {
  const noMail = await subscribe({}, f.appToken(['Calendars.Read']));
  assert.equal(noMail.status, 403);
  const foreign = await subscribe({ resource: 'users/ceo@fabrikam.test/messages' });
  assert.ok(foreign.status === 404 || foreign.status === 403, String(foreign.status));
});
