/**
 * The concurrency caps come from the app settings: SYNC_MAX_CONCURRENCY_PER_ACCOUNT and
 * SYNC_MAX_CONCURRENCY_PER_TENANT, validated by the configuration module and wired into the
 * worker by the sync composition root. The worker runs against Azurite and the EWS simulator;
 * the first mailbox's sync is held open (at the moment it opens its EWS source, slots taken) so
 * "at the same time" does not depend on timing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigurationError, loadConfig } from '../../shared/config';
import type { AppConfig } from '../../shared/config';
import { createSyncRuntime, useSyncOverrides } from '../../shared/sync/sync-composition';
import { newSyncJob } from '../../shared/sync/sync-jobs';
import { runSyncJob } from '../../shared/sync/sync-worker';
import type { SyncJobOutcome, SyncWorkerDependencies } from '../../shared/sync/sync-worker';
import { ALLOWED, TENANT, startSyncWorld } from './sync-fixture';
import type { SyncWorld } from './sync-fixture';

const [alice, bob] = [ALLOWED[0]!, ALLOWED[1]!];

const AZURE_SETTINGS = {
  PUBLIC_BASE_URL: 'https://connector.example.com',
  AzureWebJobsStorage__accountName: 'stconnector01',
  KEY_VAULT_URL: 'https://kv-connector.vault.azure.net',
  AZURE_CLIENT_ID: '11111111-1111-4111-8111-111111111111',
  ADMIN_API_AUDIENCE: 'c0ffee00-0000-4000-8000-00000000ad01',
  ADMIN_API_TENANT_ID: '22222222-2222-4222-8222-222222222222',
  CONNECTOR_APP_CLIENT_ID: '33333333-3333-4333-8333-333333333333',
};

let world: SyncWorld;

before(async () => {
  world = await startSyncWorld();
  // The composition root would otherwise build the real delivery outbox from process settings.
  useSyncOverrides({ outbox: world.outbox });
});
after(async () => {
  useSyncOverrides({});
  await world.close();
});

/** The worker dependencies the sync-mailbox function would run with under these settings. */
function workerDepsFor(extraSettings: Record<string, string>): SyncWorkerDependencies {
  const config: AppConfig = loadConfig({
    CONNECTOR_ENVIRONMENT: 'development',
    PUBLIC_BASE_URL: 'http://127.0.0.1:7071',
    AzureWebJobsStorage: world.azurite.connectionString,
    // Never contacted: the world's own access options read the group's password.
    KEY_VAULT_URL: 'https://127.0.0.1:1',
    AZURE_CLIENT_ID: AZURE_SETTINGS.AZURE_CLIENT_ID,
    ADMIN_API_AUDIENCE: AZURE_SETTINGS.ADMIN_API_AUDIENCE,
    ADMIN_API_TENANT_ID: AZURE_SETTINGS.ADMIN_API_TENANT_ID,
    CONNECTOR_APP_CLIENT_ID: AZURE_SETTINGS.CONNECTOR_APP_CLIENT_ID,
    ...extraSettings,
  });
  const runtime = createSyncRuntime(config);
  return world.workerDeps({ ...(runtime.worker.limits ? { limits: runtime.worker.limits } : {}) });
}

/** Syncs alice while holding her job open with its slots taken, runs bob's job meanwhile, then lets alice finish. */
async function bobWhileAliceSyncs(groupId: string, deps: SyncWorkerDependencies): Promise<{ alice: SyncJobOutcome; bob: SyncJobOutcome }> {
  let aliceOpened!: () => void;
  const aliceIsSyncing = new Promise<void>((resolve) => (aliceOpened = resolve));
  let releaseAlice!: () => void;
  const aliceMayContinue = new Promise<void>((resolve) => (releaseAlice = resolve));
  const gated: SyncWorkerDependencies = {
    ...deps,
    openSource: async (group, mailbox) => {
      if (mailbox.smtpAddress === alice) {
        aliceOpened();
        await aliceMayContinue;
      }
      return deps.openSource(group, mailbox);
    },
  };
  const aliceRun = runSyncJob(newSyncJob(TENANT, groupId, alice, 'scheduled'), gated);
  try {
    const endedEarly = await Promise.race([aliceIsSyncing.then(() => undefined), aliceRun]);
    assert.equal(endedEarly, undefined, `alice's job ended before syncing: ${JSON.stringify(endedEarly)}`);
    const bobOutcome = await runSyncJob(newSyncJob(TENANT, groupId, bob, 'scheduled'), gated);
    releaseAlice();
    return { alice: await aliceRun, bob: bobOutcome };
  } finally {
    releaseAlice();
    await aliceRun.catch(() => undefined);
  }
}

function message(subject: string) {
  return { kind: 'message' as const, subject, body: { type: 'Text' as const, content: subject }, isRead: false };
}

