/**
 * Auth, scoping, throttling and faults as Exchange Online enforces them through Graph, including
 * attacker cases (forged tokens, another tenant's mailbox, another mailbox's ids and delta tokens),
 * and one mailbox seen through both protocols.
 */
import assert from 'node:assert/strict';
import { generateKeyPair, SignJWT } from 'jose';
import { after, before, beforeEach, describe, test } from 'node:test';
import { basicAuth, soapCall } from '../ews-simulator/soap-client';
import { PASSWORDS } from '../ews-simulator/fixture';
import { APP_ID, deltaRound, GRAPH, graphCall, startGraphFixture, TENANT_ID, type GraphFixture } from './fixture';

let f: GraphFixture;
before(async () => {
  f = await startGraphFixture();
});
after(async () => {
  await f.close();
});
beforeEach(() => f.graph.faults.clear());

const A = '/users/alice@contoso.com';
type ErrorBody = { error: { code: string; message: string; innerError: Record<string, string> } };

describe('tokens', () => {
  test('no token, a token for EWS, a forged signature and an expired token: 401 InvalidAuthenticationToken with request ids', async () => {
    const none = await graphCall<ErrorBody>(f.graph, undefined, `${A}/mailFolders`, { headers: { 'client-request-id': 'c-1' } });
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, 'InvalidAuthenticationToken');
    assert.equal(none.headers.get('client-request-id'), 'c-1');
    assert.equal(none.body.error.innerError['client-request-id'], 'c-1');
    assert.equal(none.body.error.innerError['request-id'], none.headers.get('request-id'));
    const ews = f.appToken(['Mail.ReadWrite'], { audience: 'https://outlook.office365.com' });
    assert.equal((await graphCall<ErrorBody>(f.graph, ews, `${A}/mailFolders`)).body.error.code, 'InvalidAuthenticationToken');
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ tid: TENANT_ID, roles: ['Mail.ReadWrite'], appid: APP_ID }).setProtectedHeader({ alg: 'RS256', kid: 'x' }).setAudience(GRAPH).setIssuedAt().setExpirationTime('1h').sign(privateKey);
    const forgedResponse = await graphCall<ErrorBody>(f.graph, forged, `${A}/mailFolders`);
    assert.equal(forgedResponse.status, 401);
    const expired = await graphCall<ErrorBody>(f.graph, f.appToken(undefined, { expiresInSeconds: -600 }), `${A}/mailFolders`);
    assert.equal(expired.status, 401);
    assert.match(expired.body.error.message, /expired/);
  });

  test('app roles are checked per call: read, write and send are separate permissions', async () => {
    assert.equal((await graphCall(f.graph, f.appToken(['Calendars.ReadWrite']), `${A}/mailFolders`)).status, 403);
    const reader = f.appToken(['Mail.Read']);
    const delta = await deltaRound(f.graph, reader, `${A}/mailFolders/inbox/messages/delta`, { prefer: 'odata.maxpagesize=100' });
    const id = String(delta.entries[0]!.id);
    const patch = await graphCall<ErrorBody>(f.graph, reader, `${A}/messages/${id}`, { method: 'PATCH', body: { isRead: true } });
    assert.equal(patch.status, 403);
    assert.equal(patch.body.error.code, 'ErrorAccessDenied');
    const send = await graphCall(f.graph, f.appToken(['Mail.ReadWrite']), `${A}/sendMail`, { method: 'POST', body: { message: { toRecipients: [{ emailAddress: { address: 'bob@contoso.com' } }] } } });
    assert.equal(send.status, 403);
    assert.equal((await graphCall(f.graph, f.appToken(['Contacts.Read']), `${A}/todo/lists`)).status, 403);
    assert.equal((await graphCall(f.graph, f.appToken(['Tasks.ReadWrite.All']), `${A}/todo/lists`)).status, 200);
  });

  test('delegated: own mailbox, a shared mailbox only with .Shared scope and FullAccess, never a colleague', async () => {
    const read = f.userToken('alice@contoso.com', 'Mail.Read');
    assert.equal((await graphCall(f.graph, read, '/me/mailFolders/inbox')).status, 200);
    assert.equal((await graphCall(f.graph, read, `${A}/mailFolders/inbox`)).status, 200);
    assert.equal((await graphCall(f.graph, read, '/users/dispatch@contoso.com/mailFolders/inbox')).status, 403);
    const shared = f.userToken('alice@contoso.com', 'Mail.Read Mail.Read.Shared');
    assert.equal((await graphCall(f.graph, shared, '/users/dispatch@contoso.com/mailFolders/inbox')).status, 200);
    assert.equal((await graphCall(f.graph, shared, '/users/bob@contoso.com/mailFolders/inbox')).status, 403);
    assert.equal((await graphCall(f.graph, f.appToken(), '/me/mailFolders')).status, 400);
    const translate = { method: 'POST', body: { inputIds: ['x'], sourceIdType: 'ewsId', targetIdType: 'restId' } };
    const lookup = f.userToken('alice@contoso.com', 'User.ReadBasic.All');
    assert.equal((await graphCall(f.graph, lookup, '/users/dispatch@contoso.com/translateExchangeIds', translate)).status, 200);
    assert.equal((await graphCall(f.graph, lookup, '/users/bob@contoso.com/translateExchangeIds', translate)).status, 403);
  });

  test('delegated: a colleague\'s calendar or mail folder with a folder permission or delegate access, 403 ErrorAccessDenied without', async () => {
    const token = f.userToken('alice@contoso.com', 'Calendars.Read Calendars.Read.Shared Mail.Read Mail.Read.Shared');
    const B = '/users/bob@contoso.com';
    const denied = await graphCall<{ error: { code: string } }>(f.graph, token, `${B}/calendar`);
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error.code, 'ErrorAccessDenied');
    const calendar = f.ews.store.getFolder('bob@contoso.com', { distinguished: 'calendar' });
    calendar.permissions = [{ user: 'alice@contoso.com', level: 'Reviewer' }];
    const granted = await graphCall<{ canEdit: boolean; isDefaultCalendar: boolean; owner: { address: string } }>(f.graph, token, `${B}/calendar`);
    assert.equal(granted.status, 200);
    assert.equal(granted.body.canEdit, false, 'Reviewer reads but does not edit');
    assert.equal(granted.body.owner.address, 'bob@contoso.com');
    const start = new Date(Date.now() - 86_400_000).toISOString();
    const end = new Date(Date.now() + 86_400_000).toISOString();
    assert.equal((await graphCall(f.graph, token, `${B}/calendarView/delta?startDateTime=${start}&endDateTime=${end}`)).status, 200);
    // The folder right covers that folder only: Bob's Inbox and his calendar list stay closed.
    assert.equal((await graphCall(f.graph, token, `${B}/mailFolders/inbox/messages/delta`)).status, 403);
    assert.equal((await graphCall(f.graph, token, `${B}/calendars`)).status, 403);
    // Without the .Shared scope the right does not help (Graph checks the permission first).
    assert.equal((await graphCall(f.graph, f.userToken('alice@contoso.com', 'Calendars.Read'), `${B}/calendar`)).status, 403);
    calendar.permissions = [];
    f.ews.store.getMailbox('bob@contoso.com')!.delegates = [{ user: 'alice@contoso.com', inbox: 'Editor' }];
    assert.equal((await graphCall(f.graph, token, `${B}/mailFolders/inbox/messages/delta`)).status, 200, 'a delegate reads the delegated Inbox');
    assert.equal((await graphCall(f.graph, token, `${B}/calendar`)).status, 403);
    f.ews.store.getMailbox('bob@contoso.com')!.delegates = [];
  });

  test('application RBAC scope: mailboxes outside it get 403 ErrorAccessDenied; other apps are not affected', async () => {
    const scopedApp = 'c0ffee00-0000-4000-8000-0000000005c0';
    f.graph.store.addApplicationAccessPolicy({ organisationId: 'contoso', appId: scopedApp, scope: { kind: 'list', mailboxes: ['alice@contoso.com'] } });
    const token = f.appToken(['Mail.ReadWrite'], { appId: scopedApp });
    assert.equal((await graphCall(f.graph, token, `${A}/mailFolders/inbox`)).status, 200);
    const outside = await graphCall<ErrorBody>(f.graph, token, '/users/bob@contoso.com/mailFolders/inbox');
    assert.equal(outside.status, 403);
    assert.equal(outside.body.error.code, 'ErrorAccessDenied');
    assert.equal((await graphCall(f.graph, f.appToken(['Mail.ReadWrite']), '/users/bob@contoso.com/mailFolders/inbox')).status, 200);
  });
});

