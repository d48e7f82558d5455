/**
 * Graph simulator writes as Exchange Online answers them: POST/PATCH/DELETE on events, contacts,
 * To Do tasks and messages; If-Match (412 ErrorIrresolvableConflict, nothing changed);
 * invitations in the attendees' mailboxes; a series with one changed and one deleted occurrence;
 * extended properties written over Graph and read over EWS's store and back ($filter, $expand).
 * Every response body validates against Graph's v1.0 CSDL (../shared/graph-schema).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RESPONSE_KINDS, type ResponseKind } from '../../dev/graph-simulator/api';
import { CsdlSchema, validateCollection, validateErrorBody } from '../../dev/graph-simulator/csdl';
import { graphSchemaDir } from '../../dev/project-paths';
import { graphCall, startGraphFixture, type GraphFixture } from './fixture';

const schemaDir = graphSchemaDir();
let f: GraphFixture;
let schema: CsdlSchema | undefined;
const A = '/users/alice@contoso.com';
const MARKER = 'String {00020329-0000-0000-C000-000000000046} Name ExchangeConnector.OperationId';

before(async () => {
  if (schemaDir) schema = CsdlSchema.load(join(schemaDir, 'v1.0.csdl'));
  f = await startGraphFixture();
});
after(async () => {
  await f?.close();
});

/** A call whose answer must have `status` and a body valid for `kind`. */
async function call(kind: ResponseKind, status: number, path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<any> {
  const response = await graphCall<any>(f.graph, f.appToken(), path, { ...init, headers: { prefer: 'IdType="ImmutableId", outlook.timezone="UTC"', ...init.headers } });
  assert.equal(response.status, status, `${init.method ?? 'GET'} ${path}: ${JSON.stringify(response.body).slice(0, 400)}`);
  if (schema) {
    const spec = RESPONSE_KINDS[kind];
    const found =
      spec.shape === 'entity' ? schema.validate(response.body, `microsoft.graph.${spec.type}`) : spec.shape === 'collection' ? validateCollection(schema, response.body, `microsoft.graph.${spec.type}`, false) : spec.shape === 'error' ? validateErrorBody(response.body) : [];
    assert.deepEqual(found, [], `${kind}: ${JSON.stringify(found.slice(0, 5))}`);
  }
  return response.body;
}

function inboxSubjects(mailbox: string): { itemClass: string; subject: string }[] {
  return f.graph.store.folderItems(f.graph.store.getFolder(mailbox, { distinguished: 'inbox' })).map((i) => ({ itemClass: i.itemClass, subject: i.subject }));
}

describe('Graph simulator writes', () => {
  it('creates a meeting: 201, invitations in the attendees\' inboxes, the marker findable by $filter and shown by $expand', async () => {
    const created = await call('event', 201, `${A}/events`, {
      method: 'POST',
      body: {
        subject: 'Site visit',
        start: { dateTime: '2026-12-10T09:00:00', timeZone: 'UTC' },
        end: { dateTime: '2026-12-10T10:00:00', timeZone: 'UTC' },
        location: { displayName: 'Plant 2' },
        attendees: [{ type: 'required', emailAddress: { address: 'bob@contoso.com' } }, { type: 'optional', emailAddress: { address: 'carol@contoso.com' } }],
        singleValueExtendedProperties: [{ id: MARKER, value: "op-1'<x>" }],
      },
    });
    assert.match(created['@odata.etag'], /^W\/"/);
    assert.equal(created['@odata.etag'], `W/"${created.changeKey}"`);
    for (const attendee of ['bob@contoso.com', 'carol@contoso.com']) assert.ok(inboxSubjects(attendee).some((m) => m.itemClass === 'IPM.Schedule.Meeting.Request' && m.subject === 'Site visit'), attendee);
    const filter = encodeURIComponent(`singleValueExtendedProperties/Any(ep: ep/id eq '${MARKER}' and ep/value eq 'op-1''<x>')`);
    const found = await call('eventCollection', 200, `${A}/events?$filter=${filter}&$select=id,changeKey`);
    assert.deepEqual(found.value.map((e: { id: string }) => e.id), [created.id]);
    const none = await call('eventCollection', 200, `${A}/events?$filter=${encodeURIComponent(`singleValueExtendedProperties/Any(ep: ep/id eq '${MARKER}' and ep/value eq 'op-2')`)}`);
    assert.equal(none.value.length, 0);
    const expanded = await call('event', 200, `${A}/events/${created.id}?$expand=${encodeURIComponent(`singleValueExtendedProperties($filter=id eq '${MARKER}')`)}`);
    assert.deepEqual(expanded.singleValueExtendedProperties.map((p: { value: string }) => p.value), ["op-1'<x>"]);
    // The same MAPI property EWS writes: the store holds it under the PublicStrings key.
    const stored = [...f.graph.store.folderItems(f.graph.store.getFolder('alice@contoso.com', { distinguished: 'calendar' }))].find((i) => i.subject === 'Site visit')!;
    assert.equal(stored.extendedProperties?.[0]?.key, '00020329-0000-0000-c000-000000000046|name:ExchangeConnector.OperationId');

    // If-Match: the current ETag works; after an "Outlook" edit, the old one is 412 and nothing changes.
    const updated = await call('event', 200, `${A}/events/${created.id}`, { method: 'PATCH', headers: { 'if-match': created['@odata.etag'] }, body: { location: { displayName: 'Plant 3' } } });
    assert.equal(updated.location.displayName, 'Plant 3');
    assert.notEqual(updated['@odata.etag'], created['@odata.etag']);
    f.graph.store.updateItem(stored.id, { subject: 'Site visit (moved by Alice)' });
    const stale = await call('error', 412, `${A}/events/${created.id}`, { method: 'PATCH', headers: { 'if-match': updated['@odata.etag'] }, body: { location: { displayName: 'Plant 4' } } });
    assert.equal(stale.error.code, 'ErrorIrresolvableConflict');
    assert.equal((f.graph.store.getItem(stored.id) as { location: string }).location, 'Plant 3');
    await call('error', 412, `${A}/events/${created.id}`, { method: 'DELETE', headers: { 'if-match': updated['@odata.etag'] } });
    const current = await call('event', 200, `${A}/events/${created.id}`);
    await call('noContent', 204, `${A}/events/${created.id}`, { method: 'DELETE', headers: { 'if-match': current['@odata.etag'] } });
    assert.ok(inboxSubjects('bob@contoso.com').some((m) => m.itemClass === 'IPM.Schedule.Meeting.Canceled'), JSON.stringify(inboxSubjects('bob@contoso.com')));
    await call('error', 404, `${A}/events/${created.id}`, { method: 'PATCH', body: { subject: 'x' } });
  });

  it('a series: instances in a window, one occurrence changed (an exception) and one deleted, each with If-Match', async () => {
    const series = await call('event', 201, `${A}/events`, {
      method: 'POST',
      body: { subject: 'Stand-up', start: { dateTime: '2026-12-07T08:00:00', timeZone: 'UTC' }, end: { dateTime: '2026-12-07T08:15:00', timeZone: 'UTC' }, recurrence: { pattern: { type: 'daily', interval: 1 }, range: { type: 'numbered', startDate: '2026-12-07', numberOfOccurrences: 5 } } },
    });
    assert.equal(series.type, 'seriesMaster');
    const window = 'startDateTime=2026-12-01T00:00:00Z&endDateTime=2027-01-01T00:00:00Z';
    const instances = await call('eventCollection', 200, `${A}/events/${series.id}/instances?${window}`);
    assert.equal(instances.value.length, 5);
    const second = instances.value[1];
    const changed = await call('event', 200, `${A}/events/${second.id}`, { method: 'PATCH', headers: { 'if-match': second['@odata.etag'] }, body: { subject: 'Stand-up (long)', end: { dateTime: '2026-12-08T09:00:00', timeZone: 'UTC' } } });
    assert.equal(changed.type, 'exception');
    assert.equal(changed.subject, 'Stand-up (long)');
    // The exception changed the series: every occurrence's ETag moved with it (as the master's ChangeKey does in Exchange).
    await call('error', 412, `${A}/events/${instances.value[2].id}`, { method: 'DELETE', headers: { 'if-match': instances.value[2]['@odata.etag'] } });
    const now = await call('eventCollection', 200, `${A}/events/${series.id}/instances?${window}`);
    await call('noContent', 204, `${A}/events/${now.value[2].id}`, { method: 'DELETE', headers: { 'if-match': now.value[2]['@odata.etag'] } });
    const after = await call('eventCollection', 200, `${A}/events/${series.id}/instances?${window}`);
    assert.deepEqual(after.value.map((e: { type: string; subject: string }) => `${e.type}:${e.subject}`), ['occurrence:Stand-up', 'exception:Stand-up (long)', 'occurrence:Stand-up', 'occurrence:Stand-up']);
  });

  it('contacts, To Do tasks (linkedResources) and messages (flag, read, categories) with If-Match', async () => {
    const contact = await call('contact', 201, `${A}/contacts`, { method: 'POST', body: { givenName: 'Eve', surname: 'Example', emailAddresses: [{ address: 'eve@example.net' }], businessPhones: ['+1 555 0100'], singleValueExtendedProperties: [{ id: MARKER, value: 'op-c' }] } });
    assert.equal(contact.displayName, 'Eve Example');
    const contacts = await call('contactCollection', 200, `${A}/contacts?$filter=${encodeURIComponent(`singleValueExtendedProperties/Any(ep: ep/id eq '${MARKER}' and ep/value eq 'op-c')`)}`);
    assert.deepEqual(contacts.value.map((c: { id: string }) => c.id), [contact.id]);
    const renamed = await call('contact', 200, `${A}/contacts/${contact.id}`, { method: 'PATCH', headers: { 'if-match': contact['@odata.etag'] }, body: { jobTitle: 'Buyer' } });
    await call('error', 412, `${A}/contacts/${contact.id}`, { method: 'PATCH', headers: { 'if-match': contact['@odata.etag'] }, body: { jobTitle: 'CEO' } });
    await call('noContent', 204, `${A}/contacts/${contact.id}`, { method: 'DELETE', headers: { 'if-match': renamed['@odata.etag'] } });

    const lists = await call('todoTaskListCollection', 200, `${A}/todo/lists`);
    const list = lists.value.find((l: { wellknownListName: string }) => l.wellknownListName === 'defaultList').id;
    const task = await call('todoTask', 201, `${A}/todo/lists/${list}/tasks`, { method: 'POST', body: { title: 'Call back', status: 'inProgress', dueDateTime: { dateTime: '2026-12-12T00:00:00', timeZone: 'UTC' }, linkedResources: [{ applicationName: 'ExchangeConnector', displayName: 'ExchangeConnector.OperationId', externalId: 'op-t' }] } });
    const tasks = await call('todoTaskCollection', 200, `${A}/todo/lists/${list}/tasks?$expand=linkedResources`);
    const mine = tasks.value.find((t: { id: string }) => t.id === task.id);
    assert.equal(mine.linkedResources[0].externalId, 'op-t');
    const done = await call('todoTask', 200, `${A}/todo/lists/${list}/tasks/${task.id}`, { method: 'PATCH', headers: { 'if-match': task['@odata.etag'] }, body: { status: 'completed' } });
    assert.equal(done.status, 'completed');
    await call('error', 412, `${A}/todo/lists/${list}/tasks/${task.id}`, { method: 'DELETE', headers: { 'if-match': task['@odata.etag'] } });

    const message = f.graph.store.createItem('alice@contoso.com', { distinguished: 'inbox' }, { kind: 'message', subject: 'Order 7', isRead: false });
    const id = (await call('message', 200, `${A}/messages/${message.id.replace(/\//g, '-').replace(/\+/g, '_')}`)).id;
    const flagged = await call('message', 200, `${A}/messages/${id}`, { method: 'PATCH', body: { flag: { flagStatus: 'flagged' }, isRead: true, categories: ['CRM'] } });
    assert.deepEqual([flagged.flag.flagStatus, flagged.isRead, flagged.categories], ['flagged', true, ['CRM']]);
    await call('error', 412, `${A}/messages/${id}`, { method: 'PATCH', headers: { 'if-match': 'W/"CQAAABYAAAAstale"' }, body: { isRead: false } });
    await call('error', 400, `${A}/messages/${id}`, { method: 'PATCH', body: { subject: 'rewritten' } });
  });

  it('as an attacker: another organisation\'s mailbox does not exist; a hostile $filter is a 400, not a match-all', async () => {
    await call('error', 404, '/users/frank@fabrikam.com/events', { method: 'POST', body: { subject: 'x', start: { dateTime: '2026-12-10T09:00:00', timeZone: 'UTC' }, end: { dateTime: '2026-12-10T10:00:00', timeZone: 'UTC' } } });
    const hostile = encodeURIComponent(`singleValueExtendedProperties/Any(ep: ep/id eq '${MARKER}' and ep/value eq 'x') or true`);
    await call('error', 400, `${A}/events?$filter=${hostile}`);
  });
});
