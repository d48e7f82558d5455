/**
 * Schema-true: every kind of response body the simulator produces (RESPONSE_KINDS) is produced
 * here, including delta pages with @removed entries, immutable ids, $select, $batch sub-responses
 * and every error status, and validated against Graph's published v1.0 CSDL (../shared/graph-schema).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { CalendarItem } from '../../dev/ews-simulator/model';
import { referencedMeeting, respond, sendCancellations, sendInvitations } from '../../dev/ews-simulator/meetings';
import { RESPONSE_KINDS, type ResponseKind } from '../../dev/graph-simulator/api';
import { SELECTABLE_PROPERTIES } from '../../dev/graph-simulator/entities';
import { CsdlSchema, validateCollection, validateErrorBody, type CsdlViolation } from '../../dev/graph-simulator/csdl';
import { graphSchemaDir } from '../../dev/project-paths';
import { deltaRound, graphCall, startGraphFixture, type GraphFixture } from './fixture';
import { startNotificationReceiver } from './notification-receiver';

const schemaDir = graphSchemaDir();
let f: GraphFixture;
let schema: CsdlSchema;
const covered = new Map<ResponseKind, number>();

before(async () => {
  if (!schemaDir) return;
  schema = CsdlSchema.load(join(schemaDir, 'v1.0.csdl'));
  f = await startGraphFixture();
});
after(async () => {
  await f?.close();
});

function violations(kind: ResponseKind, body: unknown): CsdlViolation[] {
  const spec = RESPONSE_KINDS[kind];
  switch (spec.shape) {
    case 'entity':
      return schema.validate(body, `microsoft.graph.${spec.type}`);
    case 'collection':
      return validateCollection(schema, body, `microsoft.graph.${spec.type}`, false);
    case 'delta':
      return validateCollection(schema, body, `microsoft.graph.${spec.type}`, true);
    case 'error':
      return validateErrorBody(body);
    case 'empty':
      return body === undefined || (typeof body === 'object' && body !== null && Object.keys(body).length === 0) ? [] : [{ path: '$', message: 'expected no body' }];
    case 'batch':
      return [];
  }
}

/** Validates one response of a known kind and counts it. */
function check(kind: ResponseKind, response: { status: number; body?: unknown }, label: string): void {
  const found = violations(kind, response.body);
  assert.deepEqual(found, [], `${label} (${kind}, ${response.status}): ${JSON.stringify(found.slice(0, 5))}`);
  covered.set(kind, (covered.get(kind) ?? 0) + 1);
}

const A = '/users/alice@contoso.com';

