/**
 * Write-back end to end over Microsoft Graph, through the local Functions host and the Graph
 * simulator (the same mailbox store as the EWS simulator): an appointment with attendees
 * (invitations arrive), updates with the right ETag and a stale one after an "Outlook" edit,
 * deletion (cancellations), a recurring series with one changed occurrence, a contact and a To Do
 * task round trip, mail operations, an item created over EWS found over Graph by its marker, a
 * SIGKILL idempotency and attackers are in graph-write-idempotency.test.ts. The sync stream (Graph delta)
 * shows each step with the right origin.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TableClient } from '@azure/data-tables';
import { decodeImmutableId, fromRestId } from '../../dev/graph-simulator/ids';
import { ALICE, BOB, CAROL, startWriteWorld } from './write-fixture';
import type { WriteWorld } from './write-fixture';

let world: WriteWorld;

before(async () => {
  world = await startWriteWorld({ protocol: 'graph' });
});

after(async () => {
  await world?.close();
});

/** The store's (EWS) id of an item Graph named with an immutable or REST id. */
function storeId(graphId: string): string {
  return decodeImmutableId(graphId)?.originId ?? fromRestId(graphId);
}

/**
 * Graph's delta does not say created or updated: the sync calls an item created within seconds of
 * the round's start "created" (shared/sync/graph-mailbox-source.ts). Items here are minutes old in
 * real life; the store's creation time is set back an hour so later rounds classify as they would.
 */
function backdate(graphId: string): void {
  const item = world.stack.ews!.store.getItem(storeId(graphId));
  assert.ok(item, graphId);
  item.dateTimeCreated = new Date(Date.now() - 3_600_000);
}

function ofItem<T extends { itemId: string }>(records: readonly T[], itemId: string): T[] {
  return records.filter((record) => record.itemId === itemId);
}

async function inbox(mailbox: string): Promise<any[]> {
  const folder = await world.control('GET', `/mailboxes/${mailbox}/folders/inbox`);
  return folder.items ?? folder;
}