describe('attacker', () => {
  test("another tenant's mailbox does not exist for this tenant's app (404 ErrorInvalidUser)", async () => {
    const response = await graphCall<ErrorBody>(f.graph, f.appToken(), '/users/frank@fabrikam.com/mailFolders');
    assert.equal(response.status, 404);
    assert.equal(response.body.error.code, 'ErrorInvalidUser');
  });

  test("bob's message id through alice's URL is not found, and a hostile id is rejected without a 500", async () => {
    const bobItem = f.graph.store.folderItems(f.graph.store.getFolder('bob@contoso.com', { distinguished: 'inbox' }))[0]!;
    const restId = bobItem.id.replace(/\//g, '-').replace(/\+/g, '_');
    const response = await graphCall<ErrorBody>(f.graph, f.appToken(), `${A}/messages/${restId}`);
    assert.equal(response.status, 404);
    assert.equal(response.body.error.code, 'ErrorItemNotFound');
    const hostile = await graphCall<ErrorBody>(f.graph, f.appToken(), `${A}/messages/${encodeURIComponent("<script>'\u0000../../")}`);
    assert.equal(hostile.status, 400);
    assert.equal(hostile.body.error.code, 'ErrorInvalidIdMalformed');
    const badEncoding = await graphCall<ErrorBody>(f.graph, f.appToken(), '/users/%E0%A4%A/mailFolders');
    assert.equal(badEncoding.status, 400);
    const batch = await graphCall<{ responses: { status: number }[] }>(f.graph, f.appToken(), '/$batch', { method: 'POST', body: { requests: [{ id: '1', method: 'GET', url: '/users/%E0%A4%A/mailFolders' }, { id: '2', method: 'GET', url: 'https://evil.example/v1.0/users/alice@contoso.com' }] } });
    assert.equal(batch.status, 400, 'absolute URLs in a batch are refused');
    const relativeHost = await graphCall(f.graph, f.appToken(), '/$batch', { method: 'POST', body: { requests: [{ id: '1', method: 'GET', url: '//evil.example/v1.0/users/alice@contoso.com' }] } });
    assert.equal(relativeHost.status, 400, 'protocol-relative URLs too');
  });

  test("a delta token of alice's inbox does not open bob's; a tampered token gets 410", async () => {
    const round = await deltaRound(f.graph, f.appToken(), `${A}/mailFolders/inbox/messages/delta`, { prefer: 'odata.maxpagesize=100' });
    const token = new URL(round.deltaLink).searchParams.get('$deltatoken')!;
    const bob = await graphCall<ErrorBody>(f.graph, f.appToken(), `/users/bob@contoso.com/mailFolders/inbox/messages/delta?$deltatoken=${token}`);
    assert.equal(bob.status, 410);
    assert.equal(bob.body.error.code, 'SyncStateNotFound');
    const tampered = token.slice(0, -2) + (token.endsWith('A') ? 'B' : 'A') + token.slice(-1);
    assert.equal((await graphCall(f.graph, f.appToken(), `${A}/mailFolders/inbox/messages/delta?$deltatoken=${tampered}`)).status, 410);
  });
});

describe('delta tokens expire', () => {
  test('expired through the control API: 410, then a new round works; other mailboxes keep theirs', async () => {
    const t = f.appToken();
    const alice = await deltaRound(f.graph, t, `${A}/mailFolders/inbox/messages/delta`, { prefer: 'odata.maxpagesize=100' });
    const carol = await deltaRound(f.graph, t, '/users/carol@contoso.com/mailFolders/inbox/messages/delta');
    const expire = await fetch(`${f.graph.controlUrl}/delta-tokens/expire`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mailbox: 'alice@contoso.com' }) });
    assert.equal(expire.status, 200);
    assert.equal((await graphCall(f.graph, t, alice.deltaLink)).status, 410);
    assert.equal((await graphCall(f.graph, t, carol.deltaLink)).status, 200);
    const again = await deltaRound(f.graph, t, `${A}/mailFolders/inbox/messages/delta`, { prefer: 'odata.maxpagesize=100' });
    assert.equal(again.entries.length, alice.entries.length);
  });

  test('a deltaDuplicates fault repeats the items of a delta page; other calls are not touched', async () => {
    f.graph.faults.add({ kind: 'deltaDuplicates', count: 1 });
    assert.equal((await graphCall(f.graph, f.appToken(), `${A}/contactFolders`)).status, 200);
    const page = await graphCall<{ value: { id: string }[] }>(f.graph, f.appToken(), `${A}/contacts/delta`);
    const ids = page.body.value.map((e) => e.id);
    assert.ok(ids.length >= 2);
    assert.equal(new Set(ids).size, ids.length / 2);
    const again = await graphCall<{ value: { id: string }[] }>(f.graph, f.appToken(), `${A}/contacts/delta`);
    assert.equal(new Set(again.body.value.map((e) => e.id)).size, again.body.value.length);
  });

  test('a syncStateNotFound fault answers delta calls only', async () => {
    f.graph.faults.add({ kind: 'syncStateNotFound', count: 1 });
    assert.equal((await graphCall(f.graph, f.appToken(), `${A}/mailFolders`)).status, 200);
    assert.equal((await graphCall(f.graph, f.appToken(), `${A}/contacts/delta`)).status, 410);
    assert.equal((await graphCall(f.graph, f.appToken(), `${A}/contacts/delta`)).status, 200);
  });
});

