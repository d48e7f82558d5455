/**
 * The connector's EWS push operation against the EWS simulator: Subscribe with
 * PushSubscriptionRequest (service account, impersonation), reading SendNotification with the
 * hardened reader, answering SendNotificationResult, resuming from a watermark, typed errors.
 * The Subscribe request and the answer validate against the EWS schema.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { startEwsSimulator, type EwsSimulator } from '../../dev/ews-simulator/server';
import { createMailboxClient, EwsResponseError, type MailboxClient } from '../../shared/ews';
import { subscribePush } from '../../shared/ews/operations/subscribe-push';
import { PushNotificationFormatError, readSendNotification, sendNotificationResult, type PushNotification } from '../../shared/ews/soap/push-notification';
import { subscribePushRequest } from '../../shared/ews/soap/request-builder';
import { SecretString } from '../../shared/logging';
import { eventually } from '../support/eventually';
import { SchemaBatch, schemaSkipReason } from '../ews-simulator/schema-validator';

const SERVICE_ACCOUNT = 'svc@contoso.com';
const schema = new SchemaBatch();
let sim: EwsSimulator;
let callback: Server;
let callbackUrl: string;
const notifications: PushNotification[] = [];
const rawBodies: string[] = [];

before(async () => {
  sim = await startEwsSimulator({
    push: { minuteInMs: 300, onSend: (xml) => schema.add('SendNotification', xml) },
    seed: (store) => {
      store.addOrganisation({ id: 'contoso', name: 'Contoso', domains: ['contoso.com'], entraTenantId: '00000000-0000-4000-8000-0000000000d1' });
      store.addMailbox({ smtpAddress: 'alice@contoso.com', displayName: 'Alice', password: 'Alice-Pass1' });
      store.addServiceAccount({ userPrincipalName: SERVICE_ACCOUNT, password: 'Svc-Pass1' });
      store.grantImpersonation({ principal: SERVICE_ACCOUNT, scope: { kind: 'list', mailboxes: ['alice@contoso.com'] } });
      store.addMailbox({ smtpAddress: 'bob@contoso.com', displayName: 'Bob', password: 'Bob-Pass1' });
    },
  });
  callback = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      rawBodies.push(body);
      notifications.push(readSendNotification(body));
      res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(sendNotificationResult('OK'));
    });
  });
  await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
  callbackUrl = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/api/notifications/ews/`;
});

after(async () => {
  await sim.close();
  await new Promise<void>((resolve) => callback.close(() => resolve()));
});

function client(mailbox: string): MailboxClient {
  return createMailboxClient(sim.url, { kind: 'basic', username: SERVICE_ACCOUNT, password: new SecretString('Svc-Pass1') }, { mailbox, allowInsecureHttp: true, timeoutInMs: 10_000 });
}

test('subscribePush: the simulator pushes changes of the folder; the connector reads them and resumes from a watermark', { skip: schemaSkipReason() }, async () => {
  const sub = await subscribePush(client('alice@contoso.com'), { folders: [{ distinguished: 'inbox' }], statusFrequencyInMinutes: 1, callbackUrl: new SecretString(`${callbackUrl}token-1`) });
  assert.ok(sub.subscriptionId.length > 10 && sub.watermark.length > 4);
  sim.store.createItem('alice@contoso.com', { distinguished: 'inbox' }, { kind: 'message', subject: 'Hello' });
  const first = await eventually('a notification', () => notifications.find((n) => n.subscriptionId === sub.subscriptionId && !n.statusOnly));
  assert.ok(first.events.some((e) => e === 'NewMailEvent' || e === 'CreatedEvent'), first.events.join());
  assert.ok(first.lastWatermark);
  const status = await eventually('a keep-alive', () => notifications.find((n) => n.subscriptionId === sub.subscriptionId && n.statusOnly), { timeoutInMs: 3000 });
  assert.deepEqual(status.events, ['StatusEvent']);

  // A new subscription given the last watermark gets what happened in between at once.
  const drop = await fetch(`${sim.controlUrl}/push-subscriptions/${encodeURIComponent(sub.subscriptionId)}`, { method: 'DELETE' });
  assert.equal(drop.status, 204);
  sim.store.createItem('alice@contoso.com', { distinguished: 'inbox' }, { kind: 'message', subject: 'While away' });
  const resumed = await subscribePush(client('alice@contoso.com'), { folders: [{ distinguished: 'inbox' }], statusFrequencyInMinutes: 1, callbackUrl: new SecretString(`${callbackUrl}token-2`), watermark: status.lastWatermark! });
  const caughtUp = await eventually('the missed event', () => notifications.find((n) => n.subscriptionId === resumed.subscriptionId && !n.statusOnly));
  assert.equal(caughtUp.previousWatermark, status.lastWatermark);

  const request = subscribePushRequest({ serverVersion: 'Exchange2013_SP1', mailbox: 'alice@contoso.com', impersonate: true }, { folders: [{ distinguished: 'inbox' }, { id: 'AAMkAD' }], eventTypes: ['NewMailEvent', 'CreatedEvent'], watermark: 'AQAAAA==', statusFrequencyInMinutes: 30, url: 'https://connector.example/api/notifications/ews/x' });
  schema.add('Subscribe request', request);
  schema.add('SendNotificationResult OK', sendNotificationResult('OK'));
  schema.add('SendNotificationResult Unsubscribe', sendNotificationResult('Unsubscribe'));
  await schema.assertAllValid();
});

test('subscribePush: a watermark Exchange does not know and a mailbox outside the impersonation scope are typed errors', async () => {
  await assert.rejects(
    subscribePush(client('alice@contoso.com'), { folders: [{ distinguished: 'inbox' }], statusFrequencyInMinutes: 1, callbackUrl: new SecretString(`${callbackUrl}t`), watermark: 'bm90LWEtd2F0ZXJtYXJr' }),
    (error: unknown) => error instanceof EwsResponseError && error.code === 'ErrorInvalidWatermark',
  );
  await assert.rejects(subscribePush(client('bob@contoso.com'), { folders: [{ distinguished: 'inbox' }], statusFrequencyInMinutes: 1, callbackUrl: new SecretString(`${callbackUrl}t`) }), (error: unknown) => (error as { code?: string }).code === 'ErrorImpersonateUserDenied');
  await assert.rejects(subscribePush(client('alice@contoso.com'), { folders: [{ distinguished: 'inbox' }], statusFrequencyInMinutes: 0, callbackUrl: new SecretString(`${callbackUrl}t`) }), /1 to 1440/);
});

test('readSendNotification refuses hostile or foreign bodies', () => {
  const hostile = [
    '',
    'not xml',
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>&a;</soap:Body></soap:Envelope>',
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><m:GetEvents xmlns:m="x"/></soap:Body></soap:Envelope>',
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><SendNotification><ResponseMessages><SendNotificationResponseMessage><Notification><StatusEvent/></Notification></SendNotificationResponseMessage></ResponseMessages></SendNotification></soap:Body></soap:Envelope>',
    `<a>${'<b>'.repeat(100)}${'</b>'.repeat(100)}</a>`,
    `<a>${'x'.repeat(2 * 1024 * 1024)}</a>`,
  ];
  for (const body of hostile) assert.throws(() => readSendNotification(body), PushNotificationFormatError, body.slice(0, 80));
  assert.equal(rawBodies.length > 0, true);
});
