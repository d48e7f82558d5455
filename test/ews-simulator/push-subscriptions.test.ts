/**
 * EWS simulator push subscriptions: Subscribe with PushSubscriptionRequest, SendNotification on
 * changes and every StatusFrequency minutes, the subscriber's OK / Unsubscribe answer, Exchange's
 * retry schedule and drop when the callback fails, watermark resume, and the control API. One
 * simulated minute lasts 400 ms here. Every SendNotification sent validates against the schema.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { startEwsSimulator, type EwsSimulator } from '../../dev/ews-simulator/server';
import { eventually } from '../support/eventually';
import { PASSWORDS, seedSmallOrganisation } from './fixture';
import { SchemaBatch, schemaSkipReason } from './schema-validator';
import { basicAuth, extract, soapCall } from './soap-client';

const MINUTE_IN_MS = 400;
const schema = new SchemaBatch();
let sim: EwsSimulator;
let callback: Server;
let callbackUrl: string;

interface Received {
  readonly path: string;
  readonly body: string;
  readonly soapAction: string | undefined;
  readonly at: number;
}
const received: Received[] = [];
/** How the callback answers, per path: 'OK', 'Unsubscribe' or an HTTP status to fail with. */
const answers = new Map<string, 'OK' | 'Unsubscribe' | number>();

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function resultXml(status: 'OK' | 'Unsubscribe'): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>' +
    `<SendNotificationResult xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"><SubscriptionStatus>${status}</SubscriptionStatus></SendNotificationResult>` +
    '</soap:Body></soap:Envelope>'
  );
}

