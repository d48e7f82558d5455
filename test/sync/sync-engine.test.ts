/**
 * The engine against an in-memory MailboxSource (no EWS at all), the chunked sync-state store and
 * the scheduler's once-per-interval claim against Azurite.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ChangeItem, SyncedFolder } from '../../shared/delivery/change-batch';
import { MailboxSourceError } from '../../shared/sync/mailbox-source';
import type { ChangePage, FetchedItem, MailboxSource, SourceChange } from '../../shared/sync/mailbox-source';
import { scheduleDueGroups } from '../../shared/sync/scheduler';
import type { NotificationSubscriptionRecord } from '../../shared/notifications/subscription-records';
import { syncMailbox } from '../../shared/sync/sync-engine';
import type { SyncStateStore } from '../../shared/sync/sync-engine';
import type { FolderSyncKey, FolderSyncState, SyncStateVersion, VersionedFolderSyncState } from '../../shared/storage/sync-state-repository';
import { SyncStateConflictError, SYNC_STATE_CHUNK_CHARS } from '../../shared/storage/sync-state-repository';
import { ALLOWED, RecordingOutbox, TENANT, startSyncWorld } from './sync-fixture';
import type { SyncWorld } from './sync-fixture';

/** A folder as a change log; a sync state is "position:<n>". */
class MemorySource implements MailboxSource {
  readonly log: SourceChange[] = [];
  readonly items = new Map<string, ChangeItem>();
  invalidStates = new Set<string>();

  add(id: string, subject: string, receivedAt: string): void {
    this.items.set(id, { kind: 'message', id, changeKey: `${id}-1`, subject, receivedAt, lastModifiedAt: receivedAt } as ChangeItem);
    this.log.push({ type: 'created', itemId: id });
  }

  setRead(id: string, isRead: boolean): void {
    this.log.push({ type: 'readFlagChanged', itemId: id, isRead });
  }

  async listChanges(_folder: SyncedFolder, syncState: string | undefined, maxChanges: number): Promise<ChangePage> {
    if (syncState !== undefined && this.invalidStates.has(syncState)) throw new MailboxSourceError('InvalidSyncState', 'bad state');
    const from = syncState === undefined ? 0 : Number(syncState.split(':')[1]);
    const changes = this.log.slice(from, from + maxChanges);
    return { syncState: `position:${from + changes.length}`, includesLastItemInRange: from + changes.length >= this.log.length, changes };
  }

  async getItems(itemIds: readonly string[]): Promise<FetchedItem[]> {
    return itemIds.map((id) => {
      const item = this.items.get(id);
      return item ? { ok: true as const, itemId: id, item } : { ok: false as const, itemId: id, code: 'ErrorItemNotFound', message: 'gone' };
    });
  }
}

/** A sync-state store a test can roll back, as if the saves after a crash never happened. */
class MemoryStateStore implements SyncStateStore {
  readonly #states = new Map<string, VersionedFolderSyncState>();
  #version = 0;

  async read(key: FolderSyncKey): Promise<VersionedFolderSyncState> {
    return this.#states.get(key.folder) ?? { syncState: undefined, phase: 'initial', fullResync: false, updatedAt: undefined, version: undefined };
  }

