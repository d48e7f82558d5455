/**
 * The sync worker against the real pieces: Azurite tables, the EWS simulator over HTTP, the EWS
 * client and source, with a recording outbox and job queue so the tests can see what was handed on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TableClient } from '@azure/data-tables';
import { fillMailbox } from '../../dev/ews-simulator/seed';
import { encodeKeyPart, joinKeyParts } from '../../shared/storage';
import { SecretString } from '../../shared/logging';
import { ConcurrencySlots } from '../../shared/storage/concurrency-slots';
import { isLeaseHeld } from '../../shared/storage/lease-repository';
import { createEwsMailboxSource } from '../../shared/sync/ews-mailbox-source';
import { cachedLookup } from '../../shared/sync/sync-composition';
import { openMailboxClient } from '../../shared/sync/mailbox-access';
import { newSyncJob } from '../../shared/sync/sync-jobs';
import { concurrencyPools, runSyncJob } from '../../shared/sync/sync-worker';
import type { SyncJobOutcome } from '../../shared/sync/sync-worker';
import { ALLOWED, DENIED, MISSING, SERVICE_ACCOUNT, TENANT, startSyncWorld } from './sync-fixture';
import type { SyncWorld } from './sync-fixture';

let world: SyncWorld;

before(async () => {
  world = await startSyncWorld();
});
after(async () => {
  await world.close();
});

const alice = ALLOWED[0]!;
const bob = ALLOWED[1]!;

function message(subject: string, receivedAt?: Date) {
  return { kind: 'message' as const, subject, body: { type: 'Text' as const, content: `Body of ${subject}` }, isRead: false, ...(receivedAt ? { dateTimeReceived: receivedAt } : {}) };
}

describe('sync worker against the EWS simulator', () => {
  it('delivers created, updated, deleted and readFlagChanged records and keeps the mailbox status', async () => {
    await world.addGroup('changes', [alice]);
    const store = world.simulator.store;
    const items = ['First', 'Second', 'Third'].map((subject) => store.createItem(alice, { distinguished: 'inbox' }, message(`changes ${subject}`)));
    const outcome = await runSyncJob(newSyncJob(TENANT, 'changes', alice, 'scheduled'), world.workerDeps());
    assert.equal(outcome.kind, 'completed');
    const first = world.outbox.records(alice).filter((r) => r.groupId === 'changes');
    assert.deepEqual(first.map((r) => r.changeType).sort(), ['created', 'created', 'created']);
    assert.deepEqual(first.map((r) => r.item?.subject).sort(), ['changes First', 'changes Second', 'changes Third']);
    assert.ok(first.every((r) => r.fullResync === false && r.folder === 'inbox' && r.item?.kind === 'message'));

    store.updateItem(items[0]!.id, { subject: 'changes First (edited)' });
    store.updateItem(items[1]!.id, { isRead: true });
    store.deleteItem(items[2]!.id, 'HardDelete');
    const before = world.outbox.records().length;
    assert.equal((await runSyncJob(newSyncJob(TENANT, 'changes', alice, 'scheduled'), world.workerDeps())).kind, 'completed');
    const second = world.outbox.records().slice(before);
    const byType = new Map(second.map((r) => [r.changeType, r]));
    assert.equal(second.length, 3);
    assert.equal(byType.get('updated')?.item?.subject, 'changes First (edited)');
    assert.equal(byType.get('readFlagChanged')?.itemId, items[1]!.id);
    assert.equal(byType.get('readFlagChanged')?.isRead, true);
    assert.equal(byType.get('deleted')?.itemId, items[2]!.id);

    const status = await world.mailbox('changes', alice);
    assert.equal(status.status, 'ok');
    assert.ok(status.lastSuccessfulSyncAt);
    assert.deepEqual(status.counts, { created: 3, updated: 2, deleted: 1 });
  });

  it('saves the sync state only after the outbox accepted the batch: a failed hand-over loses nothing', async () => {
    await world.addGroup('outbox-fails', [bob]);
    world.simulator.store.createItem(bob, { distinguished: 'inbox' }, message('outbox item'));
    world.outbox.failNext = 1;
    await assert.rejects(runSyncJob(newSyncJob(TENANT, 'outbox-fails', bob, 'scheduled'), world.workerDeps()), { code: 'OutboxRejected' });
    const state = await world.states.read({ tenantId: TENANT, groupId: 'outbox-fails', mailbox: bob, folder: 'inbox' });
    assert.equal(state.syncState, undefined, 'state must not advance past changes the outbox did not take');
    assert.equal((await runSyncJob(newSyncJob(TENANT, 'outbox-fails', bob, 'retry'), world.workerDeps())).kind, 'completed');
    const records = world.outbox.records(bob).filter((r) => r.groupId === 'outbox-fails');
    assert.ok(records.some((r) => r.item?.subject === 'outbox item'));
    assert.ok((await world.states.read({ tenantId: TENANT, groupId: 'outbox-fails', mailbox: bob, folder: 'inbox' })).syncState);
  });

  it('starts a full re-sync flagged fullResync when Exchange rejects the stored sync state', async () => {
    await world.addGroup('resync', [alice]);
    assert.equal((await runSyncJob(newSyncJob(TENANT, 'resync', alice, 'scheduled'), world.workerDeps())).kind, 'completed');
    const existing = world.outbox.records(alice).filter((r) => r.groupId === 'resync').length;
    assert.ok(existing > 0);
    world.simulator.faults.add({ kind: 'invalidSyncState', operation: 'SyncFolderItems', count: 1 });
    const before = world.outbox.records().length;
    assert.equal((await runSyncJob(newSyncJob(TENANT, 'resync', alice, 'scheduled'), world.workerDeps())).kind, 'completed');
    const resynced = world.outbox.records().slice(before);
    assert.equal(resynced.length, existing, 'every current item is delivered again');
    assert.ok(resynced.every((r) => r.fullResync === true && r.changeType === 'created'));
    // The next run is incremental again.
    world.simulator.store.createItem(alice, { distinguished: 'inbox' }, message('after resync'));
    const mark = world.outbox.records().length;
    await runSyncJob(newSyncJob(TENANT, 'resync', alice, 'scheduled'), world.workerDeps());
    const next = world.outbox.records().slice(mark).filter((r) => r.groupId === 'resync');
    assert.deepEqual(next.map((r) => [r.item?.subject, r.fullResync]), [['after resync', false]]);
  });

  it('re-queues a throttled job with the server-named delay instead of sleeping', async () => {
    await world.addGroup('throttled', [bob]);
    const slept: number[] = [];
    world.simulator.faults.add({ kind: 'serverBusy', operation: 'SyncFolderItems', backOffInMs: 45_000, count: 1 });
    const sent = world.jobs.sent.length;
    const outcome = await runSyncJob(
      newSyncJob(TENANT, 'throttled', bob, 'scheduled'),
      world.workerDeps({
        openSource: async (group, mailbox) => {
          const client = await openMailboxClient(group, { smtpAddress: mailbox.smtpAddress }, { environment: 'development', defaultEwsUrl: world.simulator.url, authorityHost: 'https://localhost:1', readSecret: async () => new SecretString('Svc-Pass1') });
          return createEwsMailboxSource(client, { sleep: async (ms: number) => void slept.push(ms) });
        },
      }),
    );
    assert.equal(outcome.kind, 'throttled');
    assert.ok(outcome.kind === 'throttled' && outcome.delayInMs >= 45_000);
    assert.deepEqual(slept, [], 'no in-process wait for a long back-off');
    const requeued = world.jobs.sent.slice(sent);
    assert.equal(requeued.length, 1);
    assert.equal(requeued[0]!.job.mailbox, bob);
    assert.ok(requeued[0]!.delayInMs >= 45_000);
    const progress = await world.states.readProgress(TENANT, 'throttled', bob);
    assert.equal(progress?.continuationPending, true);
    assert.equal(progress?.continuationReason, 'throttled');
    world.simulator.faults.clear();
  });

  it('lets only one worker sync a mailbox: a held lease ends a scheduled job quietly and re-queues a continuation', async () => {
    await world.addGroup('leased', [alice]);
    const scope = joinKeyParts('mailbox', encodeKeyPart(TENANT), encodeKeyPart('leased'));
    const other = await world.leases.tryAcquire(scope, encodeKeyPart(alice), 'other-worker', 60_000);
    assert.ok(!isLeaseHeld(other));
    const before = world.outbox.records().length;
    const sent = world.jobs.sent.length;
    assert.deepEqual(await runSyncJob(newSyncJob(TENANT, 'leased', alice, 'scheduled'), world.workerDeps()), { kind: 'leaseHeld', requeued: false });
    assert.deepEqual(await runSyncJob(newSyncJob(TENANT, 'leased', alice, 'continuation'), world.workerDeps()), { kind: 'leaseHeld', requeued: true });
    assert.equal(world.outbox.records().length, before, 'nothing synced while another worker holds the lease');
    assert.equal(world.jobs.sent.length, sent + 1);
    assert.ok(world.jobs.sent.at(-1)!.delayInMs > 0);
    await world.leases.release(other);
    assert.equal((await runSyncJob(newSyncJob(TENANT, 'leased', alice, 'continuation'), world.workerDeps())).kind, 'completed');
  });

  it('re-queues with a delay when the service account has no free concurrency slot', async () => {
    await world.addGroup('capped', [bob]);
    const group = await world.groups.get(TENANT, 'capped');
    const limits = { perAccount: 1, perTenant: 20, leaseDurationInMs: 60_000, busyRetryDelayInMs: 5_000, throttledDelayInMs: 60_000 };
    const slots = new ConcurrencySlots(world.leases);
    const taken = await slots.tryAcquire(concurrencyPools(group, bob, limits)[1]!, 'another-job', 60_000);
    assert.ok(taken);
    const outcome = await runSyncJob(newSyncJob(TENANT, 'capped', bob, 'scheduled'), world.workerDeps({ limits: { perAccount: 1, busyRetryDelayInMs: 5_000 } }));
    assert.equal(outcome.kind, 'noSlot');
    assert.equal(world.jobs.sent.at(-1)!.job.reason, 'retry');
    assert.ok(world.jobs.sent.at(-1)!.delayInMs >= 5_000);
    await slots.releaseAll([taken]);
    assert.equal((await runSyncJob(newSyncJob(TENANT, 'capped', bob, 'retry'), world.workerDeps({ limits: { perAccount: 1 } }))).kind, 'completed');
  });

  it('applies the initial-sync policies: none delivers only later changes, since delivers only newer items', async () => {
    const store = world.simulator.store;
    const old = new Date('2024-01-10T10:00:00Z');
    const recent = new Date('2025-06-10T10:00:00Z');
    store.createItem(bob, { distinguished: 'inbox' }, message('policy old', old));
    store.createItem(bob, { distinguished: 'inbox' }, message('policy recent', recent));

    await world.addGroup('policy-none', [bob], { initialSync: { kind: 'none' } });
    assert.equal((await runSyncJob(newSyncJob(TENANT, 'policy-none', bob, 'scheduled'), world.workerDeps())).kind, 'completed');
    assert.deepEqual(world.outbox.records(bob).filter((r) => r.groupId === 'policy-none'), []);
    store.createItem(bob, { distinguished: 'inbox' }, message('policy after start'));
    await runSyncJob(newSyncJob(TENANT, 'policy-none', bob, 'scheduled'), world.workerDeps());
    assert.deepEqual(world.outbox.records(bob).filter((r) => r.groupId === 'policy-none').map((r) => r.item?.subject), ['policy after start']);

    await world.addGroup('policy-since', [bob], { initialSync: { kind: 'since', since: '2025-01-01T00:00:00Z' } });
    await runSyncJob(newSyncJob(TENANT, 'policy-since', bob, 'scheduled'), world.workerDeps());
    const subjects = world.outbox.records(bob).filter((r) => r.groupId === 'policy-since').map((r) => r.item?.subject);
    assert.ok(subjects.includes('policy recent'));
    assert.ok(!subjects.includes('policy old'));
  });

  it('reports a denied or non-existent mailbox distinctly without stopping the others', async () => {
    await world.addGroup('mixed', [bob, DENIED, MISSING]);
    const outcomes = await Promise.all([bob, DENIED, MISSING].map((address) => runSyncJob(newSyncJob(TENANT, 'mixed', address, 'scheduled'), world.workerDeps())));
    assert.deepEqual(outcomes.map((o) => o.kind), ['completed', 'failed', 'failed']);
    const [ok, denied, missing] = await Promise.all([bob, DENIED, MISSING].map((address) => world.mailbox('mixed', address)));
    assert.equal(ok!.status, 'ok');
    assert.equal(denied!.status, 'error');
    assert.equal(denied!.lastError?.code, 'ImpersonationDenied');
    assert.match(denied!.lastError?.message ?? '', new RegExp(`${SERVICE_ACCOUNT}.*may not access ${DENIED}`));
    assert.equal(missing!.status, 'error');
    assert.equal(missing!.lastError?.code, 'MailboxNotFound');
    assert.match(missing!.lastError?.message ?? '', /No mailbox ghost@/);
  });

  it('stops at the time budget, queues a continuation and finishes on later runs without losing items', async () => {
    const address = ALLOWED[0]!;
    await world.addGroup('budget', [address], { folders: ['tasks'] });
    fillMailbox(world.simulator.store, address, { count: 1100, seed: 'budget', folder: { distinguished: 'tasks' } });
    const deps = world.workerDeps({ timeBudgetInMs: 1 });
    const first: SyncJobOutcome = await runSyncJob(newSyncJob(TENANT, 'budget', address, 'scheduled'), deps);
    assert.equal(first.kind, 'continued');
    assert.equal(world.jobs.sent.at(-1)!.job.reason, 'continuation');
    const progress = await world.states.readProgress(TENANT, 'budget', address);
    assert.equal(progress?.continuationPending, true);
    assert.equal(progress?.itemsSyncedInPass, 512);
    let runs = 1;
    let outcome: SyncJobOutcome = first;
    while (outcome.kind === 'continued' && runs < 10) {
      outcome = await runSyncJob(newSyncJob(TENANT, 'budget', address, 'continuation'), deps);
      runs++;
    }
    assert.equal(outcome.kind, 'completed');
    assert.equal(runs, 3);
    const records = world.outbox.records(address).filter((r) => r.groupId === 'budget');
    assert.equal(new Set(records.map((r) => r.itemId)).size, 1100);
    const done = await world.states.readProgress(TENANT, 'budget', address);
    assert.equal(done?.continuationPending, false);
    assert.equal(done?.itemsSyncedInPass, 1100);
  });

  it('an idle run (nothing changed) writes nothing and costs at most 8 Table calls: one lease cycle, one state read', async () => {
    await world.addGroup('idle', [bob], { folders: ['mail', 'calendar'] });
    const deps = world.workerDeps({
      tenants: { find: cachedLookup((id: string) => world.tenants.find(id), 30_000) },
      groups: { find: cachedLookup((tenantId: string, groupId: string) => world.groups.find(tenantId, groupId), 30_000) },
    });
    // First run: initial state of both folders; second: the mailbox becomes ok with lastSuccessfulSyncAt.
    assert.equal((await runSyncJob(newSyncJob(TENANT, 'idle', bob, 'scheduled'), deps)).kind, 'completed');
    assert.equal((await runSyncJob(newSyncJob(TENANT, 'idle', bob, 'scheduled'), deps)).kind, 'completed');
    const mailboxBefore = await world.mailbox('idle', bob);
    const snapshotBefore = await world.states.readMailbox(TENANT, 'idle', bob, ['inbox', 'calendar']);
    const syncCallsBefore = world.simulator.state.counters.get('SyncFolderItems')?.requests ?? 0;

    const calls: string[] = [];
    const prototype = TableClient.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
    const originals = new Map<string, (...args: unknown[]) => unknown>();
    for (const method of ['getEntity', 'createEntity', 'updateEntity', 'upsertEntity', 'deleteEntity', 'listEntities', 'submitTransaction']) {
      const original = prototype[method]!;
      originals.set(method, original);
      prototype[method] = function (this: TableClient, ...args: unknown[]) {
        calls.push(`${this.tableName}.${method}`);
        return original.apply(this, args);
      };
    }
    let outcome: SyncJobOutcome;
    try {
      outcome = await runSyncJob(newSyncJob(TENANT, 'idle', bob, 'scheduled'), deps);
    } finally {
      for (const [method, original] of originals) prototype[method] = original;
    }
    assert.equal(outcome.kind, 'completed');
    assert.ok(calls.length <= 8, `${calls.length} Table calls: ${calls.join(', ')}`);
    assert.equal(calls.filter((call) => call.endsWith('.listEntities')).length, 1, 'the folder states and progress are read in one query');
    assert.equal((world.simulator.state.counters.get('SyncFolderItems')?.requests ?? 0) - syncCallsBefore, 2, 'one SyncFolderItems per folder');
    // Nothing written: the mailbox record, the folder states and the progress row keep their ETags.
    assert.equal((await world.mailbox('idle', bob) as { etag?: string }).etag, (mailboxBefore as { etag?: string }).etag);
    const snapshotAfter = await world.states.readMailbox(TENANT, 'idle', bob, ['inbox', 'calendar']);
    for (const folder of ['inbox', 'calendar']) assert.equal(snapshotAfter.states.get(folder)?.version?.etag, snapshotBefore.states.get(folder)?.version?.etag, folder);
    assert.equal(snapshotAfter.progress?.etag, snapshotBefore.progress?.etag);

    // A change afterwards is still found from the kept state.
    world.simulator.store.createItem(bob, { distinguished: 'calendar' }, { kind: 'calendarItem', subject: 'after idle', start: new Date('2026-12-01T09:00:00Z'), end: new Date('2026-12-01T10:00:00Z') });
    const before = world.outbox.records().length;
    assert.equal((await runSyncJob(newSyncJob(TENANT, 'idle', bob, 'scheduled'), deps)).kind, 'completed');
    assert.deepEqual(world.outbox.records().slice(before).map((r) => `${r.folder}:${r.changeType}:${r.item?.subject}`), ['calendar:created:after idle']);
  });
});
