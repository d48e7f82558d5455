/**
 * (Graph vs EWS; `sync-bench.ts` measures the EWS path against the simulator's raw rate.)
 * Sync throughput end to end through the engine, EWS and Graph side by side in the same run: a
 * 20,000-item Inbox in one store behind the EWS simulator (HTTP, Basic + impersonation; the real
 * EWS client and source: SyncFolderItems pages of 512, GetItem batches of 50 with text bodies) and
 * the Graph simulator (the real Graph client and source: messages/delta with $select, 512 per
 * page); sync state and leases in in-memory Azurite tables, and an outbox that only counts
 * (delivery is measured by its own benchmarks).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { Benchmark, BenchContext, BenchResult } from './bench';
import { CountingOutbox } from './sync-bench';
import { startGraphSimulator } from './graph-simulator/server';
import { createGraphClient } from '../shared/graph/graph-client';
import { createGraphMailboxSource } from '../shared/sync/graph-mailbox-source';
import { startAzurite } from './azurite/azurite';
import { startEwsSimulator } from './ews-simulator/server';
import { fillMailbox } from './ews-simulator/seed';
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
const ENTRA_TENANT = '00000000-0000-4000-8000-0000000b0e0c';
const GRAPH_APP = 'c0ffee00-0000-4000-8000-0000000b0e0c';

interface SyncMeasurement {
  readonly elapsedInMs: number;
  readonly records: number;
  readonly batches: number;
  readonly pages: number;
}

/** Tokens for the Graph simulator, signed by a throwaway key it trusts (the identity provider is measured elsewhere). */
async function graphTokenIssuer(): Promise<{ readonly jwksUri: string; readonly token: string; close(): Promise<void> }> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'sync-bench', alg: 'RS256', use: 'sig' };
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const token = await new SignJWT({ tid: ENTRA_TENANT, appid: GRAPH_APP, roles: ['Mail.ReadWrite'] })
    .setProtectedHeader({ alg: 'RS256', kid: 'sync-bench' })
    .setAudience('https://graph.microsoft.com')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(privateKey);
  return {
    jwksUri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/keys`,
    token,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function run(context: BenchContext): Promise<BenchResult> {
  const azurite = await startAzurite({ inMemory: true });
  const issuer = await graphTokenIssuer();
  // One mailbox store behind both simulators, as one Exchange Online mailbox is behind EWS and Graph.
  const simulator = await startEwsSimulator({
    seed: (store) => {
      store.addOrganisation({ id: 'bench', name: 'Bench', domains: ['sync.bench'], entraTenantId: ENTRA_TENANT });
      store.addMailbox({ smtpAddress: MAILBOX, displayName: 'Bench', password: 'x' });
      store.addServiceAccount({ userPrincipalName: SERVICE_ACCOUNT, password: PASSWORD, organisationId: 'bench' });
      store.grantImpersonation({ organisationId: 'bench', principal: SERVICE_ACCOUNT, scope: { kind: 'all' } });
      fillMailbox(store, MAILBOX, { count: ITEM_COUNT, seed: 'sync-bench' });
    },
  });
  const graph = await startGraphSimulator({ store: simulator.store, identity: { jwksUri: () => issuer.jwksUri } });
  try {
    const storage = new TableStorage({ storage: { kind: 'connectionString', connectionString: new SecretString(azurite.connectionString) } });
    const at = new Date().toISOString();
    const tenants = new TenantsRepository(storage);
    const groups = new GroupsRepository(storage);
    const mailboxes = new MailboxesRepository(storage);
    // One tenant per protocol: sync state is kept per tenant and mailbox, so the same mailbox in two groups of one
    // tenant would read as a protocol switch, and the Graph pass would skip what the EWS pass delivered.
    const tenantOf = (groupId: 'ews' | 'graph'): string => `bench-${groupId}`;
    for (const groupId of ['ews', 'graph'] as const) await tenants.create({ id: tenantOf(groupId), displayName: `Bench ${groupId}`, status: 'active', createdAt: at, updatedAt: at });
    const common = { folders: ['mail'] as const, pollIntervalMinutes: 5, initialSync: { kind: 'all' } as const, enabled: true, createdAt: at, updatedAt: at };
    await groups.create({
      ...common, tenantId: tenantOf('ews'), id: 'ews', name: 'ews', externalId: 'ews', mailboxAccessType: 'impersonation', protocol: 'ews',
      impersonation: { serviceAccount: SERVICE_ACCOUNT, authScheme: 'basic' },
      credential: { kind: 'password', secretName: 'pw', secretVersion: '1', updatedAt: at },
    });
    await groups.create({ ...common, tenantId: tenantOf('graph'), id: 'graph', name: 'graph', externalId: 'graph', mailboxAccessType: 'appOnly', protocol: 'graph', appOnly: { entraTenantId: ENTRA_TENANT, clientId: GRAPH_APP } });
    for (const groupId of ['ews', 'graph'] as const) {
      await mailboxes.create({ tenantId: tenantOf(groupId), groupId, smtpAddress: MAILBOX, enabled: true, status: 'pending', counts: { created: 0, updated: 0, deleted: 0 }, createdAt: at, updatedAt: at });
    }
    const access = { environment: 'development' as const, defaultEwsUrl: simulator.url, authorityHost: 'https://localhost:1', readSecret: async () => new SecretString(PASSWORD) };
    const measure = async (groupId: 'ews' | 'graph'): Promise<SyncMeasurement> => {
      const outbox = new CountingOutbox();
      const jobs: SyncJobQueue = { enqueue: async () => undefined };
      context.collectGarbage();
      const started = performance.now();
      const outcome = await runSyncJob(newSyncJob(tenantOf(groupId), groupId, MAILBOX, 'manual'), {
        tenants, groups, mailboxes, jobs, outbox,
        states: new SyncStateRepository(storage),
        leases: new LeaseRepository(storage),
        openSource: async (group, mailbox) =>
          group.protocol === 'graph'
            ? createGraphMailboxSource(createGraphClient(graph.origin, mailbox.smtpAddress, async () => new SecretString(issuer.token)))
            : createEwsMailboxSource(await openMailboxClient(group, { smtpAddress: mailbox.smtpAddress }, access)),
        timeBudgetInMs: 30 * 60_000,
      });
      const elapsedInMs = performance.now() - started;
      if (outcome.kind !== 'completed') throw new Error(`${groupId} sync did not complete: ${JSON.stringify(outcome)}`);
      if (outbox.records !== ITEM_COUNT) throw new Error(`${groupId}: expected ${ITEM_COUNT} records, got ${outbox.records} (${JSON.stringify(outcome)})`);
      context.log(`${groupId}: ${outbox.records} records in ${outbox.batches} batches, ${outcome.totals.pages} pages, ${Math.round(elapsedInMs)} ms`);
      return { elapsedInMs, records: outbox.records, batches: outbox.batches, pages: outcome.totals.pages };
    };
    const ews = await measure('ews');
    const viaGraph = await measure('graph');
    const rate = (m: SyncMeasurement): number => Math.round((ITEM_COUNT / m.elapsedInMs) * 1000);
    return {
      metrics: [
        { name: 'sync throughput', value: rate(ews), unit: 'items/s', target: { atLeast: 500 } },
        { name: 'initial sync of 20k items', value: Math.round(ews.elapsedInMs), unit: 'ms' },
        { name: 'pages', value: ews.pages, unit: 'count' },
        { name: 'graph sync throughput', value: rate(viaGraph), unit: 'items/s', target: { atLeast: rate(ews) } },
        { name: 'graph initial sync of 20k items', value: Math.round(viaGraph.elapsedInMs), unit: 'ms' },
        { name: 'graph pages', value: viaGraph.pages, unit: 'count' },
        { name: 'graph / ews throughput', value: Math.round((rate(viaGraph) / Math.max(1, rate(ews))) * 100) / 100, unit: 'ratio', target: { atLeast: 1 } },
      ],
      notes: [
        'One worker, one mailbox, the same 20,000 messages behind both simulators (one store), measured one after the other in the same run.',
        'EWS: SyncFolderItems (IdOnly, 512 per page) + GetItem (50 ids, text body) over HTTP loopback, Basic + impersonation.',
        'Graph: messages/delta with $select of the record fields and text bodies, 512 per page (odata.maxpagesize), no second fetch (no attachments in this mailbox); bearer token checked per request.',
        'Sync state saved in Azurite after every page; the outbox only counts records.',
      ],
    };
  } finally {
    await graph.close();
    await simulator.close();
    await issuer.close();
    await azurite.close();
  }
}

export const benchmarks: Benchmark[] = [{ name: 'sync-throughput-graph-vs-ews', description: 'initial sync of the same 20,000-item mailbox through the sync engine over EWS and over Graph, side by side in one run (items/s)', run }];
