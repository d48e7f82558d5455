/**
 * The sync hot path (shared/ews/soap: xmlbuilder-free request objects + SAX reader) against the
 * long-tail path (ews-javascript-api) on the same simulator mailbox: every SyncFolderItems page
 * and every GetItem result must be equal field by field, for mail, calendar, contacts and tasks,
 * bodies (text and HTML), attachments, updates, deletions, read flags, per-item errors and
 * whole-request failures (throttling, invalid state, impersonation refused). Then the reader
 * as an attacker's server would meet it: DOCTYPE/entities, deep nesting, garbage.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createMailboxClient, EwsError, getItems, syncFolderItems, type DistinguishedFolderName, type EwsCredential, type MailboxClient, type SyncFolderItemsResult } from '../../shared/ews';
import { leanGetItems, leanSyncFolderItems } from '../../shared/ews/soap/lean-operations';
import { readXml, XmlReadError } from '../../shared/ews/soap/xml-reader';
import { SecretString } from '../../shared/logging';
import { startEwsSimulator } from '../../dev/ews-simulator/server';
import { fillMailbox } from '../../dev/ews-simulator/seed';
import type { EwsStore } from '../../dev/ews-simulator/model';
import { startCannedEwsServer, soapEnvelope, type CannedEwsServer } from './canned-ews-server';
import { seedSeriesAndMeetings, type SeriesFixture } from '../ews-simulator/series-fixture';

const MAILBOX = 'erin@contoso.com';
const SERVICE_ACCOUNT = 'svc-lean@contoso.com';
const LIMITED_ACCOUNT = 'svc-lean-limited@contoso.com';
const PASSWORD = 'Lean-Pass-1';

let simulator: Awaited<ReturnType<typeof startEwsSimulator>>;
let store: EwsStore;
let canned: CannedEwsServer;
let series: SeriesFixture;

const credential = (username: string): EwsCredential => ({ kind: 'basic', username, password: new SecretString(PASSWORD) });
const clientFor = (username = SERVICE_ACCOUNT, url = simulator.url): MailboxClient => createMailboxClient(url, credential(username), { mailbox: MAILBOX, allowInsecureHttp: true, timeoutInMs: 10_000 });

function seed(target: EwsStore): void {
  target.addOrganisation({ id: 'contoso', name: 'Contoso', domains: ['contoso.com'] });
  target.addMailbox({ smtpAddress: MAILBOX, displayName: 'Erin', password: 'erin-pass' });
  target.addMailbox({ smtpAddress: 'frank@contoso.com', displayName: 'Frank', password: 'frank-pass' });
  target.addServiceAccount({ userPrincipalName: SERVICE_ACCOUNT, password: PASSWORD });
  target.grantImpersonation({ principal: SERVICE_ACCOUNT, scope: { kind: 'all' } });
  target.addServiceAccount({ userPrincipalName: LIMITED_ACCOUNT, password: PASSWORD });
  target.grantImpersonation({ principal: LIMITED_ACCOUNT, scope: { kind: 'list', mailboxes: ['frank@contoso.com'] } });
  fillMailbox(target, MAILBOX, { count: 40, seed: 'lean-equivalence' });
  target.createItem(MAILBOX, { distinguished: 'inbox' }, {
    kind: 'message', subject: '', body: { type: 'HTML', content: '<html><body><p>Tom &amp; Jerry &lt;3 — “quotes” 😀</p></body></html>' },
    categories: ['Red', 'Blue & Green'], importance: 'High', isRead: false,
    from: { name: 'Zoë <Z>', address: 'zoe@fabrikam.com' }, toRecipients: [{ address: MAILBOX }], ccRecipients: [{ name: 'Frank', address: 'frank@contoso.com' }], bccRecipients: [{ address: 'audit@contoso.com' }],
    attachments: [
      { name: 'report.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.4 lean') },
      { name: 'logo.png', contentType: 'image/png', content: Buffer.from([137, 80, 78, 71]), isInline: true, contentId: 'logo@1' },
    ],
  });
  target.createItem(MAILBOX, { distinguished: 'calendar' }, {
    kind: 'calendarItem', subject: 'Planning', start: new Date('2026-12-01T09:00:00Z'), end: new Date('2026-12-01T10:00:00Z'), location: 'Room 1',
    organizer: { name: 'Erin', address: MAILBOX }, requiredAttendees: [{ mailbox: { name: 'Frank', address: 'frank@contoso.com' } }], optionalAttendees: [{ mailbox: { address: 'guest@fabrikam.com' } }],
  });
  target.createItem(MAILBOX, { distinguished: 'calendar' }, { kind: 'calendarItem', subject: 'Holiday', start: new Date('2026-12-24T00:00:00Z'), end: new Date('2026-12-25T00:00:00Z'), isAllDayEvent: true });
  target.createItem(MAILBOX, { distinguished: 'contacts' }, {
    kind: 'contact', givenName: 'Dana', surname: 'Scully', companyName: 'FBI', jobTitle: 'Agent', displayName: 'Dana Scully',
    emailAddresses: [{ key: 'EmailAddress1', address: 'dana@fbi.example' }, { key: 'EmailAddress2', address: 'd.scully@example.org' }],
    phoneNumbers: [{ key: 'MobilePhone', number: '+1 555 0100' }, { key: 'BusinessPhone', number: '+1 555 0199' }],
  });
  target.createItem(MAILBOX, { distinguished: 'contacts' }, { kind: 'contact', displayName: 'No Name Company' });
  target.createItem(MAILBOX, { distinguished: 'tasks' }, { kind: 'task', subject: 'File report', dueDate: new Date('2026-12-24T00:00:00Z'), status: 'InProgress', percentComplete: 40 });
  target.createItem(MAILBOX, { distinguished: 'tasks' }, { kind: 'task', subject: 'Done', status: 'Completed', percentComplete: 100, completeDate: new Date('2026-11-02T10:00:00Z') });
}

before(async () => {
  simulator = await startEwsSimulator({ port: 0, host: '127.0.0.1', seed });
  store = simulator.store;
  canned = await startCannedEwsServer();
  // A recurring series with a moved and a deleted occurrence, a meeting request and response, an item attachment.
  series = await seedSeriesAndMeetings(simulator.url, { address: MAILBOX, password: 'erin-pass' }, { address: 'frank@contoso.com', password: 'frank-pass' });
});
after(async () => {
  await simulator?.close();
  await canned?.close();
});

/** Both paths page through a folder from `state` with small pages; every page must be equal. */
async function syncBoth(folder: DistinguishedFolderName, state: string | undefined): Promise<{ pages: SyncFolderItemsResult[]; state: string }> {
  const client = clientFor();
  const pages: SyncFolderItemsResult[] = [];
  let current = state;
  for (let page = 0; page < 100; page++) {
    const old = await syncFolderItems(client, { distinguished: folder }, current, { maxChangesReturned: 7 });
    const lean = await leanSyncFolderItems(client, { distinguished: folder }, current, { maxChangesReturned: 7 });
    assert.deepEqual(lean, old, `${folder} page ${page} differs`);
    pages.push(lean);
    current = lean.syncState;
    if (lean.includesLastItemInRange) return { pages, state: current };
  }
  assert.fail('never reached the end');
}

