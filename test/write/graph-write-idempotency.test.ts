/**
 * Write-back over Microsoft Graph through the local Functions host, the crash and attacker half
 * (graph-write-back.test.ts has the appointment, series, contact, task and mail walk-through): a
 * SIGKILL between Graph's answer and our bookkeeping (create, update, delete), a forged id of
 * another mailbox and hostile strings, a poisoned message, the retention, the OpenAPI document.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { QueueClient } from '@azure/storage-queue';
import { decodeImmutableId, fromRestId } from '../../dev/graph-simulator/ids';
import { storageWriteJobQueue, WRITE_OPERATIONS_POISON_QUEUE } from '../../shared/write/write-jobs';
import { WriteStore } from '../../shared/write/write-store';
import { ALL_ADMIN_ROUTES } from '../../shared/admin/all-admin-routes';
import { buildOpenApiDocument } from '../../shared/admin/openapi';
import { ALICE, MALLORY, MASTER_KEY, startWriteWorld } from './write-fixture';
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

describe('Graph idempotency and attackers', () => {
  it('a SIGKILL between Graph\'s answer and our bookkeeping never creates a second event (the retry finds it by its marker with $filter)', async () => {
    const request = { idempotencyKey: 'g-crash-1', operation: 'create' as const, itemType: 'calendarItem' as const, externalId: 'g-crash-1', sendInvitations: 'none' as const, fields: { subject: 'Survives a crash', start: '2026-12-21T09:00:00Z', end: '2026-12-21T10:00:00Z' } };
    const events = async () => ((await world.control('GET', `/mailboxes/${ALICE}/folders/calendar`)).items ?? []).filter((t: any) => t.subject === 'Survives a crash');
    const operationId = await world.crashAfterExchangeThenRedeliver(request, { beforeRedelivery: async () => assert.equal((await events()).length, 1, 'Graph created the event before the kill') });
    const done = await world.waitFor(operationId);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(done.attempts, 2);
    const after = await events();
    assert.equal(after.length, 1, 'still one event');
    assert.equal(storeId(done.itemId), after[0].id);
  });

  it('a retried update and delete recognise their own earlier success after a SIGKILL (no false conflict)', async () => {
    const created = await world.waitFor((await world.submit({ idempotencyKey: 'g-crash-c', operation: 'create', itemType: 'contact', externalId: 'g-crash-c', fields: { givenName: 'Crash', surname: 'Test' } })).operationId);
    assert.equal(created.status, 'succeeded', JSON.stringify(created));
    const updateId = await world.crashAfterExchangeThenRedeliver({ idempotencyKey: 'g-crash-c-u', operation: 'update', itemType: 'contact', item: { externalId: 'g-crash-c' }, expectedVersion: created.version, fields: { jobTitle: 'Survivor' } });
    const updated = await world.waitFor(updateId);
    assert.equal(updated.status, 'succeeded', JSON.stringify(updated));
    assert.equal(updated.attempts, 2);
    assert.notEqual(updated.version, created.version);
    assert.equal((await world.control('GET', `/items/${encodeURIComponent(storeId(created.itemId))}`)).jobTitle, 'Survivor');
    const deleteId = await world.crashAfterExchangeThenRedeliver({ idempotencyKey: 'g-crash-c-d', operation: 'delete', itemType: 'contact', item: { itemId: created.itemId }, expectedVersion: updated.version, sendInvitations: 'none' });
    const deleted = await world.waitFor(deleteId);
    assert.equal(deleted.status, 'succeeded', JSON.stringify(deleted));
    assert.equal(deleted.attempts, 2);
  });

  it('a forged id of another mailbox fails without touching it; hostile strings stay data (subject, OData quotes in external ids)', async () => {
    const mallorysItem = await world.control('POST', `/mailboxes/${MALLORY}/items`, { folder: 'inbox', item: { kind: 'message', subject: 'Mallory private', isRead: false } });
    const forged = await world.waitFor((await world.submit({ idempotencyKey: 'g-forged-1', operation: 'setReadState', item: { itemId: mallorysItem.id.replace(/\//g, '-').replace(/\+/g, '_') }, isRead: true })).operationId);
    assert.equal(forged.status, 'failed', JSON.stringify(forged));
    assert.equal((await world.control('GET', `/items/${encodeURIComponent(mallorysItem.id)}`)).isRead, false, 'Mallory\'s message is untouched');

    const hostile = '<script>alert(1)</script>\' OR 1=1 --"}]';
    const created = await world.waitFor((await world.submit({ idempotencyKey: 'g-hostile-1', operation: 'create', itemType: 'contact', externalId: "x')or(ep/value+ne+'", fields: { displayName: hostile } })).operationId);
    assert.equal(created.status, 'succeeded', JSON.stringify(created));
    assert.equal((await world.control('GET', `/items/${encodeURIComponent(storeId(created.itemId))}`)).displayName, hostile);
    // An external id crafted to widen the $filter matches nothing: the quote is doubled, not interpreted.
    const unknown = await world.waitFor((await world.submit({ idempotencyKey: 'g-unknown-ext', operation: 'delete', itemType: 'contact', item: { externalId: "y')or(ep/value+ne+'" }, expectedVersion: 'v' })).operationId);
    assert.equal(unknown.status, 'failed', JSON.stringify(unknown));
    assert.equal(unknown.error.code, 'ItemNotFound');
  });

  it('a poisoned operation (the host gave up on its message) ends failed with the reason instead of staying running', async () => {
    const store = new WriteStore(world.storage);
    const key = { tenantId: world.tenantId, groupId: world.groupId, mailbox: ALICE };
    const operationId = randomUUID();
    const request = { idempotencyKey: 'g-poison-1', operation: 'create' as const, itemType: 'task' as const, fields: { subject: 'Poisoned' } };
    await store.claimKey(key, request.idempotencyKey, operationId);
    // As a worker leaves it when the host dies mid-run on every delivery.
    await store.saveOperation({ ...key, operationId, request, status: 'running', attempts: 5, acceptedAt: new Date().toISOString() });
    // The Functions host moves such a message to write-operations-poison (dev/functions-host does exactly that).
    await storageWriteJobQueue(new QueueClient(world.stack.azurite.connectionString, WRITE_OPERATIONS_POISON_QUEUE)).enqueue({ v: 1, ...key, operationId, enqueuedAt: new Date().toISOString() });
    const done = await world.waitFor(operationId);
    assert.equal(done.status, 'failed', JSON.stringify(done));
    assert.equal(done.error.code, 'PoisonMessage');
    assert.match(done.error.message, /write-operations-poison/);
    assert.equal(world.results().find((r) => r.operationId === operationId)?.status, 'failed', 'the operationResult event says so');
  });

  it('retention: finished operations and their idempotency keys older than the cutoff are removed; queued ones stay; the timer runs', async () => {
    const store = new WriteStore(world.storage);
    const key = { tenantId: world.tenantId, groupId: world.groupId, mailbox: ALICE };
    const finished = await world.waitFor((await world.submit({ idempotencyKey: 'g-old-1', operation: 'create', itemType: 'task', fields: { subject: 'Old' } })).operationId);
    const pendingId = randomUUID();
    await store.saveOperation({ ...key, operationId: pendingId, request: { idempotencyKey: 'g-pending', operation: 'create', itemType: 'task', fields: { subject: 'Pending' } }, status: 'queued', attempts: 0, acceptedAt: new Date().toISOString() });
    assert.deepEqual(await store.purgeFinishedBefore(new Date(Date.now() - 3_600_000)), { operations: 0, echoes: 0 }, 'nothing in this world is an hour old');
    const removed = await store.purgeFinishedBefore(new Date(Date.now() + 60_000));
    assert.ok(removed.operations >= 1 && removed.echoes >= 1, JSON.stringify(removed));
    const path = `/api/admin/tenants/${world.tenantId}/groups/${world.groupId}/mailboxes/${encodeURIComponent(ALICE)}/operations`;
    assert.equal((await world.api('GET', `${path}/${finished.operationId}`)).status, 404);
    assert.equal((await world.api('GET', `${path}/${pendingId}`)).status, 200, 'a queued operation is kept');
    const again = await world.submit({ idempotencyKey: 'g-old-1', operation: 'create', itemType: 'task', fields: { subject: 'Old' } });
    assert.notEqual(again.operationId, finished.operationId, 'a key past the retention is a new operation');

    const since = Date.now();
    const invoked = await fetch(`${world.stack.host.url}/admin/functions/write-operations-cleanup`, { method: 'POST', headers: { 'x-functions-key': MASTER_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ input: '' }) });
    assert.equal(invoked.status, 202);
    const run = await world.stack.host.waitForInvocation((r) => r.functionName === 'write-operations-cleanup' && r.startedAt.getTime() >= since && r.status !== 'running', { timeoutInMs: 20_000 });
    assert.equal(run.status, 'succeeded', run.error);
    assert.ok(world.stack.logs.some((line) => line.includes('Write operation retention applied') && line.includes('"retentionDays":30')), world.stack.logs.slice(-5).join('\n'));
  });

  it('the OpenAPI document describes the write API over Graph (If-Match versions, invitations, poison, retention)', () => {
    const document = buildOpenApiDocument(ALL_ADMIN_ROUTES, { serverUrl: 'http://127.0.0.1', audience: 'api://x', version: '0' }) as any;
    const post = document.paths['/admin/tenants/{tenantId}/groups/{groupId}/mailboxes/{mailbox}/operations'].post;
    for (const words of ['If-Match', 'InvitationsNotSuppressible', 'PoisonMessage', 'WRITE_OPERATION_RETENTION_DAYS']) assert.ok(JSON.stringify(post).includes(words), words);
    assert.match(JSON.stringify(document), /@odata\.etag of a To Do task/);
  });
});