describe('throttling', () => {
  test('a fifth concurrent request on one mailbox for one app gets 429 MailboxConcurrency with Retry-After; another app is not throttled', async () => {
    f.graph.faults.add({ kind: 'latency', latencyInMs: 400, principal: 'alice@contoso.com' });
    const t = f.appToken();
    const calls = await Promise.all(Array.from({ length: 5 }, () => graphCall<ErrorBody>(f.graph, t, `${A}/mailFolders/inbox`)));
    const statuses = calls.map((c) => c.status).sort();
    assert.deepEqual(statuses, [200, 200, 200, 200, 429]);
    const throttled = calls.find((c) => c.status === 429)!;
    assert.equal(throttled.body.error.code, 'ApplicationThrottled');
    assert.ok(Number(throttled.headers.get('retry-after')) >= 1);
    f.graph.faults.clear();
    f.graph.faults.add({ kind: 'latency', latencyInMs: 300, principal: 'alice@contoso.com' });
    const other = f.appToken(undefined, { appId: 'c0ffee00-0000-4000-8000-0000000000f0' });
    const mixed = await Promise.all([...Array.from({ length: 4 }, () => graphCall(f.graph, t, `${A}/mailFolders/inbox`)), graphCall(f.graph, other, `${A}/mailFolders/inbox`)]);
    assert.deepEqual(mixed.map((c) => c.status), [200, 200, 200, 200, 200]);
  });

  test('$batch: 20 parallel requests on one mailbox give 4 answers and 16 per-request 429s; dependsOn chains run one by one', async () => {
    const t = f.appToken();
    const requests = Array.from({ length: 20 }, (_, i) => ({ id: String(i + 1), method: 'GET', url: `${A}/mailFolders/inbox` }));
    const batch = await graphCall<{ responses: { id: string; status: number; headers: Record<string, string>; body: ErrorBody }[] }>(f.graph, t, '/$batch', { method: 'POST', body: { requests } });
    assert.equal(batch.status, 200);
    const statuses = batch.body.responses.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 200).length, 4);
    assert.equal(statuses.filter((s) => s === 429).length, 16);
    const throttled = batch.body.responses.find((r) => r.status === 429)!;
    assert.ok(Number(throttled.headers['Retry-After']) >= 1);
    assert.equal(throttled.body.error.code, 'ApplicationThrottled');
    const chained = requests.map((r, i) => (i === 0 ? r : { ...r, dependsOn: [String(i)] }));
    const sequential = await graphCall<{ responses: { status: number }[] }>(f.graph, t, '/$batch', { method: 'POST', body: { requests: chained } });
    assert.deepEqual([...new Set(sequential.body.responses.map((r) => r.status))], [200]);
    const tooMany = await graphCall<ErrorBody>(f.graph, t, '/$batch', { method: 'POST', body: { requests: [...requests, { id: '21', method: 'GET', url: A }] } });
    assert.equal(tooMany.status, 400);
    const cyclic = await graphCall<ErrorBody>(f.graph, t, '/$batch', { method: 'POST', body: { requests: [{ id: 'a', method: 'GET', url: A, dependsOn: ['b'] }, { id: 'b', method: 'GET', url: A, dependsOn: ['a'] }] } });
    assert.equal(cyclic.status, 400);
    assert.match(cyclic.body.error.message, /cycle/);
  });

  test('faults: 429 with Retry-After, 503, 504 and a reset connection; the request log names them', async () => {
    const t = f.appToken();
    f.graph.faults.add({ kind: 'http429', operation: 'messagesDelta', count: 1, retryAfterInSeconds: 7 });
    const throttled = await graphCall(f.graph, t, `${A}/mailFolders/inbox/messages/delta`);
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers.get('retry-after'), '7');
    f.graph.faults.add({ kind: 'http503', count: 1 });
    assert.equal((await graphCall(f.graph, t, `${A}/mailFolders`)).status, 503);
    f.graph.faults.add({ kind: 'http504', count: 1 });
    assert.equal((await graphCall(f.graph, t, `${A}/mailFolders`)).status, 504);
    f.graph.faults.add({ kind: 'connectionReset', count: 1 });
    await assert.rejects(graphCall(f.graph, t, `${A}/mailFolders`));
    assert.equal((await graphCall(f.graph, t, `${A}/mailFolders`)).status, 200);
    const log = (await (await fetch(`${f.graph.controlUrl}/requests?limit=10`)).json()) as { fault?: string; status: number; operation: string }[];
    assert.ok(log.some((e) => e.status === 429 && e.operation === 'messagesDelta' && e.fault?.startsWith('http429')));
  });

  test('the 10-minute request budget per app and mailbox: then 429 ApplicationThrottled with Retry-After until the window ends', async () => {
    const limited = await startGraphFixture({ maxRequestsPerMailboxPerTenMinutes: 3 });
    try {
      const t = limited.appToken();
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await graphCall(limited.graph, t, `${A}/mailFolders/inbox`)).status);
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      const over = await graphCall<ErrorBody>(limited.graph, t, `${A}/mailFolders/inbox`);
      assert.equal(over.body.error.code, 'ApplicationThrottled');
      assert.ok(Number(over.headers.get('retry-after')) > 500);
      assert.equal((await graphCall(limited.graph, t, '/users/bob@contoso.com/mailFolders/inbox')).status, 200);
    } finally {
      await limited.close();
    }
  });

  test('the control API names every bad field of a fault rule', async () => {
    const response = await fetch(`${f.graph.controlUrl}/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'meteor', probability: 2, count: 0, colour: 'red' }) });
    assert.equal(response.status, 400);
    const problem = (await response.json()) as { errors: { pointer: string }[] };
    assert.deepEqual(problem.errors.map((e) => e.pointer).sort(), ['/colour', '/count', '/kind', '/probability']);
  });

  test('MailboxNotEnabledForRESTAPI for a mailbox switched off through the control API', async () => {
    await fetch(`${f.graph.controlUrl}/mailboxes/carol@contoso.com/rest`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ enabled: false }) });
    const response = await graphCall<ErrorBody>(f.graph, f.appToken(), '/users/carol@contoso.com/mailFolders');
    assert.equal(response.status, 404);
    assert.equal(response.body.error.code, 'MailboxNotEnabledForRESTAPI');
    f.graph.setRestEnabled('carol@contoso.com', true);
  });
});

describe('one mailbox, two protocols', () => {
  test('mail delivered through the store control API on the Graph server, read through Graph, flagged read: EWS sync shows the read-flag change', async () => {
    const t = f.appToken();
    const ewsSync = async (state: string): Promise<{ state: string; body: string }> => {
      const body = (
        await soapCall(
          f.ews.url,
          `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId>${state ? `<m:SyncState>${state}</m:SyncState>` : ''}<m:MaxChangesReturned>512</m:MaxChangesReturned></m:SyncFolderItems>`,
          { authorization: basicAuth('carol@contoso.com', PASSWORDS.carol) },
        )
      ).body;
      return { state: /<m:SyncState>([^<]*)</.exec(body)?.[1] ?? '', body };
    };
    const start = await ewsSync('');
    const delivered = await fetch(`${f.graph.storeControlUrl}/deliver`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ from: { address: 'dan@example.net' }, toRecipients: [{ address: 'carol@contoso.com' }], subject: 'Via control' }) });
    assert.equal(delivered.status, 201);
    const created = await ewsSync(start.state);
    assert.match(created.body, /<t:Create>/);
    const round = await deltaRound(f.graph, t, '/users/carol@contoso.com/mailFolders/inbox/messages/delta');
    const message = round.entries.find((e) => e.subject === 'Via control')!;
    assert.ok(message);
    assert.equal((await graphCall(f.graph, t, `/users/carol@contoso.com/messages/${message.id}`, { method: 'PATCH', body: { isRead: true } })).status, 200);
    const after = await ewsSync(created.state);
    assert.match(after.body, /<t:ReadFlagChange>[\s\S]*<t:IsRead>true<\/t:IsRead>/);
  });

  test('EWS MoveItem, DeleteItem and UpdateItem (IsRead) show in the Graph delta; a Graph move shows in EWS sync', async () => {
    const t = f.appToken();
    const carol = basicAuth('carol@contoso.com', PASSWORDS.carol);
    const box = 'carol@contoso.com';
    const ids = ['one', 'two', 'three', 'four'].map((subject) => f.graph.store.createItem(box, { distinguished: 'inbox' }, { kind: 'message', subject, isRead: false }).id);
    const round = await deltaRound(f.graph, t, `/users/${box}/mailFolders/inbox/messages/delta`, { prefer: 'odata.maxpagesize=100' });
    const ews = (body: string) => soapCall(f.ews.url, body, { authorization: carol });
    assert.equal((await ews(`<m:MoveItem><m:ToFolderId><t:DistinguishedFolderId Id="junkemail"/></m:ToFolderId><m:ItemIds><t:ItemId Id="${ids[0]}"/></m:ItemIds></m:MoveItem>`)).status, 200);
    assert.equal((await ews(`<m:DeleteItem DeleteType="HardDelete"><m:ItemIds><t:ItemId Id="${ids[1]}"/></m:ItemIds></m:DeleteItem>`)).status, 200);
    const update = await ews(`<m:UpdateItem ConflictResolution="AlwaysOverwrite" MessageDisposition="SaveOnly"><m:ItemChanges><t:ItemChange><t:ItemId Id="${ids[2]}"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="message:IsRead"/><t:Message><t:IsRead>true</t:IsRead></t:Message></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`);
    assert.match(update.body, /NoError/);
    const changes = await deltaRound(f.graph, t, round.deltaLink);
    const rest = (id: string): string => id.replace(/\//g, '-').replace(/\+/g, '_');
    const byId = new Map(changes.entries.map((e) => [e.id, e]));
    assert.deepEqual(byId.get(rest(ids[0]!))?.['@removed'], { reason: 'changed' });
    assert.deepEqual(byId.get(rest(ids[1]!))?.['@removed'], { reason: 'deleted' });
    assert.equal(byId.get(rest(ids[2]!))?.isRead, true);
    // And the other way: a Graph move is a Delete in the EWS inbox sync.
    const sync = async (state: string) => (await ews(`<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId>${state ? `<m:SyncState>${state}</m:SyncState>` : ''}<m:MaxChangesReturned>512</m:MaxChangesReturned></m:SyncFolderItems>`)).body;
    const state = /<m:SyncState>([^<]*)</.exec(await sync(''))![1]!;
    assert.equal((await graphCall(f.graph, t, `/users/${box}/messages/${rest(ids[3]!)}/move`, { method: 'POST', body: { destinationId: 'drafts' } })).status, 201);
    assert.match(await sync(state), new RegExp(`<t:Delete><t:ItemId Id="${ids[3]!.replace(/[+/=]/g, (c) => `\\${c}`)}"`));
  });

  test('immutable ids survive a move and match translateExchangeIds of the EWS id; app-only cannot translate', async () => {
    const t = f.appToken();
    const item = f.graph.store.folderItems(f.graph.store.getFolder('alice@contoso.com', { distinguished: 'inbox' })).at(-1)!;
    const restId = item.id.replace(/\//g, '-').replace(/\+/g, '_');
    const immutable = await graphCall<{ id: string }>(f.graph, t, `${A}/messages/${restId}`, { headers: { prefer: 'IdType="ImmutableId"' } });
    assert.equal(immutable.headers.get('preference-applied'), 'IdType="ImmutableId"');
    const translate = (ewsId: string) =>
      graphCall<{ value: { sourceId: string; targetId: string }[] }>(f.graph, f.userToken('alice@contoso.com', 'User.ReadBasic.All'), `${A}/translateExchangeIds`, { method: 'POST', body: { inputIds: [ewsId], sourceIdType: 'ewsId', targetIdType: 'restImmutableEntryId' } });
    const translated = await translate(item.id);
    assert.equal(translated.status, 200);
    assert.equal(translated.body.value[0]!.targetId, immutable.body.id);
    const moved = await graphCall<{ id: string }>(f.graph, t, `${A}/messages/${immutable.body.id}/move`, { method: 'POST', body: { destinationId: 'drafts' }, headers: { prefer: 'IdType="ImmutableId"' } });
    assert.equal(moved.body.id, immutable.body.id);
    assert.equal((await graphCall(f.graph, t, `${A}/messages/${immutable.body.id}`)).status, 200);
    // The moved item has a new EWS id; it translates to the same immutable id.
    const newEwsId = f.graph.store.folderItems(f.graph.store.getFolder('alice@contoso.com', { distinguished: 'drafts' })).at(-1)!.id;
    assert.notEqual(newEwsId, item.id);
    assert.equal((await translate(newEwsId)).body.value[0]!.targetId, immutable.body.id);
    assert.equal((await graphCall(f.graph, t, `${A}/translateExchangeIds`, { method: 'POST', body: { inputIds: [item.id], sourceIdType: 'ewsId', targetIdType: 'restId' } })).status, 403);
  });
});