before(async () => {
  sim = await startEwsSimulator({ seed: seedSmallOrganisation, push: { minuteInMs: MINUTE_IN_MS, onSend: (xml) => schema.add('SendNotification', xml) } });
  callback = createServer((req, res) => {
    void readBody(req).then((body) => {
      const path = req.url ?? '/';
      received.push({ path, body, soapAction: req.headers['soapaction'] as string | undefined, at: Date.now() });
      const answer = answers.get(path) ?? 'OK';
      if (typeof answer === 'number') {
        res.writeHead(answer).end('down');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(resultXml(answer));
    });
  });
  await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
  callbackUrl = `http://127.0.0.1:${(callback.address() as AddressInfo).port}`;
});

after(async () => {
  await sim.close();
  await new Promise<void>((resolve) => callback.close(() => resolve()));
});

function pushRequest(path: string, options: { frequency?: number; watermark?: string; folder?: string } = {}): string {
  return (
    '<m:Subscribe><m:PushSubscriptionRequest>' +
    `<t:FolderIds><t:DistinguishedFolderId Id="${options.folder ?? 'inbox'}"/></t:FolderIds>` +
    '<t:EventTypes><t:EventType>NewMailEvent</t:EventType><t:EventType>CreatedEvent</t:EventType><t:EventType>ModifiedEvent</t:EventType><t:EventType>DeletedEvent</t:EventType><t:EventType>MovedEvent</t:EventType></t:EventTypes>' +
    (options.watermark ? `<t:Watermark>${options.watermark}</t:Watermark>` : '') +
    `<t:StatusFrequency>${options.frequency ?? 1}</t:StatusFrequency><t:URL>${callbackUrl}${path}</t:URL>` +
    '</m:PushSubscriptionRequest></m:Subscribe>'
  );
}

async function subscribe(path: string, options: { frequency?: number; watermark?: string } = {}): Promise<{ id: string; watermark: string; body: string }> {
  const request = pushRequest(path, options);
  schema.add('Subscribe request', request.replace('<m:Subscribe>', '<m:Subscribe xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">'));
  const result = await soapCall(sim.url, request, { authorization: basicAuth('alice@contoso.com', PASSWORDS.alice) });
  assert.equal(result.status, 200, result.body);
  schema.add('Subscribe response', result.body);
  return { id: extract(result.body, /<m:SubscriptionId>([^<]+)</) ?? '', watermark: extract(result.body, /<m:Watermark>([^<]+)</) ?? '', body: result.body };
}

function newMail(subject: string): void {
  sim.store.createItem('alice@contoso.com', { distinguished: 'inbox' }, { kind: 'message', subject, from: { address: 'dan@example.net' } });
}

function at(path: string): Received[] {
  return received.filter((r) => r.path === path);
}

test('a change is pushed at once as SendNotification; the SOAP validates against the schema', { skip: schemaSkipReason() }, async () => {
  const sub = await subscribe('/changes');
  assert.ok(sub.id && sub.watermark, sub.body);
  newMail('Pushed order');
  const [first] = await eventually('a notification', () => (at('/changes').length > 0 ? at('/changes') : undefined));
  assert.match(first!.body, /<m:SendNotification /);
  assert.match(first!.body, new RegExp(`<t:SubscriptionId>${sub.id.replace(/[+/=]/g, '\\$&')}</t:SubscriptionId>`));
  assert.match(first!.body, /<t:(NewMailEvent|CreatedEvent)>/);
  assert.match(first!.body, new RegExp(`<t:PreviousWatermark>${sub.watermark.replace(/[+/=]/g, '\\$&')}</t:PreviousWatermark>`));
  assert.equal(first!.soapAction, '"http://schemas.microsoft.com/exchange/services/2006/messages/SendNotification"');
  await schema.assertAllValid();
});

test('with nothing happening, a StatusEvent comes every StatusFrequency minutes', async () => {
  await subscribe('/status');
  const pings = await eventually('two status pings', () => (at('/status').length >= 2 ? at('/status') : undefined), { timeoutInMs: 5 * MINUTE_IN_MS });
  assert.ok(pings.every((p) => p.body.includes('<t:StatusEvent>')));
  const gap = pings[1]!.at - pings[0]!.at;
  assert.ok(gap >= MINUTE_IN_MS * 0.8, `status pings ${gap} ms apart, expected about ${MINUTE_IN_MS}`);
  await schema.assertAllValid();
});

test('answering Unsubscribe ends the subscription: no further notifications', async () => {
  answers.set('/leave', 'Unsubscribe');
  const sub = await subscribe('/leave');
  newMail('Before leaving');
  await eventually('the notification', () => (at('/leave').length === 1 ? true : undefined));
  newMail('After leaving');
  await new Promise((resolve) => setTimeout(resolve, 2 * MINUTE_IN_MS));
  assert.equal(at('/leave').length, 1);
  const view = (await (await fetch(`${sim.controlUrl}/push-subscriptions`)).json()) as { id: string; state: string; endReason?: string }[];
  assert.deepEqual(
    view.filter((v) => v.id === sub.id).map((v) => [v.state, v.endReason]),
    [['dropped', 'unsubscribed']],
  );
});

test('a failing callback is retried at 30 s, 1 min, 2 min ... after the first failure, then the subscription is dropped', async () => {
  answers.set('/down', 503);
  const sub = await subscribe('/down', { frequency: 2 });
  newMail('Nobody listens');
  // StatusFrequency 2: the first send, retries at 0.5, 1 and 2 minutes; the 4-minute one is past 2 minutes.
  const view = await eventually(
    'the subscription dropped',
    async () => {
      const list = (await (await fetch(`${sim.controlUrl}/push-subscriptions`)).json()) as { id: string; state: string; endReason?: string; failedAttempts: number }[];
      const mine = list.find((v) => v.id === sub.id);
      return mine?.state === 'dropped' ? mine : undefined;
    },
    { timeoutInMs: 10 * MINUTE_IN_MS },
  );
  assert.equal(view.endReason, 'callbackFailed');
  const attempts = at('/down');
  assert.equal(attempts.length, 4);
  const offsets = attempts.map((a) => a.at - attempts[0]!.at);
  for (const [index, expected] of [0.5, 1, 2].entries()) {
    // Never early; late by at most half a (scaled) minute on a loaded machine.
    const offset = offsets[index + 1]!;
    assert.ok(offset >= expected * MINUTE_IN_MS * 0.95 && offset <= expected * MINUTE_IN_MS + MINUTE_IN_MS / 2, `retry ${index + 1} at ${offset} ms, expected ${expected * MINUTE_IN_MS}`);
  }
  newMail('Still nobody');
  await new Promise((resolve) => setTimeout(resolve, MINUTE_IN_MS));
  assert.equal(at('/down').length, 4, 'a dropped subscription sends nothing');
});

test('a subscription that recovers within StatusFrequency keeps going and delivers what piled up', async () => {
  answers.set('/flaky', 500);
  await subscribe('/flaky', { frequency: 4 });
  newMail('During outage');
  await eventually('a failed attempt', () => (at('/flaky').length >= 1 ? true : undefined));
  answers.set('/flaky', 'OK');
  const success = await eventually('a retry', () => (at('/flaky').length >= 2 ? at('/flaky')[1] : undefined), { timeoutInMs: 3 * MINUTE_IN_MS });
  assert.match(success!.body, /During outage|<t:(NewMailEvent|CreatedEvent)>/);
});

test('a watermark in Subscribe resumes after a dropped subscription: the missed events come at once', async () => {
  const first = await subscribe('/resume-1');
  newMail('Seen by the first');
  const [seen] = await eventually('first notification', () => (at('/resume-1').length > 0 ? at('/resume-1') : undefined));
  const watermarks = [...seen!.body.matchAll(/<t:Watermark>([^<]+)</g)].map((m) => m[1]!);
  const last = watermarks[watermarks.length - 1]!;
  const dropped = await fetch(`${sim.controlUrl}/push-subscriptions/${encodeURIComponent(first.id)}`, { method: 'DELETE' });
  assert.equal(dropped.status, 204);
  assert.equal((await fetch(`${sim.controlUrl}/push-subscriptions/${encodeURIComponent(first.id)}`, { method: 'DELETE' })).status, 404);
  newMail('Missed while unsubscribed');
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(at('/resume-1').length, 1, 'the dropped subscription sent nothing');
  await subscribe('/resume-2', { watermark: last });
  const [resumed] = await eventually('the missed event', () => (at('/resume-2').length > 0 ? at('/resume-2') : undefined));
  assert.match(resumed!.body, /<t:(NewMailEvent|CreatedEvent)>/);
  assert.match(resumed!.body, new RegExp(`<t:PreviousWatermark>${last.replace(/[+/=]/g, '\\$&')}</t:PreviousWatermark>`));
  await schema.assertAllValid();
});

test('hostile input: a forged or foreign watermark, a bad URL and a bad StatusFrequency are refused', async () => {
  const auth = { authorization: basicAuth('alice@contoso.com', PASSWORDS.alice) };
  const forged = await soapCall(sim.url, pushRequest('/x', { watermark: Buffer.from('PW' + 'A'.repeat(12)).toString('base64') }), auth);
  assert.match(forged.body, /ErrorInvalidWatermark/);
  const bob = await soapCall(sim.url, pushRequest('/x'), { authorization: basicAuth('bob@contoso.com', PASSWORDS.bob) });
  const bobWatermark = extract(bob.body, /<m:Watermark>([^<]+)</)!;
  const foreign = await soapCall(sim.url, pushRequest('/x', { watermark: bobWatermark }), auth);
  assert.match(foreign.body, /ErrorInvalidWatermark/, 'a watermark of another mailbox');
  const badUrl = await soapCall(sim.url, pushRequest('/x').replace(/<t:URL>[^<]+</, '<t:URL>file:///etc/passwd<'), auth);
  assert.match(badUrl.body, /ErrorInvalidPushSubscriptionUrl/);
  const badFrequency = await soapCall(sim.url, pushRequest('/x', { frequency: 0 }), auth);
  assert.equal(badFrequency.status, 500);
  assert.match(badFrequency.body, /ErrorSchemaValidation/);
  schema.add('forged watermark answer', forged.body);
  await schema.assertAllValid();
});

test('control API: push settings are validated', async () => {
  const bad = await fetch(`${sim.controlUrl}/push-settings`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ minuteInMs: 'fast', extra: 1 }) });
  assert.equal(bad.status, 400);
  const problem = (await bad.json()) as { errors: { pointer: string }[] };
  assert.deepEqual(problem.errors.map((e) => e.pointer).sort(), ['/extra', '/minuteInMs'], 'every field at fault');
  const good = await fetch(`${sim.controlUrl}/push-settings`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ minuteInMs: MINUTE_IN_MS }) });
  assert.deepEqual(await good.json(), { minuteInMs: MINUTE_IN_MS, callbacksUnreachable: false });
});