describe('Graph write-back of an appointment', () => {
  let itemId: string;
  let version: string;

  it('creates a meeting with attendees: Graph sends the invitations; sync (Graph delta) shows the creation as the connector\'s', async () => {
    await world.sync(); // the initial pass, so the next one shows only what follows
    const accepted = await world.submit({
      idempotencyKey: 'g-appt-1-create',
      operation: 'create',
      itemType: 'calendarItem',
      externalId: 'g-appt-1',
      sendInvitations: 'toAll',
      fields: { subject: 'Site visit', start: '2026-12-10T09:00:00Z', end: '2026-12-10T10:00:00Z', location: 'Plant 2', requiredAttendees: [BOB], optionalAttendees: [CAROL] },
    });
    const done = await world.waitFor(accepted.operationId);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    itemId = done.itemId;
    version = done.version;
    assert.ok(decodeImmutableId(itemId), `an immutable Graph id: ${itemId}`);
    for (const attendee of [BOB, CAROL]) assert.ok((await inbox(attendee)).some((item) => item.itemClass === 'IPM.Schedule.Meeting.Request' && item.subject === 'Site visit'), attendee);
    assert.equal(world.results().find((result) => result.operationId === accepted.operationId)?.itemId, itemId);
    const records = ofItem(await world.sync(), itemId);
    assert.deepEqual(records.map((r) => [r.changeType, r.origin, r.operationId, r.source]), [['created', 'connector', accepted.operationId, 'graph']]);
    backdate(itemId);
  });

  it('refuses "no invitations" for a meeting (Graph always sends them): failed, nothing created', async () => {
    const done = await world.waitFor((await world.submit({ idempotencyKey: 'g-appt-silent', operation: 'create', itemType: 'calendarItem', sendInvitations: 'none', fields: { subject: 'Silent meeting', start: '2026-12-11T09:00:00Z', end: '2026-12-11T10:00:00Z', requiredAttendees: [BOB] } })).operationId);
    assert.equal(done.status, 'failed');
    assert.equal(done.error.code, 'InvitationsNotSuppressible');
    assert.ok(!(await inbox(BOB)).some((item) => item.subject === 'Silent meeting'));
    const silentUpdate = await world.waitFor((await world.submit({ idempotencyKey: 'g-appt-1-silent', operation: 'update', itemType: 'calendarItem', item: { itemId }, expectedVersion: version, sendInvitations: 'none', fields: { subject: 'Quietly renamed' } })).operationId);
    assert.equal(silentUpdate.error?.code, 'InvitationsNotSuppressible', JSON.stringify(silentUpdate));
    assert.equal((await world.control('GET', `/items/${encodeURIComponent(storeId(itemId))}`)).subject, 'Site visit', 'nothing was written');
  });

  it('updates it by external id with the right ETag; sync shows the update as the connector\'s', async () => {
    const accepted = await world.submit({ idempotencyKey: 'g-appt-1-u1', operation: 'update', itemType: 'calendarItem', item: { externalId: 'g-appt-1' }, expectedVersion: version, fields: { location: 'Plant 3' }, sendInvitations: 'toAll' });
    const done = await world.waitFor(accepted.operationId);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(done.itemId, itemId);
    assert.notEqual(done.version, version);
    version = done.version;
    assert.equal((await world.control('GET', `/items/${encodeURIComponent(storeId(itemId))}`)).location, 'Plant 3');
    const records = ofItem(await world.sync(), itemId);
    assert.deepEqual(records.map((r) => [r.changeType, r.origin, r.operationId]), [['updated', 'connector', accepted.operationId]]);
  });

  it('does not force an update over an "Outlook" edit: 412 from Graph becomes conflict with the current item; sync shows the user\'s edit without origin', async () => {
    await world.control('PATCH', `/items/${encodeURIComponent(storeId(itemId))}`, { subject: 'Site visit (moved by Alice)' });
    const accepted = await world.submit({ idempotencyKey: 'g-appt-1-u2', operation: 'update', itemType: 'calendarItem', item: { itemId }, expectedVersion: version, fields: { subject: 'Site visit (CRM)' }, sendInvitations: 'toAll' });
    const done = await world.waitFor(accepted.operationId);
    assert.equal(done.status, 'conflict', JSON.stringify(done));
    assert.equal(done.currentItem?.subject, 'Site visit (moved by Alice)');
    assert.notEqual(done.version, version);
    assert.equal((await world.control('GET', `/items/${encodeURIComponent(storeId(itemId))}`)).subject, 'Site visit (moved by Alice)', 'nothing was overwritten');
    const records = ofItem(await world.sync(), itemId);
    assert.deepEqual(records.map((r) => [r.changeType, r.origin ?? 'exchange']), [['updated', 'exchange']]);
    version = done.version;
  });

  it('deletes it with the current ETag (a stale one deletes nothing); attendees get the cancellation; sync shows the deletion as the connector\'s', async () => {
    const stale = await world.waitFor((await world.submit({ idempotencyKey: 'g-appt-1-d0', operation: 'delete', itemType: 'calendarItem', item: { itemId }, expectedVersion: 'CQAAABYAAAAstale', sendInvitations: 'toAll' })).operationId);
    assert.equal(stale.status, 'conflict', JSON.stringify(stale));
    const accepted = await world.submit({ idempotencyKey: 'g-appt-1-d1', operation: 'delete', itemType: 'calendarItem', item: { externalId: 'g-appt-1' }, expectedVersion: version, sendInvitations: 'toAll' });
    const done = await world.waitFor(accepted.operationId);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.ok((await inbox(BOB)).some((item) => item.itemClass === 'IPM.Schedule.Meeting.Canceled'), 'Bob got the cancellation');
    const records = ofItem(await world.sync(), itemId);
    assert.deepEqual(records.map((r) => [r.changeType, r.origin, r.operationId]), [['deleted', 'connector', accepted.operationId]]);
  });
});

