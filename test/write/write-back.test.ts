/**
 * Write-back end to end through the local Functions host and the EWS simulator: the business
 * application's appointment (with invitations), updates with the right and a stale version after
 * an "Outlook" edit, deletion, a recurring series with one changed occurrence, a contact and a
 * task round trip, idempotency keys, echo suppression in the sync stream, and attackers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TableClient } from '@azure/data-tables';
import { ALL_ADMIN_ROUTES } from '../../shared/admin/all-admin-routes';
import { buildOpenApiDocument } from '../../shared/admin/openapi';
import { ALICE, BOB, CAROL, MALLORY, startWriteWorld } from './write-fixture';
import type { WriteWorld } from './write-fixture';

let world: WriteWorld;

before(async () => {
  world = await startWriteWorld();
});

after(async () => {
  await world?.close();
});

function ofItem<T extends { itemId: string }>(records: readonly T[], itemId: string): T[] {
  return records.filter((record) => record.itemId === itemId);
}

describe('write-back of an appointment', () => {
  let itemId: string;
  let version: string;

  it('creates a meeting with attendees: invitations arrive in their inboxes; sync shows the creation as the connector\'s', async () => {
    await world.sync(); // the initial pass, so the next one shows only what follows
    const accepted = await world.submit({
      idempotencyKey: 'crm-appt-1-create',
      operation: 'create',
      itemType: 'calendarItem',
      externalId: 'crm-appt-1',
      sendInvitations: 'toAll',
      fields: { subject: 'Site visit', start: '2026-12-10T09:00:00Z', end: '2026-12-10T10:00:00Z', location: 'Plant 2', requiredAttendees: [BOB], optionalAttendees: [CAROL] },
    });
    assert.equal(accepted.status, 'queued');
    const done = await world.waitFor(accepted.operationId);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(done.externalId, 'crm-appt-1');
    itemId = done.itemId;
    version = done.version;
    assert.ok(itemId && version);

    for (const attendee of [BOB, CAROL]) {
      const inbox = await world.control('GET', `/mailboxes/${attendee}/folders/inbox`);
      const items: any[] = inbox.items ?? inbox;
      assert.ok(items.some((item) => item.itemClass === 'IPM.Schedule.Meeting.Request' && item.subject === 'Site visit'), `${attendee}: ${JSON.stringify(items).slice(0, 500)}`);
    }
    const event = world.results().find((result) => result.operationId === accepted.operationId);
    assert.equal(event?.status, 'succeeded');
    assert.equal(event?.itemId, itemId);

    const records = ofItem(await world.sync(), itemId);
    assert.deepEqual(records.map((r) => [r.changeType, r.origin, r.operationId]), [['created', 'connector', accepted.operationId]]);
  });

  it('updates it by external id with the right version; sync shows the update as the connector\'s', async () => {
    const accepted = await world.submit({ idempotencyKey: 'crm-appt-1-u1', operation: 'update', itemType: 'calendarItem', item: { externalId: 'crm-appt-1' }, expectedVersion: version, fields: { location: 'Plant 3' }, sendInvitations: 'toAll' });
    const done = await world.waitFor(accepted.operationId);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(done.itemId, itemId);
    assert.notEqual(done.version, version);
    version = done.version;
    const item = await world.control('GET', `/items/${encodeURIComponent(itemId)}`);
    assert.equal(item.location, 'Plant 3');
    const records = ofItem(await world.sync(), itemId);
    assert.deepEqual(records.map((r) => [r.changeType, r.origin, r.operationId]), [['updated', 'connector', accepted.operationId]]);
  });

  it('does not force an update over an "Outlook" edit: the result is conflict with the current item; sync shows the user\'s edit without origin', async () => {
    await world.control('PATCH', `/items/${encodeURIComponent(itemId)}`, { subject: 'Site visit (moved by Alice)' });
    const accepted = await world.submit({ idempotencyKey: 'crm-appt-1-u2', operation: 'update', itemType: 'calendarItem', item: { itemId }, expectedVersion: version, fields: { subject: 'Site visit (CRM)' } });
    const done = await world.waitFor(accepted.operationId);
    assert.equal(done.status, 'conflict', JSON.stringify(done));
    assert.equal(done.currentItem?.subject, 'Site visit (moved by Alice)');
    assert.notEqual(done.version, version);
    const item = await world.control('GET', `/items/${encodeURIComponent(itemId)}`);
    assert.equal(item.subject, 'Site visit (moved by Alice)', 'nothing was overwritten');
    assert.equal(world.results().find((r) => r.operationId === accepted.operationId)?.status, 'conflict');
    const records = ofItem(await world.sync(), itemId);
    assert.deepEqual(records.map((r) => [r.changeType, r.origin ?? 'exchange']), [['updated', 'exchange']]);
    version = done.version;
  });

  it('deletes it with the current version, cancelling for the attendees; sync shows the deletion as the connector\'s', async () => {
    const stale = await world.submit({ idempotencyKey: 'crm-appt-1-d0', operation: 'delete', itemType: 'calendarItem', item: { itemId }, expectedVersion: 'CQAAABYAAAAstale', sendInvitations: 'toAll' });
    assert.equal((await world.waitFor(stale.operationId)).status, 'conflict');
    const accepted = await world.submit({ idempotencyKey: 'crm-appt-1-d1', operation: 'delete', itemType: 'calendarItem', item: { externalId: 'crm-appt-1' }, expectedVersion: version, sendInvitations: 'toAll' });
    const done = await world.waitFor(accepted.operationId);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    const bobInbox = await world.control('GET', `/mailboxes/${BOB}/folders/inbox`);
    assert.ok((bobInbox.items ?? bobInbox).some((item: any) => item.itemClass === 'IPM.Schedule.Meeting.Canceled'), 'Bob got the cancellation');
    const records = ofItem(await world.sync(), itemId);
    assert.deepEqual(records.map((r) => [r.changeType, r.origin, r.operationId]), [['deleted', 'connector', accepted.operationId]]);
  });
});

describe('write-back of other kinds', () => {
  it('a recurring series with one changed occurrence', async () => {
    const created = await world.waitFor((await world.submit({
      idempotencyKey: 'crm-series-1',
      operation: 'create',
      itemType: 'calendarItem',
      externalId: 'crm-series-1',
      fields: { subject: 'Stand-up', start: '2026-12-14T08:00:00Z', end: '2026-12-14T08:15:00Z', recurrence: { pattern: 'daily', interval: 1, numberOfOccurrences: 5 } },
    })).operationId);
    assert.equal(created.status, 'succeeded', JSON.stringify(created));
    const changed = await world.waitFor((await world.submit({
      idempotencyKey: 'crm-series-1-occ3',
      operation: 'update',
      itemType: 'calendarItem',
      item: { externalId: 'crm-series-1', occurrenceIndex: 3 },
      expectedVersion: created.version,
      fields: { subject: 'Stand-up (with customer)', start: '2026-12-16T09:00:00Z', end: '2026-12-16T09:30:00Z' },
    })).operationId);
    assert.equal(changed.status, 'succeeded', JSON.stringify(changed));
    assert.equal(changed.itemId, created.itemId, 'the result names the series');
    const master = await world.control('GET', `/items/${encodeURIComponent(created.itemId)}`);
    const text = JSON.stringify(master);
    assert.match(text, /Stand-up \(with customer\)/, text.slice(0, 800));
    const records = ofItem(await world.sync(), created.itemId);
    assert.ok(records.length >= 1, 'the series is in the sync stream');
    assert.ok(records.every((r) => r.origin === 'connector'), JSON.stringify(records.map((r) => [r.changeType, r.origin])));
  });

  it('a contact round trip: create, Outlook edit comes back without origin, update with its version', async () => {
    const created = await world.waitFor((await world.submit({ idempotencyKey: 'crm-contact-7', operation: 'create', itemType: 'contact', externalId: 'crm-contact-7', fields: { givenName: 'Grace', surname: 'Hopper', companyName: 'Navy', emailAddresses: ['grace@example.org'] } })).operationId);
    assert.equal(created.status, 'succeeded', JSON.stringify(created));
    let records = ofItem(await world.sync(), created.itemId);
    assert.deepEqual(records.map((r) => [r.changeType, r.origin]), [['created', 'connector']]);
    assert.equal((records[0]!.item as any).companyName, 'Navy');
    await world.control('PATCH', `/items/${encodeURIComponent(created.itemId)}`, { jobTitle: 'Rear Admiral' });
    records = ofItem(await world.sync(), created.itemId);
    assert.deepEqual(records.map((r) => [r.changeType, r.origin ?? 'exchange']), [['updated', 'exchange']]);
    const updated = await world.waitFor((await world.submit({ idempotencyKey: 'crm-contact-7-u', operation: 'update', itemType: 'contact', item: { externalId: 'crm-contact-7' }, expectedVersion: records[0]!.changeKey, fields: { companyName: 'US Navy' } })).operationId);
    assert.equal(updated.status, 'succeeded', JSON.stringify(updated));
    const item = await world.control('GET', `/items/${encodeURIComponent(created.itemId)}`);
    assert.equal(item.companyName, 'US Navy');
    assert.equal(item.jobTitle, 'Rear Admiral', 'the Outlook edit is kept');

    // The Table mapping lost (restored storage, a move to Graph): the marker on the item still finds it.
    const table = TableClient.fromConnectionString(world.stack.azurite.connectionString, 'writeoperations', { allowInsecureConnection: true });
    for await (const row of table.listEntities()) if (String(row.rowKey).startsWith('ext|contact|')) await table.deleteEntity(String(row.partitionKey), String(row.rowKey));
    const again = await world.waitFor((await world.submit({ idempotencyKey: 'crm-contact-7-u2', operation: 'update', itemType: 'contact', item: { externalId: 'crm-contact-7' }, expectedVersion: updated.version, fields: { jobTitle: 'Admiral' } })).operationId);
    assert.equal(again.status, 'succeeded', JSON.stringify(again));
    assert.equal(again.itemId, created.itemId);
  });

  it('a task round trip, and the group flag drops the connector\'s echoes entirely', async () => {
    const settings = await world.api('PUT', `/api/admin/tenants/${world.tenantId}/groups/${world.groupId}/write-back`, { dropConnectorEchoes: true });
    assert.equal(settings.status, 200, settings.text);
    const created = await world.waitFor((await world.submit({ idempotencyKey: 'crm-task-3', operation: 'create', itemType: 'task', externalId: 'crm-task-3', fields: { subject: 'Call back', dueDate: '2026-12-20T00:00:00Z' } })).operationId);
    assert.equal(created.status, 'succeeded', JSON.stringify(created));
    assert.deepEqual(ofItem(await world.sync(), created.itemId), [], 'our own creation is dropped');
    await world.control('PATCH', `/items/${encodeURIComponent(created.itemId)}`, { status: 'Completed', percentComplete: 100 });
    const records = ofItem(await world.sync(), created.itemId);
    assert.deepEqual(records.map((r) => [r.changeType, r.origin ?? 'exchange']), [['updated', 'exchange']], 'the user\'s completion comes through');
    assert.equal((records[0]!.item as any).status, 'Completed');
    await world.api('PUT', `/api/admin/tenants/${world.tenantId}/groups/${world.groupId}/write-back`, { dropConnectorEchoes: false });
  });

  it('mail operations: read state, categories and move', async () => {
    const delivered = await world.control('POST', `/mailboxes/${ALICE}/items`, { folder: 'inbox', item: { kind: 'message', subject: 'Order 4711', isRead: false } });
    const read = await world.waitFor((await world.submit({ idempotencyKey: 'mail-1-read', operation: 'setReadState', item: { itemId: delivered.id }, isRead: true })).operationId);
    assert.equal(read.status, 'succeeded', JSON.stringify(read));
    const categorised = await world.waitFor((await world.submit({ idempotencyKey: 'mail-1-cat', operation: 'setCategories', item: { itemId: delivered.id }, categories: ['CRM', 'Order'] })).operationId);
    assert.equal(categorised.status, 'succeeded', JSON.stringify(categorised));
    const flagged = await world.waitFor((await world.submit({ idempotencyKey: 'mail-1-flag', operation: 'setFlag', item: { itemId: delivered.id }, flag: 'flagged' })).operationId);
    assert.equal(flagged.status, 'succeeded', JSON.stringify(flagged));
    const item = await world.control('GET', `/items/${encodeURIComponent(delivered.id)}`);
    const flag = (item.extendedProperties ?? []).find((p: any) => /0x1090/i.test(JSON.stringify(p)));
    assert.match(JSON.stringify(flag), /"2"|:2\b/, `PR_FLAG_STATUS flagged (2): ${JSON.stringify(item.extendedProperties)}`);
    assert.equal(item.isRead, true);
    assert.deepEqual(item.categories, ['CRM', 'Order']);
    const moved = await world.waitFor((await world.submit({ idempotencyKey: 'mail-1-move', operation: 'move', item: { itemId: delivered.id }, destinationFolder: 'deleteditems' })).operationId);
    assert.equal(moved.status, 'succeeded', JSON.stringify(moved));
    assert.notEqual(moved.itemId, delivered.id, 'a moved item has a new id');
  });
});

describe('idempotency keys and attackers', () => {
  it('the same idempotency key answers with the first operation; another request under it is 409 naming the field', async () => {
    const body = { idempotencyKey: 'crm-contact-9', operation: 'create', itemType: 'contact', externalId: 'crm-contact-9', fields: { givenName: 'Ada' } };
    const first = await world.submit(body);
    const second = await world.submit(body);
    assert.equal(second.operationId, first.operationId);
    await world.waitFor(first.operationId);
    const third = await world.submit(body);
    assert.equal(third.operationId, first.operationId);
    assert.equal(third.status, 'succeeded');
    const contacts = await world.control('GET', `/mailboxes/${ALICE}/folders/contacts`);
    assert.equal((contacts.items ?? contacts).filter((c: any) => c.givenName === 'Ada').length, 1, 'one contact only');
    const reused = await world.api('POST', `/api/admin/tenants/${world.tenantId}/groups/${world.groupId}/mailboxes/${ALICE}/operations`, { ...body, fields: { givenName: 'Eve' } });
    assert.equal(reused.status, 409);
    assert.deepEqual(reused.body.errors.map((e: any) => e.pointer), ['/idempotencyKey']);
  });

  it('a SIGKILL between Exchange\'s answer and our bookkeeping never creates a second item', async () => {
    // The operation as the API stores it; a real child process (the real runtime) runs it first and is killed.
    const request = { idempotencyKey: 'crash-task-1', operation: 'create' as const, itemType: 'task' as const, externalId: 'crm-task-crash', fields: { subject: 'Survives a crash' } };
    const tasks = async () => ((await world.control('GET', `/mailboxes/${ALICE}/folders/tasks`)).items ?? []).filter((t: any) => t.subject === 'Survives a crash');
    // The queue redelivers the message after its visibility timeout; the host's worker takes it.
    const operationId = await world.crashAfterExchangeThenRedeliver(request, { beforeRedelivery: async () => assert.equal((await tasks()).length, 1, 'Exchange created the task before the kill') });
    const done = await world.waitFor(operationId);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(done.attempts, 2);
    const after = await tasks();
    assert.equal(after.length, 1, 'still one task');
    assert.equal(done.itemId, after[0].id);
    // The same key through the API answers with this operation.
    assert.equal((await world.submit(request)).operationId, operationId);
  });

  it('a retried update and delete recognise their own earlier success after a SIGKILL (no false conflict)', async () => {
    const created = await world.waitFor((await world.submit({ idempotencyKey: 'crash-c', operation: 'create', itemType: 'contact', externalId: 'crash-c', fields: { givenName: 'Crash', surname: 'Test' } })).operationId);
    assert.equal(created.status, 'succeeded', JSON.stringify(created));
    const updated = await world.waitFor(await world.crashAfterExchangeThenRedeliver({ idempotencyKey: 'crash-c-u', operation: 'update', itemType: 'contact', item: { externalId: 'crash-c' }, expectedVersion: created.version, fields: { jobTitle: 'Survivor' } }));
    assert.equal(updated.status, 'succeeded', JSON.stringify(updated));
    assert.equal(updated.attempts, 2);
    assert.equal((await world.control('GET', `/items/${encodeURIComponent(created.itemId)}`)).jobTitle, 'Survivor');
    const deleted = await world.waitFor(await world.crashAfterExchangeThenRedeliver({ idempotencyKey: 'crash-c-d', operation: 'delete', itemType: 'contact', item: { itemId: created.itemId }, expectedVersion: updated.version, sendInvitations: 'none' }));
    assert.equal(deleted.status, 'succeeded', JSON.stringify(deleted));
    assert.equal(deleted.attempts, 2);
  });

  it('throttling: a long ServerBusy back-off re-queues the operation with a visibility delay instead of sleeping; it succeeds on the next attempt', async () => {
    await world.control('POST', '/faults', { kind: 'serverBusy', operation: 'CreateItem', count: 1, backOffInMs: 3_000 });
    const accepted = await world.submit({ idempotencyKey: 'throttled-task', operation: 'create', itemType: 'task', fields: { subject: 'After a back-off' } });
    const done = await world.waitFor(accepted.operationId);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(done.attempts, 2);
    assert.ok(world.stack.logs.some((line) => line.includes('Write re-queued after a passing failure') && line.includes('ErrorServerBusy')), 'the first attempt was re-queued');
    const tasks = (await world.control('GET', `/mailboxes/${ALICE}/folders/tasks`)).items ?? [];
    assert.equal(tasks.filter((t: any) => t.subject === 'After a back-off').length, 1);
  });

  it('validation names every field at fault', async () => {
    const response = await world.api('POST', `/api/admin/tenants/${world.tenantId}/groups/${world.groupId}/mailboxes/${ALICE}/operations`, {
      idempotencyKey: 'has space',
      operation: 'update',
      itemType: 'calendarItem',
      item: { itemId: '../../etc/passwd', externalId: 'x' },
      fields: { start: 'yesterday', requiredAttendees: ['not-an-address'] },
    });
    assert.equal(response.status, 400, response.text);
    assert.equal(response.headers.get('content-type')?.split(';')[0], 'application/problem+json');
    const pointers = response.body.errors.map((e: any) => e.pointer).sort();
    for (const pointer of ['/idempotencyKey', '/item/itemId', '/expectedVersion', '/fields/start', '/fields/requiredAttendees/0']) assert.ok(pointers.includes(pointer), `${pointer} in ${pointers.join(', ')}`);
  });

  it('another tenant\'s admin cannot write to or read operations of our mailbox; ours cannot reach theirs', async () => {
    const path = `/api/admin/tenants/${world.tenantId}/groups/${world.groupId}/mailboxes/${ALICE}/operations`;
    const body = { idempotencyKey: 'evil-1', operation: 'create', itemType: 'contact', fields: { givenName: 'Evil' } };
    const foreign = world.tenantAdminToken([world.otherTenantId]);
    assert.equal((await world.api('POST', path, body, foreign)).status, 404);
    assert.equal((await world.api('POST', path, body, null)).status, 401);
    const ours = await world.submit({ idempotencyKey: 'probe-1', operation: 'create', itemType: 'task', fields: { subject: 'Probe' } });
    assert.equal((await world.api('GET', `${path}/${ours.operationId}`, undefined, foreign)).status, 404);
    // Our group's mailbox list does not include Mallory's mailbox, though the service account could reach it in Exchange.
    const sideways = await world.api('POST', `/api/admin/tenants/${world.tenantId}/groups/${world.groupId}/mailboxes/${MALLORY}/operations`, body, world.tenantAdminToken([world.tenantId]));
    assert.equal(sideways.status, 404);
    // An operation id of our mailbox under the other tenant's path names nothing.
    const crossed = await world.api('GET', `/api/admin/tenants/${world.otherTenantId}/groups/${world.otherGroupId}/mailboxes/${MALLORY}/operations/${ours.operationId}`);
    assert.equal(crossed.status, 404);
  });

  it('a forged Exchange id of another mailbox is refused by Exchange and fails without touching it; hostile strings stay data', async () => {
    const mallorysItem = await world.control('POST', `/mailboxes/${MALLORY}/items`, { folder: 'inbox', item: { kind: 'message', subject: 'Mallory private', isRead: false } });
    const forged = await world.waitFor((await world.submit({ idempotencyKey: 'forged-1', operation: 'setReadState', item: { itemId: mallorysItem.id }, isRead: true })).operationId);
    assert.equal(forged.status, 'failed', JSON.stringify(forged));
    assert.equal((await world.control('GET', `/items/${encodeURIComponent(mallorysItem.id)}`)).isRead, false, 'Mallory\'s message is untouched');

    const hostile = '<script>alert(1)</script>\' OR 1=1 --]]></t:Subject>';
    const created = await world.waitFor((await world.submit({ idempotencyKey: 'hostile-1', operation: 'create', itemType: 'task', externalId: "x'or'1'='1", fields: { subject: hostile } })).operationId);
    assert.equal(created.status, 'succeeded', JSON.stringify(created));
    assert.equal((await world.control('GET', `/items/${encodeURIComponent(created.itemId)}`)).subject, hostile);
    const unknown = await world.waitFor((await world.submit({ idempotencyKey: 'unknown-ext', operation: 'delete', itemType: 'task', item: { externalId: "x'or'2'='2" }, expectedVersion: 'v' })).operationId);
    assert.equal(unknown.status, 'failed');
    assert.equal(unknown.error.code, 'ItemNotFound');
  });

  it('the OpenAPI document describes the write API', async () => {
    const document = buildOpenApiDocument(ALL_ADMIN_ROUTES, { serverUrl: 'http://127.0.0.1', audience: 'api://x', version: '0' }) as any;
    const path = document.paths['/admin/tenants/{tenantId}/groups/{groupId}/mailboxes/{mailbox}/operations'];
    assert.ok(path?.post?.responses?.['202'], Object.keys(document.paths).join('\n'));
    assert.ok(document.paths['/admin/tenants/{tenantId}/groups/{groupId}/mailboxes/{mailbox}/operations/{operationId}']?.get);
  });
});
