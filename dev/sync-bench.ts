/**
 * Sync throughput end to end through the engine: a 20,000-item Inbox in the EWS simulator (HTTP,
 * Basic + impersonation), the real EWS client and source (SyncFolderItems pages of 512, GetItem
 * batches of 50 with text bodies), sync state and leases in in-memory Azurite tables, and an
 * outbox that only counts (delivery is measured by its own benchmarks).
 */
import type { Benchmark, BenchContext, BenchResult } from './bench';
import { startAzurite } from './azurite/azurite';
import { startEwsSimulator } from './ews-simulator/server';
import { fillMailbox } from './ews-simulator/seed';
import type { ChangeBatch, DeliveryOutbox, OutboxReceipt } from '../shared/delivery/change-batch';
import { SecretString } from '../shared/logging';
import { GroupsRepository, MailboxesRepository, TableStorage, TenantsRepository } from '../shared/storage';
import { LeaseRepository } from '../shared/storage/lease-repository';
import { SyncStateRepository } from '../shared/storage/sync-state-repository';
import { createEwsMailboxSource } from '../shared/sync/ews-mailbox-source';
import { openMailboxClient } from '../shared/sync/mailbox-access';
import { newSyncJob } from '../shared/sync/sync-jobs';
import type { SyncJobQueue } from '../shared/sync/sync-jobs';
import { runSyncJob } from '../shared/sync/sync-worker';

const ITEM_COUNT = 20_000;
const MAILBOX = 'bench@sync.bench';
const SERVICE_ACCOUNT = 'svc@sync.bench';
const PASSWORD = 'Bench-Svc-Pass1';

class CountingOutbox implements DeliveryOutbox {
  records = 0;
  batches = 0;
  async enqueue(batch: ChangeBatch): Promise<OutboxReceipt> {
    this.records += batch.records.length;
    this.batches++;
    return { batchId: batch.batchId, claimCheck: false };
  }
}

async function run(context: BenchContext): Promise<BenchResult> {
  const azurite = await startAzurite({ inMemory: true });
  const simulator = await startEwsSimulator({
    seed: (store) => {
      store.addOrganisation({ id: 'bench', name: 'Bench', domains: ['sync.bench'] });
      store.addMailbox({ smtpAddress: MAILBOX, displayName: 'Bench', password: 'x' });
      store.addServiceAccount({ userPrincipalName: SERVICE_ACCOUNT, password: PASSWORD, organisationId: 'bench' });
      store.grantImpersonation({ organisationId: 'bench', principal: SERVICE_ACCOUNT, scope: { kind: 'all' } });
      fillMailbox(store, MAILBOX, { count: ITEM_COUNT, seed: 'sync-bench' });
    },
  });
  try {
    const storage = new TableStorage({ storage: { kind: 'connectionString', connectionString: new SecretString(azurite.connectionString) } });
    const at = new Date().toISOString();
    const tenants = new TenantsRepository(storage);
    const groups = new GroupsRepository(storage);
    const mailboxes = new MailboxesRepository(storage);
    await tenants.create({ id: 'bench', displayName: 'Bench', status: 'active', createdAt: at, updatedAt: at });
    await groups.create({
      tenantId: 'bench', id: 'g', name: 'g', externalId: 'g', mailboxAccessType: 'impersonation',
      impersonation: { serviceAccount: SERVICE_ACCOUNT, authScheme: 'basic' },
      credential: { kind: 'password', secretName: 'pw', secretVersion: '1', updatedAt: at },
      folders: ['mail'], pollIntervalMinutes: 5, initialSync: { kind: 'all' }, enabled: true, createdAt: at, updatedAt: at,
    });
    await mailboxes.create({ tenantId: 'bench', groupId: 'g', smtpAddress: MAILBOX, enabled: true, status: 'pending', counts: { created: 0, updated: 0, deleted: 0 }, createdAt: at, updatedAt: at });
    const outbox = new CountingOutbox();
    const jobs: SyncJobQueue = { enqueue: async () => undefined };
    const access = { environment: 'development' as const, defaultEwsUrl: simulator.url, authorityHost: 'https://localhost:1', readSecret: async () => new SecretString(PASSWORD) };
    context.collectGarbage();
    const started = performance.now();
    const outcome = await runSyncJob(newSyncJob('bench', 'g', MAILBOX, 'manual'), {
      tenants, groups, mailboxes, jobs, outbox,
      states: new SyncStateRepository(storage),
      leases: new LeaseRepository(storage),
      openSource: async (group, mailbox) => createEwsMailboxSource(await openMailboxClient(group, { smtpAddress: mailbox.smtpAddress }, access)),
      timeBudgetInMs: 30 * 60_000,
    });
    const elapsedInMs = performance.now() - started;
    if (outcome.kind !== 'completed') throw new Error(`sync did not complete: ${JSON.stringify(outcome)}`);
    if (outbox.records !== ITEM_COUNT) throw new Error(`expected ${ITEM_COUNT} records, got ${outbox.records}`);
    context.log(`${outbox.records} records in ${outbox.batches} batches, ${outcome.totals.pages} pages, ${Math.round(elapsedInMs)} ms`);
    return {
      metrics: [
        { name: 'sync throughput', value: Math.round((ITEM_COUNT / elapsedInMs) * 1000), unit: 'items/s', target: { atLeast: 500 } },
        { name: 'initial sync of 20k items', value: Math.round(elapsedInMs), unit: 'ms' },
        { name: 'pages', value: outcome.totals.pages, unit: 'count' },
      ],
      notes: [
        'One worker, one mailbox: SyncFolderItems (IdOnly, 512 per page) + GetItem (50 ids, text body) over HTTP loopback to the simulator in the same process.',
        'Sync state saved in Azurite after every page; the outbox only counts records.',
      ],
    };
  } finally {
    await simulator.close();
    await azurite.close();
  }
}

export const benchmarks: Benchmark[] = [{ name: 'sync-throughput', description: 'initial sync of a 20,000-item mailbox through the sync engine (items/s)', run }];