  async save(key: FolderSyncKey, next: FolderSyncState): Promise<SyncStateVersion> {
    const version: SyncStateVersion = { etag: String(++this.#version), overflowRows: 0 };
    this.#states.set(key.folder, { ...next, version });
    return version;
  }

  snapshot(): Map<string, VersionedFolderSyncState> {
    return new Map(this.#states);
  }

  restore(snapshot: Map<string, VersionedFolderSyncState>): void {
    this.#states.clear();
    for (const [folder, state] of snapshot) this.#states.set(folder, state);
  }
}

let world: SyncWorld;
before(async () => {
  world = await startSyncWorld();
});
after(async () => {
  await world.close();
});

describe('sync engine over an in-memory source', () => {
  it('pages through the changes, hands every record to the outbox and resumes from the saved state', async () => {
    const source = new MemorySource();
    for (let i = 0; i < 25; i++) source.add(`m${i}`, `Subject ${i}`, `2025-05-${String((i % 28) + 1).padStart(2, '0')}T08:00:00Z`);
    const request = { tenantId: TENANT, groupId: 'memory', mailbox: 'memory@example.test', folders: ['inbox'] as SyncedFolder[], initialSync: { kind: 'all' as const }, source, maxChangesPerPage: 10 };
    const first = await syncMailbox({ states: world.states, outbox: world.outbox }, { ...request, deadlineInMs: 0 });
    assert.equal(first.complete, false, 'a spent budget stops after the first page');
    assert.equal(first.totals.created, 10);
    const second = await syncMailbox({ states: world.states, outbox: world.outbox }, { ...request, deadlineInMs: Date.now() + 60_000 });
    assert.equal(second.complete, true);
    assert.equal(second.totals.created, 15);
    const ids = world.outbox.records('memory@example.test').map((r) => r.itemId);
    assert.deepEqual(ids, Array.from({ length: 25 }, (_, i) => `m${i}`));
    // A deletion between runs arrives as a record with no item; an item deleted before it was fetched is skipped.
    source.log.push({ type: 'deleted', itemId: 'm3' });
    source.log.push({ type: 'created', itemId: 'vanished' });
    const third = await syncMailbox({ states: world.states, outbox: world.outbox }, { ...request, deadlineInMs: Date.now() + 60_000 });
    assert.equal(third.totals.deleted, 1);
    assert.equal(third.totals.skipped, 1);
    const last = world.outbox.records('memory@example.test').at(-1)!;
    assert.equal(last.changeType, 'deleted');
    assert.equal(last.item, undefined);
  });

  it('restarts with fullResync records when the source rejects the stored state', async () => {
    const source = new MemorySource();
    source.add('a', 'A', '2025-05-01T08:00:00Z');
    source.add('b', 'B', '2025-05-02T08:00:00Z');
    const request = { tenantId: TENANT, groupId: 'memory-resync', mailbox: 'resync@example.test', folders: ['inbox'] as SyncedFolder[], initialSync: { kind: 'all' as const }, source, deadlineInMs: Date.now() + 60_000 };
    await syncMailbox({ states: world.states, outbox: world.outbox }, request);
    source.invalidStates.add('position:2');
    const result = await syncMailbox({ states: world.states, outbox: world.outbox }, request);
    assert.deepEqual(result.fullResyncFolders, ['inbox']);
    const again = world.outbox.records('resync@example.test').slice(2);
    assert.deepEqual(again.map((r) => [r.itemId, r.fullResync]), [['a', true], ['b', true]]);
    const state = await world.states.read({ tenantId: TENANT, groupId: 'memory-resync', mailbox: 'resync@example.test', folder: 'inbox' });
    assert.equal(state.fullResync, false, 'the flag ends when the re-sync reached the end');
  });
});

describe('read-flag idempotency keys', () => {
  it('read -> unread -> read gives three keys; replaying a page after a crash gives the same keys and batch ids', async () => {
    const source = new MemorySource();
    source.add('r', 'Toggled', '2025-05-01T08:00:00Z');
    const states = new MemoryStateStore();
    const outbox = new RecordingOutbox();
    const request = { tenantId: TENANT, groupId: 'flags', mailbox: 'flags@example.test', folders: ['inbox'] as SyncedFolder[], initialSync: { kind: 'all' as const }, source, deadlineInMs: Date.now() + 60_000 };
    const run = () => syncMailbox({ states, outbox }, request);
    await run();
    const toggles: boolean[] = [true, false, true];
    for (const isRead of toggles) {
      source.setRead('r', isRead);
      await run();
    }
    const flags = outbox.records().filter((r) => r.changeType === 'readFlagChanged');
    assert.deepEqual(flags.map((r) => r.isRead), toggles);
    assert.equal(new Set(flags.map((r) => r.idempotencyKey)).size, 3, 'the second "read" is a new change, not a duplicate of the first');
    assert.ok(flags.every((r) => r.changeKey === undefined));
    // The created record keeps the key derived from its change key alone.
    assert.equal(new Set(outbox.records().map((r) => r.idempotencyKey)).size, 4);

    // Crash after the outbox accepted the next page but before its state was saved: the replay repeats keys and batch ids.
    const beforePage = states.snapshot();
    source.setRead('r', false);
    await run();
    const delivered = outbox.batches.at(-1)!;
    states.restore(beforePage);
    await run();
    const replayed = outbox.batches.at(-1)!;
    assert.notEqual(replayed, delivered);
    assert.equal(replayed.batchId, delivered.batchId);
    assert.deepEqual(replayed.records.map((r) => r.idempotencyKey), delivered.records.map((r) => r.idempotencyKey));
    assert.ok(!flags.some((r) => r.idempotencyKey === delivered.records[0]!.idempotencyKey), 'the fourth toggle has its own key too');
  });
});

describe('sync state storage', () => {
  const key = { tenantId: TENANT, groupId: 'chunks', mailbox: 'big@example.test', folder: 'inbox' };

  it('keeps states larger than a property and an entity by chunking, and removes stale chunks', async () => {
    const big = Array.from({ length: 1_200_000 }, (_, i) => String.fromCharCode(65 + (i % 26))).join('');
    assert.ok(big.length > 12 * SYNC_STATE_CHUNK_CHARS, 'needs overflow rows');
    const v1 = await world.states.save(key, { syncState: big, phase: 'initial', fullResync: false, updatedAt: undefined }, undefined);
    assert.equal(v1.overflowRows, 3);
    const read = await world.states.read(key);
    assert.equal(read.syncState, big);
    const v2 = await world.states.save(key, { syncState: 'small', phase: 'incremental', fullResync: false, updatedAt: undefined }, read.version);
    assert.equal(v2.overflowRows, 0);
    const small = await world.states.read(key);
    assert.equal(small.syncState, 'small');
    assert.equal(small.phase, 'incremental');
    const client = await world.storage.table('syncstate');
    let rows = 0;
    for await (const entity of client.listEntities()) if ((entity.rowKey ?? '').includes('~x')) rows++;
    assert.equal(rows, 0, 'overflow rows of the larger state are gone');
  });

  it('refuses to save over a state someone else saved meanwhile', async () => {
    const stale = await world.states.read(key);
    await world.states.save(key, { syncState: 'winner', phase: 'incremental', fullResync: false, updatedAt: undefined }, stale.version);
    await assert.rejects(world.states.save(key, { syncState: 'loser', phase: 'incremental', fullResync: false, updatedAt: undefined }, stale.version), SyncStateConflictError);
    assert.equal((await world.states.read(key)).syncState, 'winner');
  });
});

describe('scheduler', () => {
  it('enqueues one job per enabled mailbox of due, enabled groups only, once per interval across racing instances', async () => {
    const [alice, bob] = ALLOWED as [string, string];
    await world.addGroup('due', [alice, bob]);
    await world.addGroup('disabled-group', [alice], { enabled: false });
    await world.addGroup('with-disabled-mailbox', [alice]);
    await world.mailboxes.create({ tenantId: TENANT, groupId: 'with-disabled-mailbox', smtpAddress: bob, enabled: false, status: 'disabled', counts: { created: 0, updated: 0, deleted: 0 }, createdAt: '', updatedAt: '' });
    const deps = { tenants: world.tenants, groups: world.groups, mailboxes: world.mailboxes, schedule: world.schedule, jobs: world.jobs };
    const mark = world.jobs.sent.length;
    const now = new Date('2030-01-01T00:00:00Z');
    // Two instances fire at the same minute.
    await Promise.all([scheduleDueGroups(deps, now), scheduleDueGroups(deps, now)]);
    const jobs = world.jobs.sent.slice(mark).map((s) => `${s.job.groupId}/${s.job.mailbox}`).filter((j) => !j.startsWith('policy') && !j.startsWith('memory'));
    const relevant = jobs.filter((j) => ['due', 'disabled-group', 'with-disabled-mailbox'].includes(j.split('/')[0]!)).sort();
    assert.deepEqual(relevant, [`due/${alice}`, `due/${bob}`, `with-disabled-mailbox/${alice}`]);
    // A minute later nothing is due (5-minute interval); five minutes later it is.
    const mark2 = world.jobs.sent.length;
    await scheduleDueGroups(deps, new Date(now.getTime() + 60_000));
    assert.equal(world.jobs.sent.slice(mark2).filter((s) => s.job.groupId === 'due').length, 0);
    await scheduleDueGroups(deps, new Date(now.getTime() + 5 * 60_000));
    assert.equal(world.jobs.sent.slice(mark2).filter((s) => s.job.groupId === 'due').length, 2);
  });

  it('with healthy notifications a mailbox is polled only at the safety interval; failed ones at the group interval at once', async () => {
    const [alice, bob] = ALLOWED as [string, string];
    await world.addGroup('notified', [alice, bob], { pollIntervalMinutes: 1 });
    const records: NotificationSubscriptionRecord[] = [
      { protocol: 'graph', tenantId: TENANT, groupId: 'notified', mailbox: alice, folder: 'inbox', resource: 'r', status: 'active', expiresAt: '2030-01-08T00:00:00Z', createdAt: '', updatedAt: '' },
      { protocol: 'graph', tenantId: TENANT, groupId: 'notified', mailbox: bob, folder: 'inbox', resource: 'r', status: 'active', expiresAt: '2030-01-08T00:00:00Z', createdAt: '', updatedAt: '' },
    ];
    const deps = { tenants: world.tenants, groups: world.groups, mailboxes: world.mailboxes, schedule: world.schedule, jobs: world.jobs, notifications: { safetyIntervalInMs: 15 * 60_000, listGroup: async () => records } };
    const start = new Date('2030-01-01T00:00:00Z');
    const polled = new Map<string, number>();
    for (let minute = 0; minute <= 60; minute++) {
      if (minute === 30) records[1] = { ...records[1]!, status: 'failed' };
      const mark = world.jobs.sent.length;
      await scheduleDueGroups(deps, new Date(start.getTime() + minute * 60_000));
      for (const sent of world.jobs.sent.slice(mark)) if (sent.job.groupId === 'notified') polled.set(`${sent.job.mailbox}@${minute}`, minute);
    }
    const minutes = (mailbox: string) => [...polled.keys()].filter((k) => k.startsWith(`${mailbox}@`)).map((k) => Number(k.split('@').pop()));
    // Alice (healthy): the first claim, then once per 15 minutes.
    assert.ok(minutes(alice).length >= 4 && minutes(alice).length <= 6, `alice polled at ${minutes(alice).join(',')}`);
    // Bob: safety polls while healthy, then every minute from the failure on.
    const bobAfter = minutes(bob).filter((m) => m >= 30);
    assert.equal(bobAfter.length, 31, `bob polled at ${minutes(bob).join(',')}`);
    assert.ok(minutes(bob).filter((m) => m < 30).length <= 3);
  });
});