describe('concurrency caps from the app settings', () => {
  it('defaults to 10 per account and 20 per tenant; rejects per-account caps above Exchange\'s 27 and caps below 1, naming the setting', () => {
    const defaults = loadConfig(AZURE_SETTINGS).sync;
    assert.equal(defaults.maxConcurrencyPerAccount, 10);
    assert.equal(defaults.maxConcurrencyPerTenant, 20);
    const set = loadConfig({ ...AZURE_SETTINGS, SYNC_MAX_CONCURRENCY_PER_ACCOUNT: '27', SYNC_MAX_CONCURRENCY_PER_TENANT: '50' }).sync;
    assert.deepEqual([set.maxConcurrencyPerAccount, set.maxConcurrencyPerTenant], [27, 50]);
    assert.throws(
      () => loadConfig({ ...AZURE_SETTINGS, SYNC_MAX_CONCURRENCY_PER_ACCOUNT: '28', SYNC_MAX_CONCURRENCY_PER_TENANT: '0' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigurationError);
        assert.match(error.message, /SYNC_MAX_CONCURRENCY_PER_ACCOUNT: must be at most 27 \(Exchange's default EWSMaxConcurrency per account\)/);
        assert.match(error.message, /SYNC_MAX_CONCURRENCY_PER_TENANT: /);
        return true;
      },
    );
    assert.throws(() => loadConfig({ ...AZURE_SETTINGS, SYNC_MAX_CONCURRENCY_PER_ACCOUNT: 'ten' }), /SYNC_MAX_CONCURRENCY_PER_ACCOUNT/);
  });

  it('with SYNC_MAX_CONCURRENCY_PER_ACCOUNT=1 two mailboxes of one group do not sync at once: the second job is re-queued with a delay', async () => {
    await world.addGroup('one-at-a-time', [alice, bob]);
    world.simulator.store.createItem(alice, { distinguished: 'inbox' }, message('cap alice'));
    world.simulator.store.createItem(bob, { distinguished: 'inbox' }, message('cap bob'));
    const deps = workerDepsFor({ SYNC_MAX_CONCURRENCY_PER_ACCOUNT: '1' });
    const sent = world.jobs.sent.length;

    const outcomes = await bobWhileAliceSyncs('one-at-a-time', deps);
    assert.equal(outcomes.bob.kind, 'noSlot');
    assert.equal(outcomes.alice.kind, 'completed');
    const requeued = world.jobs.sent.slice(sent);
    assert.equal(requeued.length, 1);
    assert.equal(requeued[0]!.job.mailbox, bob);
    assert.equal(requeued[0]!.job.reason, 'retry');
    // A slot frees within about one job's time: the default busy delay is 2–4 s (it was 20–40 s of pure waiting).
    assert.ok(requeued[0]!.delayInMs >= 2_000 && requeued[0]!.delayInMs <= 4_000, `delay ${requeued[0]!.delayInMs} ms`);
    const bobRecords = () => world.outbox.records(bob).filter((r) => r.groupId === 'one-at-a-time');
    assert.equal(bobRecords().length, 0, 'nothing of bob synced while alice held the only slot');
    assert.equal((await world.states.readProgress(TENANT, 'one-at-a-time', bob))?.continuationReason, 'noConcurrencySlot');
    assert.equal((await world.mailbox('one-at-a-time', bob)).status, 'pending');

    // The re-queued job runs once the slot is free.
    assert.equal((await runSyncJob(requeued[0]!.job, deps)).kind, 'completed');
    assert.deepEqual(bobRecords().map((r) => r.item?.subject), ['cap bob']);
  });

  it('with the default cap the same two mailboxes sync side by side', async () => {
    await world.addGroup('side-by-side', [alice, bob]);
    const sent = world.jobs.sent.length;
    const outcomes = await bobWhileAliceSyncs('side-by-side', workerDepsFor({}));
    assert.deepEqual([outcomes.alice.kind, outcomes.bob.kind], ['completed', 'completed']);
    assert.equal(world.jobs.sent.length, sent, 'nothing re-queued');
  });

  it('SYNC_MAX_CONCURRENCY_PER_TENANT caps mailboxes across the tenant\'s groups', async () => {
    await world.addGroup('tenant-a', [alice]);
    await world.addGroup('tenant-b', [bob]);
    const deps = workerDepsFor({ SYNC_MAX_CONCURRENCY_PER_TENANT: '1' });
    let aliceOpened!: () => void;
    const aliceIsSyncing = new Promise<void>((resolve) => (aliceOpened = resolve));
    let releaseAlice!: () => void;
    const aliceMayContinue = new Promise<void>((resolve) => (releaseAlice = resolve));
    const gated: SyncWorkerDependencies = {
      ...deps,
      openSource: async (group, mailbox) => {
        if (group.id === 'tenant-a') {
          aliceOpened();
          await aliceMayContinue;
        }
        return deps.openSource(group, mailbox);
      },
    };
    const aliceRun = runSyncJob(newSyncJob(TENANT, 'tenant-a', alice, 'scheduled'), gated);
    try {
      await aliceIsSyncing;
      assert.equal((await runSyncJob(newSyncJob(TENANT, 'tenant-b', bob, 'scheduled'), gated)).kind, 'noSlot');
    } finally {
      releaseAlice();
    }
    assert.equal((await aliceRun).kind, 'completed');
  });
});