async function assertSameItems(ids: readonly string[], bodyType: 'text'): Promise<void> {
  const client = clientFor();
  for (let offset = 0; offset < ids.length; offset += 25) {
    const batch = ids.slice(offset, offset + 25);
    const old = await getItems(client, batch, { bodyType });
    const lean = await leanGetItems(client, batch, { bodyType });
    assert.equal(lean.length, old.length);
    // deepEqual on JSON-like values: undefined fields count, so a field one path fills and the other leaves out fails.
    for (let index = 0; index < old.length; index++) assert.deepEqual(lean[index], old[index], `item ${batch[index]} (${bodyType}) differs`);
  }
}

function changedIds(pages: readonly SyncFolderItemsResult[]): string[] {
  return pages.flatMap((page) => page.changes.filter((change) => change.type === 'create' || change.type === 'update').map((change) => change.itemId));
}

describe('lean hot path equals the ews-javascript-api path', () => {
  const states = new Map<DistinguishedFolderName, string>();

  for (const folder of ['inbox', 'calendar', 'contacts', 'tasks'] as const) {
    // Text bodies are what sync asks for. (The long-tail path cannot leave the body out, AllProperties carries it.)
    test(`${folder}: initial sync pages and every item with its text body`, async () => {
      const { pages, state } = await syncBoth(folder, undefined);
      states.set(folder, state);
      const ids = changedIds(pages);
      assert.ok(ids.length >= 2, `${folder} has items`);
      await assertSameItems(ids, 'text');
    });
  }

  test('a recurring series with its exceptions, meeting messages and item attachments: present, and equal on both paths', async () => {
    const client = clientFor();
    const { pages: calendarPages } = await syncBoth('calendar', undefined);
    const { pages: inboxPages } = await syncBoth('inbox', undefined);
    const results = await leanGetItems(client, [...changedIds(calendarPages), ...changedIds(inboxPages)].slice(0, 100));
    const items = results.flatMap((result) => (result.ok ? [result.value] : []));
    await assertSameItems(items.map((item) => item.id), 'text');

    const master = items.find((item) => item.id === series.masterId);
    assert.ok(master && master.kind === 'calendarItem');
    assert.equal(master.calendarItemType, 'RecurringMaster');
    assert.deepEqual(master.recurrence, { pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday', 'wednesday'], firstDayOfWeek: 'sunday' }, range: { type: 'numbered', startDate: '2026-05-04', numberOfOccurrences: 6 } });
    assert.equal(master.firstOccurrence?.start, '2026-05-04T08:30:00.000Z');
    assert.equal(master.lastOccurrence?.start, '2026-05-20T08:30:00.000Z');
    assert.deepEqual(master.modifiedOccurrences?.map((o) => [o.originalStart, o.start, o.end]), [[series.moved.originalStart, series.moved.start, '2026-05-06T10:15:00.000Z']]);
    assert.deepEqual(master.deletedOccurrences, [{ originalStart: series.deletedOriginalStart }]);
    const single = items.find((item) => item.kind === 'calendarItem' && item.subject === 'Planning');
    assert.ok(single && single.kind === 'calendarItem' && single.calendarItemType === 'Single' && single.recurrence === undefined);

    const request = items.find((item) => item.kind === 'meetingMessage' && item.subject === series.requestSubject);
    assert.ok(request && request.kind === 'meetingMessage' && request.meeting, 'the meeting request carries its meeting');
    assert.equal(request.meeting.messageType, 'meetingRequest');
    assert.equal(request.meeting.start, '2026-05-12T09:00:00.000Z');
    assert.equal(request.meeting.end, '2026-05-12T10:00:00.000Z');
    assert.equal(request.meeting.location, 'Room 2');
    const accepted = items.find((item) => item.kind === 'meetingMessage' && item.meeting?.messageType === 'meetingAccepted');
    assert.ok(accepted && accepted.kind === 'meetingMessage', 'the response from the attendee');
    assert.equal(accepted.meeting?.responseType, 'Accept');
    assert.ok(accepted.meeting?.associatedCalendarItemId, "the response names the organizer's calendar item");
    assert.equal(accepted.meeting?.start, '2026-05-13T14:00:00.000Z');
    const calendarIds = new Set(items.filter((item) => item.kind === 'calendarItem').map((item) => item.id));
    assert.ok(calendarIds.has(accepted.meeting!.associatedCalendarItemId!), 'the associated calendar item is one the sync delivered');
    const plain = items.find((item) => item.kind === 'message');
    assert.ok(plain && plain.kind === 'message' && plain.meeting === undefined && !('meeting' in plain), 'plain mail has no meeting field');

    const withItem = items.find((item) => item.subject === 'See attached note');
    assert.deepEqual(withItem?.attachments.map((a) => [a.kind, a.name]), [['item', series.attachedMessageName]]);
  });

  test('updates, deletions and read flags after the initial sync; per-item errors for gone items', async () => {
    const inbox = store.getFolder(MAILBOX, { distinguished: 'inbox' });
    const items = store.folderItems(inbox);
    const [updated, deleted, readToggled, readAndDeleted] = items;
    store.updateItem(updated!.id, { subject: 'Updated subject', categories: ['Changed'] });
    store.deleteItem(deleted!.id, 'HardDelete');
    store.updateItem(readToggled!.id, { isRead: !(readToggled as { isRead?: boolean }).isRead });
    store.updateItem(readAndDeleted!.id, { isRead: true });
    const { pages } = await syncBoth('inbox', states.get('inbox'));
    const types = new Set(pages.flatMap((page) => page.changes.map((change) => change.type)));
    assert.ok(types.has('update') && types.has('delete'), `changes seen: ${[...types].join(',')}`);
    await assertSameItems([updated!.id, deleted!.id, 'AAMkAGInvalidIdThatDoesNotExist=', readToggled!.id], 'text');
  });

  test('HTML bodies: the lean path asks for HTML (ews-javascript-api drops BodyType HTML, enum value 0, and gets the item\'s own format)', async () => {
    const { pages } = await syncBoth('tasks', undefined);
    const [result] = await leanGetItems(clientFor(), changedIds(pages).slice(0, 1), { bodyType: 'html' });
    assert.ok(result?.ok);
    assert.equal(result.value.bodyText, undefined);
    assert.match(result.value.bodyHtml ?? '', /<html>/);
  });

  test('a damaged sync state fails the same way on both paths', async () => {
    const client = clientFor();
    const damaged = `${states.get('inbox') ?? ''}garbage`;
    const old = await syncFolderItems(client, { distinguished: 'inbox' }, damaged).then(() => undefined, (e: unknown) => e);
    const lean = await leanSyncFolderItems(client, { distinguished: 'inbox' }, damaged).then(() => undefined, (e: unknown) => e);
    assertSameError(lean, old, 'ErrorInvalidSyncStateData');
  });

  test('impersonation refused fails the same way on both paths', async () => {
    const client = clientFor(LIMITED_ACCOUNT);
    const old = await syncFolderItems(client, { distinguished: 'inbox' }, undefined).then(() => undefined, (e: unknown) => e);
    const lean = await leanSyncFolderItems(client, { distinguished: 'inbox' }, undefined).then(() => undefined, (e: unknown) => e);
    assertSameError(lean, old);
  });

  for (const kind of ['serverBusy', 'exceededConnectionCount', 'http503', 'http429', 'http500'] as const) {
    test(`throttling and server failures (${kind}) map to the same typed error`, async () => {
      const outcomes: unknown[] = [];
      for (const call of [(c: MailboxClient) => getItems(c, ['AAMkAGAny=']), (c: MailboxClient) => leanGetItems(c, ['AAMkAGAny='])]) {
        const rule = simulator.faults.add({ kind, operation: 'GetItem', backOffInMs: 1_500, retryAfterInSeconds: 7, count: 1 });
        outcomes.push(await call(clientFor()).then(() => undefined, (e: unknown) => e));
        simulator.faults.remove(rule.id);
      }
      assertSameError(outcomes[1], outcomes[0]);
    });
  }
});

function assertSameError(lean: unknown, old: unknown, code?: string): void {
  assert.ok(old instanceof EwsError, `old path: ${String(old)}`);
  assert.ok(lean instanceof EwsError, `lean path: ${String(lean)}`);
  if (code) assert.equal(old.code, code);
  assert.equal(lean.constructor, old.constructor);
  assert.equal(lean.code, old.code);
  assert.equal(lean.kind, old.kind);
  assert.equal(lean.httpStatus, old.httpStatus);
  assert.equal((lean as { retryAfterInMs?: number }).retryAfterInMs, (old as { retryAfterInMs?: number }).retryAfterInMs);
}

describe('the lean reader against a hostile server', () => {
  const syncAnswer = (inner: string) => soapEnvelope(`<m:SyncFolderItemsResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages><m:SyncFolderItemsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>${inner}</m:SyncFolderItemsResponseMessage></m:ResponseMessages></m:SyncFolderItemsResponse>`);

  async function leanSyncAgainst(body: string): Promise<unknown> {
    canned.respond = (_request, response) => response.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(body);
    return leanSyncFolderItems(clientFor(SERVICE_ACCOUNT, canned.url), { distinguished: 'inbox' }, undefined).then((result) => result, (e: unknown) => e);
  }

  test('a DOCTYPE with entity declarations (billion laughs, external entity) is refused, nothing expanded', async () => {
    const laughs = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY xxe SYSTEM "file:///etc/passwd">]>';
    const outcome = await leanSyncAgainst(`${laughs}${syncAnswer('<m:SyncState>&lol2;&xxe;</m:SyncState><m:IncludesLastItemInRange>true</m:IncludesLastItemInRange><m:Changes/>')}`.replace('<?xml version="1.0" encoding="utf-8"?>', ''));
    assert.ok(outcome instanceof EwsError && outcome.kind === 'protocol', String(outcome));
    // The guarded transport refuses the DTD before the lean reader sees it; either way nothing is expanded.
    assert.match(outcome.message, /DOCTYPE|DTD/);
  });

  test('an undeclared entity, deep nesting and a truncated document are protocol errors, not crashes', async () => {
    const undeclared = await leanSyncAgainst(syncAnswer('<m:SyncState>&secret;</m:SyncState><m:IncludesLastItemInRange>true</m:IncludesLastItemInRange>'));
    assert.ok(undeclared instanceof EwsError && undeclared.kind === 'protocol', String(undeclared));
    const deep = await leanSyncAgainst(syncAnswer(`<m:Changes>${'<t:x>'.repeat(5_000)}${'</t:x>'.repeat(5_000)}</m:Changes>`));
    assert.ok(deep instanceof EwsError && deep.kind === 'protocol' && /deeper/.test(deep.message), String(deep));
    const truncated = await leanSyncAgainst(syncAnswer('<m:SyncState>abc</m:SyncState>').slice(0, -40));
    assert.ok(truncated instanceof EwsError && truncated.kind === 'protocol', String(truncated));
  });

  test('a hostile sync state or id is escaped into the request, never markup', async () => {
    const outcome = await leanSyncAgainst(syncAnswer('<m:SyncState>s</m:SyncState><m:IncludesLastItemInRange>true</m:IncludesLastItemInRange><m:Changes/>'));
    assert.ok(!(outcome instanceof Error), String(outcome));
    const hostile = '</m:SyncState><m:MaxChangesReturned>1</m:MaxChangesReturned><m:SyncState>';
    await leanSyncFolderItems(clientFor(SERVICE_ACCOUNT, canned.url), { distinguished: 'inbox' }, hostile);
    const sent = canned.requests.at(-1)!.body;
    assert.equal((sent.match(/<m:MaxChangesReturned>/g) ?? []).length, 1);
    assert.ok(sent.includes('&lt;/m:SyncState&gt;'));
    await assert.rejects(leanSyncFolderItems(clientFor(SERVICE_ACCOUNT, canned.url), { distinguished: 'inbox' }, 'state\u0000'), /cannot carry/);
  });

  test('size limits: an oversized document and too many elements are refused before use', () => {
    assert.throws(() => readXml('<a>' + 'x'.repeat(100) + '</a>', { maxChars: 50, maxDepth: 64, maxElements: 10 }), XmlReadError);
    assert.throws(() => readXml('<a>' + '<b/>'.repeat(20) + '</a>', { maxChars: 10_000, maxDepth: 64, maxElements: 10 }), XmlReadError);
    assert.equal(readXml('<a x="1"><b>t&amp;u</b></a>').children[0]?.text, 't&u');
  });
});