describe('Graph write-back of other kinds', () => {
  it('a recurring series with one changed occurrence (PATCH of the instance); sync shows the occurrences as the connector\'s', async () => {
    const created = await world.waitFor((await world.submit({
      idempotencyKey: 'g-series-1',
      operation: 'create',
      itemType: 'calendarItem',
      externalId: 'g-series-1',
      fields: { subject: 'Stand-up', start: '2026-12-14T08:00:00Z', end: '2026-12-14T08:15:00Z', recurrence: { pattern: 'daily', interval: 1, numberOfOccurrences: 5 } },
    })).operationId);
    assert.equal(created.status, 'succeeded', JSON.stringify(created));
    let records = await world.sync();
    backdate(created.itemId);
    const occurrences = records.filter((r) => (r.item as any)?.subject?.startsWith('Stand-up'));
    assert.equal(occurrences.length, 5, JSON.stringify(records.map((r) => [r.changeType, (r.item as any)?.subject])));
    assert.ok(occurrences.every((r) => r.origin === 'connector' && r.operationId === created.operationId), JSON.stringify(occurrences.map((r) => [r.changeType, r.origin])));

    const changed = await world.waitFor((await world.submit({
      idempotencyKey: 'g-series-1-occ3',
      operation: 'update',
      itemType: 'calendarItem',
      item: { externalId: 'g-series-1', occurrenceIndex: 3 },
      expectedVersion: created.version,
      fields: { subject: 'Stand-up (with customer)', start: '2026-12-16T09:00:00Z', end: '2026-12-16T09:30:00Z' },
    })).operationId);
    assert.equal(changed.status, 'succeeded', JSON.stringify(changed));
    assert.equal(changed.itemId, created.itemId, 'the result names the series');
    assert.match(JSON.stringify(await world.control('GET', `/items/${encodeURIComponent(storeId(created.itemId))}`)), /Stand-up \(with customer\)/);
    records = (await world.sync()).filter((r) => (r.item as any)?.subject?.startsWith('Stand-up'));
    const exception = records.find((r) => (r.item as any)?.subject === 'Stand-up (with customer)');
    assert.ok(exception, JSON.stringify(records.map((r) => (r.item as any)?.subject)));
    assert.equal((exception!.item as any).start, '2026-12-16T09:00:00.000Z');
    assert.ok(records.every((r) => r.origin === 'connector' && r.operationId === changed.operationId), JSON.stringify(records.map((r) => [r.changeType, r.origin, (r.item as any)?.subject])));

    // A stale series version changes no occurrence.
    const stale = await world.waitFor((await world.submit({ idempotencyKey: 'g-series-1-occ4', operation: 'update', itemType: 'calendarItem', item: { externalId: 'g-series-1', occurrenceIndex: 4 }, expectedVersion: created.version, fields: { subject: 'Stand-up (stale)' } })).operationId);
    assert.equal(stale.status, 'conflict', JSON.stringify(stale));
    assert.doesNotMatch(JSON.stringify(await world.control('GET', `/items/${encodeURIComponent(storeId(created.itemId))}`)), /stale/);
  });

  it('a contact round trip: create, Outlook edit comes back without origin, update with its version; a lost Table mapping is found by the marker ($filter)', async () => {
    const created = await world.waitFor((await world.submit({ idempotencyKey: 'g-contact-7', operation: 'create', itemType: 'contact', externalId: "g-contact-7'x", fields: { givenName: 'Grace', surname: 'Hopper', companyName: 'Navy', emailAddresses: ['grace@example.org'] } })).operationId);
    assert.equal(created.status, 'succeeded', JSON.stringify(created));
    let records = ofItem(await world.sync(), created.itemId);
    assert.deepEqual(records.map((r) => [r.changeType, r.origin]), [['created', 'connector']]);
    assert.equal((records[0]!.item as any).companyName, 'Navy');
    backdate(created.itemId);
    await world.control('PATCH', `/items/${encodeURIComponent(storeId(created.itemId))}`, { jobTitle: 'Rear Admiral' });
    records = ofItem(await world.sync(), created.itemId);
    assert.deepEqual(records.map((r) => [r.changeType, r.origin ?? 'exchange']), [['updated', 'exchange']]);
    const updated = await world.waitFor((await world.submit({ idempotencyKey: 'g-contact-7-u', operation: 'update', itemType: 'contact', item: { externalId: "g-contact-7'x" }, expectedVersion: records[0]!.changeKey, fields: { companyName: 'US Navy' } })).operationId);
    assert.equal(updated.status, 'succeeded', JSON.stringify(updated));
    const item = await world.control('GET', `/items/${encodeURIComponent(storeId(created.itemId))}`);
    assert.deepEqual([item.companyName, item.jobTitle], ['US Navy', 'Rear Admiral'], 'the Outlook edit is kept');

    const table = TableClient.fromConnectionString(world.stack.azurite.connectionString, 'writeoperations', { allowInsecureConnection: true });
    for await (const row of table.listEntities()) if (String(row.rowKey).startsWith('ext|contact|')) await table.deleteEntity(String(row.partitionKey), String(row.rowKey));
    const again = await world.waitFor((await world.submit({ idempotencyKey: 'g-contact-7-u2', operation: 'update', itemType: 'contact', item: { externalId: "g-contact-7'x" }, expectedVersion: updated.version, fields: { jobTitle: 'Admiral' } })).operationId);
    assert.equal(again.status, 'succeeded', JSON.stringify(again));
    assert.equal(again.itemId, created.itemId);
  });

  it('an item the connector created over EWS (marker as a PublicStrings property) is found over Graph after the group moved to Graph', async () => {
    const store = world.stack.ews!.store;
    const legacy = store.createItem(ALICE, { distinguished: 'contacts' }, {
      kind: 'contact',
      displayName: 'Legacy Contact',
      // Exactly what the EWS writer stores: ExtendedFieldURI DistinguishedPropertySetId=PublicStrings PropertyName=ExchangeConnector.ExternalId.
      extendedProperties: [{ key: '00020329-0000-0000-c000-000000000046|name:ExchangeConnector.ExternalId', type: 'String', pathXml: '<t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="ExchangeConnector.ExternalId" PropertyType="String"/>', value: 'crm-legacy-1' }],
    });
    const version = (await world.sync()).find((r) => (r.item as any)?.displayName === 'Legacy Contact')!.changeKey!;
    legacy.dateTimeCreated = new Date(Date.now() - 3_600_000);
    const done = await world.waitFor((await world.submit({ idempotencyKey: 'g-legacy-u', operation: 'update', itemType: 'contact', item: { externalId: 'crm-legacy-1' }, expectedVersion: version, fields: { companyName: 'Migrated Inc' } })).operationId);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(storeId(done.itemId), legacy.id);
    assert.equal((await world.control('GET', `/items/${encodeURIComponent(legacy.id)}`)).companyName, 'Migrated Inc');
  });

  it('a To Do task round trip, and the group flag drops the connector\'s echoes entirely', async () => {
    const settings = await world.api('PUT', `/api/admin/tenants/${world.tenantId}/groups/${world.groupId}/write-back`, { dropConnectorEchoes: true });
    assert.equal(settings.status, 200, settings.text);
    const created = await world.waitFor((await world.submit({ idempotencyKey: 'g-task-3', operation: 'create', itemType: 'task', externalId: 'g-task-3', fields: { subject: 'Call back', dueDate: '2026-12-20T00:00:00Z' } })).operationId);
    assert.equal(created.status, 'succeeded', JSON.stringify(created));
    assert.match(created.version, /^W\/"/, 'a To Do task\'s version is its ETag');
    assert.deepEqual(ofItem(await world.sync(), created.itemId), [], 'our own creation is dropped');
    backdate(created.itemId);
    await world.control('PATCH', `/items/${encodeURIComponent(storeId(created.itemId))}`, { status: 'Completed', percentComplete: 100 });
    const records = ofItem(await world.sync(), created.itemId);
    assert.deepEqual(records.map((r) => [r.changeType, r.origin ?? 'exchange']), [['updated', 'exchange']], 'the user\'s completion comes through');
    await world.api('PUT', `/api/admin/tenants/${world.tenantId}/groups/${world.groupId}/write-back`, { dropConnectorEchoes: false });
    const renamed = await world.waitFor((await world.submit({ idempotencyKey: 'g-task-3-u', operation: 'update', itemType: 'task', item: { externalId: 'g-task-3' }, expectedVersion: records[0]!.changeKey, fields: { subject: 'Called back' } })).operationId);
    assert.equal(renamed.status, 'succeeded', JSON.stringify(renamed));
    assert.deepEqual(ofItem(await world.sync(), created.itemId).map((r) => [r.changeType, r.origin]), [['updated', 'connector']]);
    const removed = await world.waitFor((await world.submit({ idempotencyKey: 'g-task-3-d', operation: 'delete', itemType: 'task', item: { externalId: 'g-task-3' }, expectedVersion: renamed.version })).operationId);
    assert.equal(removed.status, 'succeeded', JSON.stringify(removed));
  });

  it('mail operations: read state, categories, flag and move', async () => {
    const delivered = await world.control('POST', `/mailboxes/${ALICE}/items`, { folder: 'inbox', item: { kind: 'message', subject: 'Order 4711', isRead: false } });
    const graphId = delivered.id.replace(/\//g, '-').replace(/\+/g, '_');
    for (const [key, body] of [['g-mail-read', { operation: 'setReadState', isRead: true }], ['g-mail-cat', { operation: 'setCategories', categories: ['CRM', 'Order'] }], ['g-mail-flag', { operation: 'setFlag', flag: 'flagged' }]] as const) {
      const done = await world.waitFor((await world.submit({ idempotencyKey: key, item: { itemId: graphId }, ...body })).operationId);
      assert.equal(done.status, 'succeeded', `${key}: ${JSON.stringify(done)}`);
    }
    const item = await world.control('GET', `/items/${encodeURIComponent(delivered.id)}`);
    assert.equal(item.isRead, true);
    assert.deepEqual(item.categories, ['CRM', 'Order']);
    assert.match(JSON.stringify((item.extendedProperties ?? []).find((p: any) => /0x1090/i.test(JSON.stringify(p)))), /"2"/, 'PR_FLAG_STATUS flagged, as EWS sets it');
    const moved = await world.waitFor((await world.submit({ idempotencyKey: 'g-mail-move', operation: 'move', item: { itemId: graphId }, destinationFolder: 'archive', expectedVersion: 'CQAAABYAAAAstale' })).operationId);
    assert.equal(moved.status, 'conflict', 'a stale version moves nothing');
    const moved2 = await world.waitFor((await world.submit({ idempotencyKey: 'g-mail-move2', operation: 'move', item: { itemId: graphId }, destinationFolder: 'deleteditems' })).operationId);
    assert.equal(moved2.status, 'succeeded', JSON.stringify(moved2));
  });
});
