/**
 * The Graph simulator as a client sees it: folders, message delta rounds over the store shared
 * with the EWS simulator, message GET/PATCH/DELETE/move, sendMail, calendar/contacts/tasks delta.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { graphCall, deltaRound, startGraphFixture, type GraphFixture } from './fixture';

let f: GraphFixture;
before(async () => {
  f = await startGraphFixture();
});
after(async () => {
  await f.close();
});

const ALICE = '/users/alice@contoso.com';

describe('mail folders and messages', () => {
  test('lists the top-level mail folders with well-known ones and counts', async () => {
    const response = await graphCall<{ value: { displayName: string; totalItemCount: number; unreadItemCount: number; id: string }[] }>(f.graph, f.appToken(), `${ALICE}/mailFolders`);
    assert.equal(response.status, 200);
    const inbox = response.body.value.find((folder) => folder.displayName === 'Inbox');
    assert.ok(inbox, JSON.stringify(response.body));
    assert.equal(inbox.totalItemCount, 12);
    assert.equal(inbox.unreadItemCount, 8);
    assert.ok(response.headers.get('request-id'));
    const byName = await graphCall<{ id: string }>(f.graph, f.appToken(), `${ALICE}/mailFolders/inbox`);
    assert.equal(byName.body.id, inbox.id);
  });

  test('a delta round pages with nextLinks, ends with a deltaLink, then reports changes made through EWS and the store', async () => {
    const token = f.appToken();
    const round = await deltaRound(f.graph, token, `${ALICE}/mailFolders/inbox/messages/delta?$select=subject,isRead`, { prefer: 'odata.maxpagesize=5' });
    assert.equal(round.entries.length, 12);
    assert.equal(round.pages, 3);
    assert.deepEqual(Object.keys(round.entries[0]!).sort(), ['@odata.etag', 'id', 'isRead', 'subject']);
    // Changes outside Graph: a new mail, a read flag, a delete.
    const store = f.graph.store;
    const inbox = store.getFolder('alice@contoso.com', { distinguished: 'inbox' });
    const [first, second] = store.folderItems(inbox);
    store.deliverMail({ from: { address: 'dan@example.net' }, toRecipients: [{ address: 'alice@contoso.com' }], subject: 'Order 999' });
    store.updateItem(first!.id, { isRead: false });
    store.deleteItem(second!.id, 'HardDelete');
    const next = await deltaRound(f.graph, token, round.deltaLink);
    const subjects = next.entries.filter((e) => !e['@removed']).map((e) => e.subject);
    assert.deepEqual(subjects.sort(), ['Order 100', 'Order 999']);
    const removed = next.entries.filter((e) => e['@removed']);
    assert.equal(removed.length, 1);
    assert.deepEqual(removed[0]!['@removed'], { reason: 'deleted' });
    const flagged = next.entries.find((e) => e.subject === 'Order 100')!;
    assert.equal(flagged.isRead, false);
  });

  test('PATCH isRead, move and DELETE show in the EWS store and in the next delta as changed/removed', async () => {
    const token = f.appToken();
    const round = await deltaRound(f.graph, token, `${ALICE}/mailFolders/inbox/messages/delta`, { prefer: 'odata.maxpagesize=50' });
    const target = round.entries.find((e) => e.subject === 'Order 105')!;
    const patched = await graphCall<{ isRead: boolean; categories: string[] }>(f.graph, token, `${ALICE}/messages/${target.id}`, { method: 'PATCH', body: { isRead: true, categories: ['Done'] } });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.isRead, true);
    const moved = await graphCall<{ id: string; parentFolderId: string }>(f.graph, token, `${ALICE}/messages/${target.id}/move`, { method: 'POST', body: { destinationId: 'junkemail' } });
    assert.equal(moved.status, 201);
    assert.notEqual(moved.body.id, target.id);
    const gone = await graphCall(f.graph, token, `${ALICE}/messages/${target.id}`);
    assert.equal(gone.status, 404);
    assert.equal((gone.body as { error: { code: string } }).error.code, 'ErrorItemNotFound');
    const other = round.entries.find((e) => e.subject === 'Order 106')!;
    assert.equal((await graphCall(f.graph, token, `${ALICE}/messages/${other.id}`, { method: 'DELETE' })).status, 204);
    const deleted = f.graph.store.getFolder('alice@contoso.com', { distinguished: 'deleteditems' });
    assert.ok(f.graph.store.folderItems(deleted).some((i) => i.subject === 'Order 106'));
    const next = await deltaRound(f.graph, token, round.deltaLink);
    const reasons = next.entries.filter((e) => e['@removed']).map((e) => (e['@removed'] as { reason: string }).reason);
    assert.deepEqual(reasons, ['changed', 'changed']);
  });

  test('sendMail delivers to recipients in the store and saves to Sent Items', async () => {
    const sent = await graphCall(f.graph, f.appToken(), `${ALICE}/sendMail`, {
      method: 'POST',
      body: { message: { subject: 'Hello Bob', body: { contentType: 'text', content: 'Hi' }, toRecipients: [{ emailAddress: { address: 'bob@contoso.com' } }] } },
    });
    assert.equal(sent.status, 202);
    const bobInbox = f.graph.store.getFolder('bob@contoso.com', { distinguished: 'inbox' });
    assert.ok(f.graph.store.folderItems(bobInbox).some((i) => i.subject === 'Hello Bob'));
    const sentItems = f.graph.store.getFolder('alice@contoso.com', { distinguished: 'sentitems' });
    assert.ok(f.graph.store.folderItems(sentItems).some((i) => i.subject === 'Hello Bob'));
  });
});

describe('calendar, contacts and tasks', () => {
  test('calendarView delta returns events in the window only, and needs the window', async () => {
    const token = f.appToken();
    const inWindow = await deltaRound(f.graph, token, `${ALICE}/calendarView/delta?startDateTime=2025-03-01T00:00:00Z&endDateTime=2025-03-31T00:00:00Z`);
    assert.deepEqual(inWindow.entries.map((e) => e.subject), ['Weekly sync']);
    const outside = await deltaRound(f.graph, token, `${ALICE}/calendarView/delta?startDateTime=2025-04-01T00:00:00Z&endDateTime=2025-04-30T00:00:00Z`);
    assert.equal(outside.entries.length, 0);
    const missing = await graphCall(f.graph, token, `${ALICE}/calendarView/delta`);
    assert.equal(missing.status, 400);
  });

  test('calendarView delta shows a weekly series as its occurrences in the window, with a deleted one left out', async () => {
    const store = f.graph.store;
    const series = store.createItem('alice@contoso.com', { distinguished: 'calendar' }, {
      kind: 'calendarItem',
      subject: 'Standup',
      start: new Date('2025-09-01T09:00:00Z'),
      end: new Date('2025-09-01T09:15:00Z'),
      recurrence: { pattern: { kind: 'Weekly', interval: 1, daysOfWeek: ['Monday'] }, range: { kind: 'NoEnd', startDate: '2025-09-01' } },
    });
    store.updateItem(series.id, { deletedOccurrences: [new Date('2025-09-15T09:00:00Z')] });
    const round = await deltaRound(f.graph, f.appToken(), `${ALICE}/calendarView/delta?startDateTime=2025-09-01T00:00:00Z&endDateTime=2025-09-30T00:00:00Z`);
    const standups = round.entries.filter((e) => e.subject === 'Standup');
    assert.deepEqual(standups.map((e) => (e.start as { dateTime: string }).dateTime.slice(0, 10)), ['2025-09-01', '2025-09-08', '2025-09-22', '2025-09-29']);
    assert.ok(standups.every((e) => e.type === 'occurrence' && e.seriesMasterId === series.id.replace(/\//g, '-').replace(/\+/g, '_')));
  });

  test('contacts delta (default folder and by contactFolders id) and todo task lists with tasks delta', async () => {
    const token = f.appToken();
    const contacts = await deltaRound(f.graph, token, `${ALICE}/contacts/delta`);
    assert.deepEqual(contacts.entries.map((e) => e.displayName), ['Dan Customer']);
    const folders = await graphCall<{ value: { id: string }[] }>(f.graph, token, `${ALICE}/contactFolders`);
    const byFolder = await deltaRound(f.graph, token, `${ALICE}/contactFolders/${folders.body.value[0]!.id}/contacts/delta`);
    assert.equal(byFolder.entries.length, 1);
    const lists = await graphCall<{ value: { id: string; wellknownListName: string }[] }>(f.graph, token, `${ALICE}/todo/lists`);
    const list = lists.body.value.find((l) => l.wellknownListName === 'defaultList')!;
    const tasks = await deltaRound(f.graph, token, `${ALICE}/todo/lists/${list.id}/tasks/delta`);
    assert.deepEqual(tasks.entries.map((e) => [e.title, e.status]), [['Call Dan', 'inProgress']]);
  });
});

describe('what a sync engine asks for', () => {
  test('bodies as text or HTML (Prefer outlook.body-content-type), conversationId shared by a reply, attachments with content', async () => {
    const token = f.appToken();
    const store = f.graph.store;
    const [original] = store.deliverMail({ from: { address: 'dan@example.net' }, toRecipients: [{ address: 'carol@contoso.com' }], subject: 'Question', body: { type: 'HTML', content: '<html><body><p>Hello &amp; <b>welcome</b></p><p>Line 2</p></body></html>' }, internetMessageId: '<q1@example.net>' });
    const [reply] = store.deliverMail({ from: { address: 'dan@example.net' }, toRecipients: [{ address: 'carol@contoso.com' }], subject: 'Re: Question', inReplyTo: '<q1@example.net>', attachments: [{ name: 'a.txt', contentType: 'text/plain', content: Buffer.from('attached') }] });
    const rest = (id: string): string => id.replace(/\//g, '-').replace(/\+/g, '_');
    const asText = await graphCall<{ body: { contentType: string; content: string }; conversationId: string }>(f.graph, token, `/users/carol@contoso.com/messages/${rest(original!.id)}?$select=body,conversationId`, { headers: { prefer: 'outlook.body-content-type="text"' } });
    assert.deepEqual(asText.body.body, { contentType: 'text', content: 'Hello & welcome\nLine 2' });
    assert.match(asText.headers.get('preference-applied') ?? '', /outlook\.body-content-type="text"/);
    const asHtml = await graphCall<{ body: { contentType: string; content: string } }>(f.graph, token, `/users/carol@contoso.com/messages/${rest(original!.id)}?$select=body`);
    assert.equal(asHtml.body.body.contentType, 'html');
    const replied = await graphCall<{ conversationId: string; hasAttachments: boolean }>(f.graph, token, `/users/carol@contoso.com/messages/${rest(reply!.id)}?$select=conversationId,hasAttachments`);
    assert.equal(replied.body.conversationId, asText.body.conversationId);
    assert.equal(replied.body.hasAttachments, true);
    const attachments = await graphCall<{ value: { name: string; size: number; contentBytes?: string }[] }>(f.graph, token, `/users/carol@contoso.com/messages/${rest(reply!.id)}/attachments`);
    assert.deepEqual(attachments.body.value.map((a) => [a.name, a.size, Buffer.from(a.contentBytes!, 'base64').toString()]), [['a.txt', 8, 'attached']]);
    const noContent = await graphCall<{ value: Record<string, unknown>[] }>(f.graph, token, `/users/carol@contoso.com/messages/${rest(reply!.id)}/attachments?$select=id,name,size`);
    assert.equal(noContent.body.value[0]!.contentBytes, undefined);
  });

  test('single event, contact and task by id; an id of another kind is not found', async () => {
    const token = f.appToken();
    const store = f.graph.store;
    const rest = (id: string): string => id.replace(/\//g, '-').replace(/\+/g, '_');
    const event = store.folderItems(store.getFolder('alice@contoso.com', { distinguished: 'calendar' }))[0]!;
    const got = await graphCall<{ subject: string; start: { dateTime: string; timeZone: string } }>(f.graph, token, `${ALICE}/events/${rest(event.id)}`, { headers: { prefer: 'outlook.timezone="UTC"' } });
    assert.equal(got.body.subject, 'Weekly sync');
    assert.deepEqual(got.body.start, { dateTime: '2025-03-03T10:00:00.0000000', timeZone: 'UTC' });
    const contact = store.folderItems(store.getFolder('alice@contoso.com', { distinguished: 'contacts' }))[0]!;
    assert.equal((await graphCall<{ displayName: string }>(f.graph, token, `${ALICE}/contacts/${rest(contact.id)}`)).body.displayName, 'Dan Customer');
    assert.equal((await graphCall(f.graph, token, `${ALICE}/events/${rest(contact.id)}`)).status, 404);
    const lists = await graphCall<{ value: { id: string }[] }>(f.graph, token, `${ALICE}/todo/lists`);
    const task = store.folderItems(store.getFolder('alice@contoso.com', { distinguished: 'tasks' }))[0]!;
    assert.equal((await graphCall<{ title: string }>(f.graph, token, `${ALICE}/todo/lists/${lists.body.value[0]!.id}/tasks/${rest(task.id)}`)).body.title, 'Call Dan');
  });
});
