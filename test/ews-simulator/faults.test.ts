/**
 * Injected faults as a client sees them, the EWSMaxConcurrency budget, and the control API.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as ews from 'ews-javascript-api';
import { FaultInjector } from '../../dev/ews-simulator/faults';
import { startEwsSimulator, type EwsSimulator } from '../../dev/ews-simulator/server';
import { PASSWORDS, seedSmallOrganisation } from './fixture';
import { basicAuth, soapCall } from './soap-client';

let sim: EwsSimulator;
const alice = basicAuth('alice@contoso.com', PASSWORDS.alice);
const GET_INBOX = '<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>';

before(async () => {
  sim = await startEwsSimulator({ seed: seedSmallOrganisation });
});
after(async () => {
  await sim.close();
});

function aliceService(): ews.ExchangeService {
  const svc = new ews.ExchangeService(ews.ExchangeVersion.Exchange2013_SP1);
  svc.Credentials = new ews.WebCredentials('alice@contoso.com', PASSWORDS.alice);
  svc.Url = new ews.Uri(sim.url);
  return svc;
}

interface ClientFailure {
  ResponseCode?: ews.ServiceError;
  ErrorCode?: ews.ServiceError;
  HttpStatusCode?: number;
  ErrorDetails?: { tryGetValue(key: string, out: { outValue: unknown }): boolean };
}

async function failureOf(promise: Promise<unknown>): Promise<ClientFailure> {
  try {
    await promise;
  } catch (error) {
    return error as ClientFailure;
  }
  assert.fail('expected the call to fail');
}

test('ErrorServerBusy: a SOAP fault with BackOffMilliseconds the client can read', async () => {
  sim.faults.add({ kind: 'serverBusy', operation: 'GetFolder', backOffInMs: 12_345, count: 1 });
  const failure = await failureOf(ews.Folder.Bind(aliceService(), ews.WellKnownFolderName.Inbox));
  assert.equal(failure.ResponseCode, ews.ServiceError.ErrorServerBusy);
  assert.equal(failure.HttpStatusCode, 500);
  const out = { outValue: undefined as unknown };
  assert.ok(failure.ErrorDetails?.tryGetValue('BackOffMilliseconds', out));
  assert.equal(String(out.outValue), '12345');
  // count 1: the next call goes through.
  assert.equal((await ews.Folder.Bind(aliceService(), ews.WellKnownFolderName.Inbox)).DisplayName, 'Inbox');
});

test('HTTP 503 and 429 carry Retry-After; HTTP 500 is an HTML page, not a SOAP fault', async () => {
  sim.faults.add({ kind: 'http503', retryAfterInSeconds: 7, count: 1 });
  const unavailable = await soapCall(sim.url, GET_INBOX, { authorization: alice });
  assert.equal(unavailable.status, 503);
  assert.equal(unavailable.headers.get('retry-after'), '7');
  sim.faults.add({ kind: 'http429', retryAfterInSeconds: 3, count: 1 });
  const tooMany = await soapCall(sim.url, GET_INBOX, { authorization: alice });
  assert.equal(tooMany.status, 429);
  assert.equal(tooMany.headers.get('retry-after'), '3');
  sim.faults.add({ kind: 'http500', count: 1 });
  const broken = await soapCall(sim.url, GET_INBOX, { authorization: alice });
  assert.equal(broken.status, 500);
  assert.match(broken.headers.get('content-type') ?? '', /text\/html/);
  sim.faults.add({ kind: 'http503', count: 1 });
  await assert.rejects(ews.Folder.Bind(aliceService(), ews.WellKnownFolderName.Inbox));
});

test('connection reset: the client sees a network error; latency: the call still succeeds', async () => {
  sim.faults.add({ kind: 'connectionReset', count: 1 });
  await assert.rejects(soapCall(sim.url, GET_INBOX, { authorization: alice }), /fetch failed|socket|ECONNRESET/i);
  sim.faults.add({ kind: 'latency', latencyInMs: 50, count: 1 });
  const slow = await soapCall(sim.url, GET_INBOX, { authorization: alice });
  assert.equal(slow.status, 200);
  assert.match(sim.state.requestLog.at(-1)!.fault ?? '', /latency/);
});

test('invalid sync state: SyncFolderItems answers ErrorInvalidSyncStateData', async () => {
  sim.faults.add({ kind: 'invalidSyncState', operation: 'SyncFolderItems', count: 1 });
  const failure = await failureOf(aliceService().SyncFolderItems(new ews.FolderId(ews.WellKnownFolderName.Inbox), ews.PropertySet.IdOnly, null as unknown as ews.ItemId[], 10, ews.SyncFolderItemsScope.NormalItems, null as unknown as string));
  assert.equal(failure.ErrorCode, ews.ServiceError.ErrorInvalidSyncStateData);
});

test('faults target a principal and fire a set number of times', async () => {
  sim.faults.add({ kind: 'serverBusy', principal: 'bob@contoso.com', count: 2 });
  assert.equal((await soapCall(sim.url, GET_INBOX, { authorization: alice })).status, 200);
  const bob = basicAuth('bob@contoso.com', PASSWORDS.bob);
  assert.equal((await soapCall(sim.url, GET_INBOX, { authorization: bob })).status, 500);
  assert.equal((await soapCall(sim.url, GET_INBOX, { authorization: bob })).status, 500);
  assert.equal((await soapCall(sim.url, GET_INBOX, { authorization: bob })).status, 200);
  // Impersonation: the rule matches the acting mailbox too.
  sim.faults.add({ kind: 'serverBusy', principal: 'carol@contoso.com', count: 1 });
  const viaService = await soapCall(sim.url, GET_INBOX, { authorization: basicAuth('svc@contoso.com', PASSWORDS.svc), impersonate: 'carol@contoso.com' });
  assert.match(viaService.body, /ErrorServerBusy/);
});

test('probabilistic faults are deterministic for a seed', () => {
  const outcomes = (seed: number): boolean[] => {
    const injector = new FaultInjector(seed);
    injector.add({ kind: 'serverBusy', probability: 0.3 });
    return Array.from({ length: 40 }, () => injector.pick({ operation: 'GetItem', principals: ['a'] }).length > 0);
  };
  assert.deepEqual(outcomes(42), outcomes(42));
  assert.notDeepEqual(outcomes(42), outcomes(43));
  const fired = outcomes(42).filter(Boolean).length;
  assert.ok(fired > 2 && fired < 25, `fired ${fired} of 40`);
});

test('EWSMaxConcurrency: a request over the per-principal budget gets ErrorExceededConnectionCount', async () => {
  sim.store.updateOrganisation('contoso', { maxConcurrency: 1 });
  sim.faults.add({ kind: 'latency', latencyInMs: 500, count: 1 });
  try {
    const firstCall = soapCall(sim.url, GET_INBOX, { authorization: alice });
    // The rule is consumed once the first request holds its budget slot (it is then sleeping).
    while (sim.faults.list().length > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const second = await soapCall(sim.url, GET_INBOX, { authorization: alice });
    const first = await firstCall;
    assert.equal(first.status, 200);
    assert.equal(second.status, 500);
    assert.match(second.body, /a:ErrorExceededConnectionCount/);
    assert.match(second.body, /<t:Value Name="MaxConcurrencyLimit">1<\/t:Value>/);
    // Another principal has its own budget... and after the first finished, alice may call again.
    assert.equal((await soapCall(sim.url, GET_INBOX, { authorization: alice })).status, 200);
  } finally {
    sim.store.updateOrganisation('contoso', { maxConcurrency: 27 });
  }
});

test('control API: faults, delivery, request log and counters over HTTP; never through the EWS path', async () => {
  const post = (path: string, body: unknown): Promise<Response> =>
    fetch(`${sim.controlUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const created = await post('/faults', { kind: 'serverBusy', operation: 'FindItem', count: 1 });
  assert.equal(created.status, 201);
  const rule = (await created.json()) as { id: string };
  assert.equal(((await (await fetch(`${sim.controlUrl}/faults`)).json()) as unknown[]).length, 1);
  assert.equal((await fetch(`${sim.controlUrl}/faults/${rule.id}`, { method: 'DELETE' })).status, 204);

  const delivered = await post('/deliver', { from: { address: 'dan@example.net' }, toRecipients: [{ address: 'bob@contoso.com' }, { address: 'x@elsewhere.example' }], subject: 'Via control', receivedAt: '2025-03-02T12:00:00Z' });
  assert.equal(delivered.status, 201);
  const copies = (await delivered.json()) as { mailbox: string; subject: string; dateTimeReceived: string }[];
  assert.deepEqual(copies.map((c) => [c.mailbox, c.subject, c.dateTimeReceived]), [['bob@contoso.com', 'Via control', '2025-03-02T12:00:00.000Z']]);

  const item = await post('/mailboxes/carol@contoso.com/items', { folder: 'inbox', item: { kind: 'message', subject: 'Seeded', attachments: [{ name: 'a.txt', contentType: 'text/plain', content: Buffer.from('hi').toString('base64') }] } });
  assert.equal(item.status, 201);
  assert.equal(((await item.json()) as { attachments: { size: number }[] }).attachments[0]!.size, 2);

  await soapCall(sim.url, GET_INBOX, { authorization: alice });
  const log = (await (await fetch(`${sim.controlUrl}/requests?operation=GetFolder&limit=1`)).json()) as { operation: string; principal: string; status: number }[];
  assert.deepEqual(log.map((e) => [e.operation, e.principal, e.status]), [['GetFolder', 'alice@contoso.com', 200]]);
  const counters = (await (await fetch(`${sim.controlUrl}/counters`)).json()) as Record<string, { requests: number }>;
  assert.ok(counters.GetFolder!.requests > 5);
  // The control API lives only under /_simulator: nothing like it answers on the EWS path.
  const viaEws = await fetch(`${sim.url}/_simulator/faults`);
  assert.equal(viaEws.status, 404);
  const unknown = await fetch(`${sim.controlUrl}/nope`);
  assert.equal(unknown.status, 404);
});