test('every response kind validates against the Graph v1.0 CSDL', { skip: schemaDir ? false : 'Graph CSDL not found (../shared/graph-schema)' }, async () => {
  const t = f.appToken();
  const g = f.graph;
  check('user', await graphCall(g, t, A), 'GET user');
  check('user', await graphCall(g, t, `${A}?$select=displayName,mail`), 'GET user $select');
  // Directory: users by $filter and by $search (ConsistencyLevel), with $count, $select and paging; people.
  const directoryToken = f.appToken(['User.Read.All', 'People.Read.All']);
  g.store.updateMailbox('bob@contoso.com', { attributes: { department: 'Operations', jobTitle: 'Operations Lead', businessPhone: '+1 425 555 0102', mobilePhone: '+1 425 555 0192' } });
  check('userCollection', await graphCall(g, directoryToken, "/users?$filter=startswith(displayName,'B')&$top=1"), 'GET users $filter');
  check('userCollection', await graphCall(g, directoryToken, '/users?$search="displayName:bob"&$count=true&$select=displayName,mail,department', { headers: { consistencylevel: 'eventual' } }), 'GET users $search');
  const usersPage = await graphCall<{ '@odata.nextLink'?: string }>(g, directoryToken, '/users?$top=2');
  check('userCollection', usersPage, 'GET users page 1');
  check('userCollection', await graphCall(g, directoryToken, usersPage.body['@odata.nextLink']!), 'GET users page 2');
  check('personCollection', await graphCall(g, directoryToken, `${A}/people`), 'GET people');
  check('personCollection', await graphCall(g, directoryToken, `${A}/people?$search="dan"&$top=2`), 'GET people $search');
  check('mailFolderCollection', await graphCall(g, t, `${A}/mailFolders`), 'mailFolders');
  check('mailFolderCollection', await graphCall(g, t, `${A}/mailFolders/msgfolderroot/childFolders?includeHiddenFolders=true`), 'childFolders');
  check('mailFolder', await graphCall(g, t, `${A}/mailFolders/inbox`), 'mailFolder');

  // Message delta: initial pages (default ids and immutable ids, full and $select), then changes with @removed.
  const prefer = { prefer: 'odata.maxpagesize=4' };
  const immutable = { prefer: 'odata.maxpagesize=4, IdType="ImmutableId"' };
  let url = `${A}/mailFolders/inbox/messages/delta`;
  const pages: unknown[] = [];
  for (;;) {
    const page = await graphCall<{ '@odata.nextLink'?: string; '@odata.deltaLink'?: string }>(g, t, url, { headers: prefer });
    check('messageDelta', page, 'message delta page');
    pages.push(page.body);
    if (page.body['@odata.deltaLink']) {
      url = page.body['@odata.deltaLink'];
      break;
    }
    url = page.body['@odata.nextLink']!;
  }
  const immutableRound = await deltaRound(g, t, `${A}/mailFolders/inbox/messages/delta?$select=subject,from,isRead,receivedDateTime`, immutable);
  const inbox = g.store.getFolder('alice@contoso.com', { distinguished: 'inbox' });
  const items = g.store.folderItems(inbox);
  g.store.updateItem(items[0]!.id, { isRead: false, categories: ['Blue'] });
  g.store.moveItem(items[1]!.id, { distinguished: 'junkemail' });
  g.store.deleteItem(items[2]!.id, 'HardDelete');
  g.store.deliverMail({ from: { name: 'Dan', address: 'dan@example.net' }, toRecipients: [{ address: 'alice@contoso.com' }], ccRecipients: [{ address: 'bob@contoso.com' }], subject: 'New', body: { type: 'HTML', content: '<p>x</p>' }, attachments: [{ name: 'a.txt', contentType: 'text/plain', content: Buffer.from('a') }] });
  const changes = await graphCall<{ value: Record<string, unknown>[] }>(g, t, url);
  check('messageDelta', changes, 'message delta changes');
  assert.ok(changes.body.value.some((e) => e['@removed']), 'changes include @removed');
  const immutableChanges = await graphCall<{ value: Record<string, unknown>[] }>(g, t, immutableRound.deltaLink, { headers: immutable });
  check('messageDelta', immutableChanges, 'immutable delta changes');

  // Single messages: GET (plain, immutable, $select), PATCH, move.
  const id = (changes.body.value.find((e) => !e['@removed'] && e.subject === 'New') as { id: string }).id;
  check('message', await graphCall(g, t, `${A}/messages/${id}`), 'GET message');
  check('message', await graphCall(g, t, `${A}/messages/${id}`, { headers: { prefer: 'IdType="ImmutableId"' } }), 'GET message immutable');
  check('message', await graphCall(g, t, `${A}/mailFolders/inbox/messages/${id}?$select=subject,body`), 'GET message in folder $select');
  check('message', await graphCall(g, t, `${A}/messages/${id}`, { method: 'PATCH', body: { isRead: true, categories: ['Red'] } }), 'PATCH message');
  const moved = await graphCall<{ id: string }>(g, t, `${A}/messages/${id}/move`, { method: 'POST', body: { destinationId: 'sentitems' } });
  check('message', moved, 'move message');
  check('noContent', await graphCall(g, t, `${A}/messages/${moved.body.id}`, { method: 'DELETE' }), 'DELETE message');
  check('noContent', await graphCall(g, t, `${A}/sendMail`, { method: 'POST', body: { message: { subject: 'S', toRecipients: [{ emailAddress: { address: 'bob@contoso.com' } }], attachments: [{ '@odata.type': '#microsoft.graph.fileAttachment', name: 'b.txt', contentType: 'text/plain', contentBytes: 'Yg==' }] }, saveToSentItems: true } }), 'sendMail');

  // Meeting messages (derived types): a request to bob, his acceptance to alice, a cancellation to bob.
  const aliceBox = g.store.getMailbox('alice@contoso.com')!;
  const bobBox = g.store.getMailbox('bob@contoso.com')!;
  const meeting = g.store.createItem('alice@contoso.com', { distinguished: 'calendar' }, { kind: 'calendarItem', subject: 'Planning', start: new Date('2025-07-01T09:00:00Z'), end: new Date('2025-07-01T10:00:00Z'), organizer: { name: 'Alice Anders', address: 'alice@contoso.com' }, requiredAttendees: [{ mailbox: { address: 'bob@contoso.com' } }] }) as CalendarItem;
  const bobInboxStart = await deltaRound(g, t, '/users/bob@contoso.com/mailFolders/inbox/messages/delta', { prefer: 'odata.maxpagesize=100' });
  const aliceInboxStart = await deltaRound(g, t, `${A}/mailFolders/inbox/messages/delta`, { prefer: 'odata.maxpagesize=100' });
  sendInvitations(g.store, aliceBox, meeting, 'sendAndSaveCopy', false);
  const request = g.store.folderItems(g.store.getFolder('bob@contoso.com', { distinguished: 'inbox' })).at(-1)!;
  respond(g.store, bobBox, referencedMeeting(g.store, bobBox, request), 'Accept', 'send');
  sendCancellations(g.store, aliceBox, g.store.getItem(meeting.id) as CalendarItem, 'send');
  const bobMeetings = await graphCall<{ value: Record<string, unknown>[] }>(g, t, bobInboxStart.deltaLink);
  check('messageDelta', bobMeetings, 'meeting request and cancellation delta');
  assert.deepEqual(bobMeetings.body.value.map((e) => e['@odata.type']).sort(), ['#microsoft.graph.eventMessage', '#microsoft.graph.eventMessageRequest']);
  const aliceMeetings = await graphCall<{ value: Record<string, unknown>[] }>(g, t, aliceInboxStart.deltaLink);
  check('messageDelta', aliceMeetings, 'meeting response delta');
  assert.equal(aliceMeetings.body.value.find((e) => e['@odata.type'] === '#microsoft.graph.eventMessageResponse')?.responseType, 'accepted');
  check('message', await graphCall(g, t, `/users/bob@contoso.com/messages/${String(bobMeetings.body.value[0]!.id)}`), 'GET meeting message');

  // Calendar: initial and a change round with an update and a removal.
  const window = 'startDateTime=2025-01-01T00:00:00Z&endDateTime=2025-12-31T00:00:00Z';
  const events = await graphCall<{ '@odata.deltaLink': string }>(g, t, `${A}/calendarView/delta?${window}`);
  check('eventDelta', events, 'calendarView delta');
  const calendar = g.store.getFolder('alice@contoso.com', { distinguished: 'calendar' });
  g.store.createItem('alice@contoso.com', calendar.id, { kind: 'calendarItem', subject: 'Review', start: new Date('2025-05-01T09:00:00Z'), end: new Date('2025-05-01T10:00:00Z'), isAllDayEvent: false, optionalAttendees: [{ mailbox: { address: 'carol@contoso.com' } }], location: 'Room 2', body: { type: 'HTML', content: '<b>agenda</b>' } });
  g.store.deleteItem(g.store.folderItems(calendar)[0]!.id, 'HardDelete');
  g.store.createItem('alice@contoso.com', calendar.id, { kind: 'calendarItem', subject: 'Series', start: new Date('2025-05-05T08:00:00Z'), end: new Date('2025-05-05T08:30:00Z'), recurrence: { pattern: { kind: 'Daily', interval: 1 }, range: { kind: 'Numbered', startDate: '2025-05-05', numberOfOccurrences: 3 } } });
  const calendarChanges = await graphCall<{ value: Record<string, unknown>[] }>(g, t, events.body['@odata.deltaLink']);
  check('eventDelta', calendarChanges, 'calendarView delta changes (with occurrences of a series)');
  assert.equal(calendarChanges.body.value.filter((e) => e.type === 'occurrence').length, 3);

  // Contacts and tasks.
  check('contactFolderCollection', await graphCall(g, t, `${A}/contactFolders`), 'contactFolders');
  check('calendarCollection', await graphCall(g, t, `${A}/calendars`), 'calendars');
  check('calendar', await graphCall(g, t, `${A}/calendar`), 'calendar');
  const contacts = await graphCall<{ '@odata.deltaLink': string }>(g, t, `${A}/contacts/delta`);
  check('contactDelta', contacts, 'contacts delta');
  g.store.deleteItem(g.store.folderItems(g.store.getFolder('alice@contoso.com', { distinguished: 'contacts' }))[0]!.id, 'SoftDelete');
  check('contactDelta', await graphCall(g, t, contacts.body['@odata.deltaLink']), 'contacts delta changes');
  const lists = await graphCall<{ value: { id: string }[] }>(g, t, `${A}/todo/lists`);
  check('todoTaskListCollection', lists, 'todo lists');
  const taskFolder = g.store.getFolder('alice@contoso.com', { distinguished: 'tasks' });
  g.store.createItem('alice@contoso.com', taskFolder.id, { kind: 'task', subject: 'Done task', status: 'Completed', completeDate: new Date('2025-03-02T00:00:00Z'), startDate: new Date('2025-03-01T00:00:00Z') });
  const tasks = await graphCall<{ '@odata.deltaLink': string }>(g, t, `${A}/todo/lists/${lists.body.value[0]!.id}/tasks/delta`);
  check('todoTaskDelta', tasks, 'tasks delta');
  g.store.updateItem(g.store.folderItems(taskFolder)[0]!.id, { status: 'Completed' });
  g.store.deleteItem(g.store.folderItems(taskFolder)[1]!.id, 'HardDelete');
  check('todoTaskDelta', await graphCall(g, t, tasks.body['@odata.deltaLink']), 'tasks delta changes');

  // Single events, contacts and tasks; attachments of a message and an event.
  const rest = (id: string): string => id.replace(/\//g, '-').replace(/\+/g, '_');
  const eventItem = g.store.folderItems(calendar).at(-1)!;
  check('event', await graphCall(g, t, `${A}/events/${rest(eventItem.id)}`, { headers: { prefer: 'outlook.timezone="UTC", outlook.body-content-type="text"' } }), 'GET event');
  const contactItem = g.store.createItem('alice@contoso.com', { distinguished: 'contacts' }, { kind: 'contact', givenName: 'Eve', surname: 'Example', emailAddresses: [{ key: 'EmailAddress1', address: 'eve@example.net' }], phoneNumbers: [{ key: 'MobilePhone', number: '+1 555 0199' }] });
  check('contact', await graphCall(g, t, `${A}/contacts/${rest(contactItem.id)}?$select=displayName,emailAddresses`), 'GET contact');
  const taskItem = g.store.folderItems(taskFolder)[0]!;
  check('todoTask', await graphCall(g, t, `${A}/todo/lists/${lists.body.value[0]!.id}/tasks/${rest(taskItem.id)}`), 'GET task');
  const withAttachment = g.store.createItem('alice@contoso.com', { distinguished: 'inbox' }, { kind: 'message', subject: 'Invoice', attachments: [{ name: 'invoice.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.4') }, { name: 'logo.png', contentType: 'image/png', content: Buffer.from([137, 80, 78, 71]), isInline: true, contentId: 'logo' }] });
  const attachments = await graphCall<{ value: { id: string }[] }>(g, t, `${A}/messages/${rest(withAttachment.id)}/attachments`);
  check('attachmentCollection', attachments, 'message attachments');
  check('attachmentCollection', await graphCall(g, t, `${A}/messages/${rest(withAttachment.id)}/attachments?$select=id,name,contentType,size,isInline`), 'message attachments $select');
  check('attachment', await graphCall(g, t, `${A}/messages/${rest(withAttachment.id)}/attachments/${attachments.body.value[0]!.id}`), 'message attachment');
  const eventWithAttachment = g.store.createItem('alice@contoso.com', { distinguished: 'calendar' }, { kind: 'calendarItem', subject: 'With agenda', start: new Date('2025-06-01T09:00:00Z'), end: new Date('2025-06-01T10:00:00Z'), attachments: [{ name: 'agenda.txt', contentType: 'text/plain', content: Buffer.from('1. budget') }] });
  check('attachmentCollection', await graphCall(g, t, `${A}/events/${rest(eventWithAttachment.id)}/attachments`), 'event attachments');

  // translateExchangeIds (delegated), with one bad id (errorDetails).
  const user = f.userToken('alice@contoso.com', 'User.ReadBasic.All Mail.ReadWrite');
  const ewsIds = g.store.folderItems(inbox).slice(0, 2).map((i) => i.id);
  for (const [source, target] of [['ewsId', 'restImmutableEntryId'], ['ewsId', 'entryId'], ['ewsId', 'immutableEntryId'], ['restId', 'ewsId']] as const) {
    const input = source === 'restId' ? ewsIds.map((x) => x.replace(/\//g, '-').replace(/\+/g, '_')) : ewsIds;
    check('convertIdResultCollection', await graphCall(g, user, `${A}/translateExchangeIds`, { method: 'POST', body: { inputIds: [...input, 'not-an-id'], sourceIdType: source, targetIdType: target } }), `translate ${source}->${target}`);
  }

  // $batch: the envelope, and each sub-response by what it answers.
  const batch = await graphCall<{ responses: { id: string; status: number; body?: unknown }[] }>(g, t, '/$batch', {
    method: 'POST',
    body: {
      requests: [
        { id: '1', method: 'GET', url: `${A}/mailFolders/inbox` },
        { id: '2', method: 'GET', url: `${A}/messages/does-not-exist` },
        { id: '3', method: 'GET', url: `${A}/mailFolders/inbox/messages/delta`, dependsOn: ['1'] },
        { id: '4', method: 'GET', url: `${A}/contacts/delta`, dependsOn: ['2'] },
        { id: '5', method: 'POST', url: `${A}/sendMail`, headers: { 'Content-Type': 'application/json' }, body: { message: { toRecipients: [{ emailAddress: { address: 'bob@contoso.com' } }] } }, dependsOn: ['1'] },
      ],
    },
  });
  assert.equal(batch.status, 200);
  check('batch', batch, 'batch');
  const sub = new Map(batch.body.responses.map((r) => [r.id, r]));
  assert.deepEqual([...sub.values()].map((r) => [r.id, r.status]), [['1', 200], ['2', 400], ['3', 200], ['4', 424], ['5', 202]]);
  check('mailFolder', sub.get('1')!, 'batch mailFolder');
  check('error', sub.get('2')!, 'batch error');
  check('messageDelta', sub.get('3')!, 'batch delta');
  check('error', sub.get('4')!, 'batch failed dependency');
  check('noContent', { status: 202, body: sub.get('5')!.body }, 'batch sendMail');

  // Errors of every status.
  const errors: [string, Promise<{ status: number; body: unknown }>][] = [
    ['401', graphCall(g, undefined, `${A}/mailFolders`)],
    ['401 expired', graphCall(g, f.appToken(undefined, { expiresInSeconds: -600 }), `${A}/mailFolders`)],
    ['403', graphCall(g, f.appToken(['Calendars.Read']), `${A}/mailFolders`)],
    ['404 user', graphCall(g, t, '/users/nobody@contoso.com/mailFolders')],
    ['404 item', graphCall(g, t, `${A}/messages/${ewsIds[0]!.replace(/\//g, '-').replace(/\+/g, '_').replace(/^AAM/, 'AAM')}x`)],
    ['410', graphCall(g, t, `${A}/mailFolders/inbox/messages/delta?$deltatoken=forged`)],
    ['400', graphCall(g, t, '/$batch', { method: 'POST', body: { requests: Array.from({ length: 21 }, (_, i) => ({ id: String(i), method: 'GET', url: A })) } })],
  ];
  for (const [label, call] of errors) {
    const response = await call;
    assert.ok(response.status >= 400, `${label}: ${response.status}`);
    check('error', response, label);
  }
  g.setRestEnabled('bob@contoso.com', false);
  check('error', await graphCall(g, t, '/users/bob@contoso.com/mailFolders'), '404 MailboxNotEnabledForRESTAPI');
  g.setRestEnabled('bob@contoso.com', true);
  g.faults.add({ kind: 'http429', count: 1 });
  check('error', await graphCall(g, t, `${A}/mailFolders`), '429');
  g.faults.add({ kind: 'http503', count: 1, retryAfterInSeconds: 2 });
  check('error', await graphCall(g, t, `${A}/mailFolders`), '503');
  g.faults.add({ kind: 'http504', count: 1 });
  check('error', await graphCall(g, t, `${A}/mailFolders`), '504');

  // Collections the write path reads (graph-writes.test.ts validates every write response too).
  check('eventCollection', await graphCall(g, t, `${A}/events?$select=id,changeKey`), 'list events');
  check('contactCollection', await graphCall(g, t, `${A}/contacts`), 'list contacts');
  check('todoTaskCollection', await graphCall(g, t, `${A}/todo/lists/${lists.body.value[0]!.id}/tasks?$expand=linkedResources`), 'list tasks');
  // Change notifications: the subscription entity, the list, and what is POSTed to the endpoint.
  const receiver = await startNotificationReceiver();
  try {
    const created = await graphCall(g, t, '/subscriptions', { method: 'POST', body: { changeType: 'created,updated,deleted', notificationUrl: `${receiver.url}/n`, lifecycleNotificationUrl: `${receiver.url}/l`, resource: "users/alice@contoso.com/mailFolders('inbox')/messages", expirationDateTime: new Date(Date.now() + 3600_000).toISOString(), clientState: 'schema-test' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    check('subscription', created, 'POST /subscriptions');
    check('subscription', await graphCall(g, t, `/subscriptions/${String(created.body.id)}`, { method: 'PATCH', body: { expirationDateTime: new Date(Date.now() + 7200_000).toISOString() } }), 'PATCH /subscriptions/{id}');
    check('subscriptionCollection', await graphCall(g, t, '/subscriptions'), 'GET /subscriptions');
    f.ews.store.deliverMail({ from: { address: 'x@example.net' }, toRecipients: [{ address: 'alice@contoso.com' }], subject: 'notify me' });
    await fetch(`${g.controlUrl}/subscriptions/${String(created.body.id)}/lifecycle`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ event: 'missed' }) });
    const deadline = Date.now() + 5_000;
    while (receiver.received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(receiver.received.length >= 2, 'a change and a lifecycle notification arrived');
    for (const posted of receiver.received) assert.deepEqual(schema.validate(posted.body, 'microsoft.graph.changeNotificationCollection'), [], `${posted.path}: ${JSON.stringify(posted.body)}`);
    check('noContent', await graphCall(g, t, `/subscriptions/${String(created.body.id)}`, { method: 'DELETE' }), 'DELETE /subscriptions/{id}');
  } finally {
    await receiver.close();
  }

  const missing = Object.keys(RESPONSE_KINDS).filter((kind) => !covered.has(kind as ResponseKind));
  assert.deepEqual(missing, [], 'every response kind was produced and validated');
  console.log(`validated ${[...covered.values()].reduce((a, b) => a + b, 0)} responses of ${covered.size} kinds: ${[...covered].map(([k, n]) => `${k}=${n}`).join(', ')}`);
});

test('the validator rejects what a Graph client would choke on', { skip: schemaDir ? false : 'Graph CSDL not found' }, () => {
  const bad = (value: unknown, type = 'microsoft.graph.message'): string[] => schema.validate(value, type).map((v) => `${v.path}: ${v.message}`);
  assert.deepEqual(bad({ id: 'x', subject: 'ok', isRead: true, receivedDateTime: '2025-03-01T08:00:00Z', importance: 'high' }), []);
  assert.match(bad({ subject: 5 })[0]!, /\$\.subject: expected Edm\.String/);
  assert.match(bad({ subjekt: 'x' })[0]!, /has no property subjekt/);
  assert.match(bad({ importance: 'urgent' })[0]!, /not a member of microsoft\.graph\.importance/);
  assert.match(bad({ receivedDateTime: '2025-03-01 08:00' })[0]!, /Edm\.DateTimeOffset/);
  assert.match(bad({ toRecipients: { emailAddress: { address: 'a@b' } } })[0]!, /expected an array/);
  assert.match(bad({ toRecipients: [{ emailAddress: { address: 7 } }] })[0]!, /toRecipients\[0\]\.emailAddress\.address/);
  assert.match(bad({ '@odata.type': '#microsoft.graph.event' })[0]!, /not microsoft\.graph\.message or derived/);
  assert.deepEqual(bad({ '@odata.type': '#microsoft.graph.eventMessage', meetingMessageType: 'meetingRequest' }), []);
  assert.match(bad({ status: null }, 'microsoft.graph.todoTask')[0]!, /not nullable/);
  assert.match(bad({ id: 'x', '@removed': { reason: 'deleted' } })[0]!, /@removed outside a delta/);
  assert.match(validateCollection(schema, { value: [], '@odata.nextLink': 'https://x/1', '@odata.deltaLink': 'https://x/2' }, 'microsoft.graph.message', true)[0]!.message, /exactly one/);
  assert.match(validateErrorBody({ error: { code: 'X', message: 'm' } })[0]!.path, /innerError/);
});

test('$select names: every selectable property is a CSDL property of its type, and an unknown one is a 400 naming it', { skip: schemaDir ? false : 'Graph CSDL not found' }, async () => {
  for (const [type, names] of Object.entries(SELECTABLE_PROPERTIES)) {
    const probe = Object.fromEntries(names.filter((n) => n !== 'id').map((n) => [n, null]));
    const wrong = schema.validate(probe, `microsoft.graph.${type}`).filter((v) => /has no property/.test(v.message));
    assert.deepEqual(wrong, [], type);
  }
  const response = await graphCall<{ error: { code: string; message: string } }>(f.graph, f.appToken(), '/users/alice@contoso.com/mailFolders/inbox/messages/delta?$select=subject,subjekt');
  assert.equal(response.status, 400);
  assert.match(response.body.error.message, /subjekt/);
  // The full message has exactly the selectable properties (the list cannot drift from the builder).
  const full = await graphCall<{ value: Record<string, unknown>[] }>(f.graph, f.appToken(), '/users/alice@contoso.com/mailFolders/inbox/messages/delta');
  const keys = Object.keys(full.body.value.find((e) => !e['@removed'])!).filter((k) => !k.startsWith('@'));
  assert.deepEqual(keys.sort(), [...SELECTABLE_PROPERTIES.message].sort());
});
