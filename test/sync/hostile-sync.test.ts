/**
 * Hostile servers through the sync worker (issue 11): a group whose EWS URL leads to a misbehaving
 * server ends its job with the right outcome and mailbox status (error with a code, or re-queued when
 * throttled), saves no sync state, leaks no credential, and a healthy mailbox synced at the same time
 * completes untouched. Covers the first call of a sync (SyncFolderItems) and the item fetch (GetItem).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createThrottlingPolicy } from '../../shared/ews';
import { createEwsMailboxSource } from '../../shared/sync/ews-mailbox-source';
import { openMailboxClient } from '../../shared/sync/mailbox-access';
import { newSyncJob } from '../../shared/sync/sync-jobs';
import { runSyncJob, type SyncJobOutcome } from '../../shared/sync/sync-worker';
import { requestedOperation, ewsDocuments, syncFolderItemsResponse } from '../ews/hostile-documents';
import {
  describeBehaviour,
  HOSTILE_STATUSES,
  NETWORK_BEHAVIOURS,
  startHostileServer,
  watchProcessFailures,
  XML_HAZARDS,
  type HostileBehaviour,
  type HostileServer,
} from '../support/hostile-server';
import { ALLOWED, SERVICE_ACCOUNT, SERVICE_PASSWORD, TENANT, startSyncWorld, type SyncWorld } from './sync-fixture';

const TIMEOUT_IN_MS = 3_000;
const SECRETS = [SERVICE_PASSWORD, Buffer.from(`${SERVICE_ACCOUNT}:${SERVICE_PASSWORD}`).toString('base64')];

let world: SyncWorld;
let server: HostileServer;

before(async () => {
  world = await startSyncWorld();
  server = await startHostileServer(ewsDocuments);
});
after(async () => {
  await server.close();
  await world.close();
});

type Expected = { readonly outcome: 'throttled' } | { readonly outcome: 'failed'; readonly codes: readonly string[] };

function expected(behaviour: HostileBehaviour): Expected {
  if (behaviour.kind === 'sequence') return expected(behaviour.then);
  if (behaviour.kind === 'network') return { outcome: 'failed', codes: ['Unavailable'] };
  if (behaviour.kind === 'xmlHazard') return { outcome: 'failed', codes: ['XmlDtdRefused'] };
  if (behaviour.body === 'huge') return { outcome: 'failed', codes: ['ResponseTooLarge'] };
  switch (behaviour.status) {
    case 429:
    case 503:
      return { outcome: 'throttled' };
    case 401:
      return { outcome: 'failed', codes: ['AuthenticationFailed'] };
    case 403:
      return { outcome: 'failed', codes: ['EwsDisabled'] };
    case 404:
      return { outcome: 'failed', codes: ['Configuration'] };
    case 400:
      return { outcome: 'failed', codes: ['ProtocolError'] };
    case 500:
    case 502:
      return { outcome: 'failed', codes: ['Unavailable'] };
    case 200:
      return { outcome: 'failed', codes: ['MalformedResponse', 'UnexpectedContentType', 'ProtocolError'] };
  }
}

/** A representative part of the matrix: every status with two body kinds, the other 200 bodies, DTDs, network. */
function representative(): HostileBehaviour[] {
  const list: HostileBehaviour[] = [];
  for (const status of HOSTILE_STATUSES) for (const body of ['html', 'truncated'] as const) list.push({ kind: 'answer', status, body });
  for (const body of ['empty', 'json', 'wrongOperation', 'invalidUtf8', 'huge'] as const) list.push({ kind: 'answer', status: 200, body });
  list.push({ kind: 'answer', status: 500, body: 'huge' });
  for (const hazard of XML_HAZARDS) list.push({ kind: 'xmlHazard', status: 200, hazard });
  list.push({ kind: 'xmlHazard', status: 500, hazard: 'billionLaughs' });
  for (const behaviour of NETWORK_BEHAVIOURS) list.push({ kind: 'network', behaviour });
  return list;
}

/** For the GetItem step: SyncFolderItems answers properly, every later request is hostile. */
function atGetItem(then: HostileBehaviour): HostileBehaviour {
  return {
    kind: 'sequence',
    first: (request) => {
      assert.equal(requestedOperation(request.body), 'SyncFolderItems');
      return { status: 200, contentType: 'text/xml; charset=utf-8', body: syncFolderItemsResponse('AAMkHostile1') };
    },
    then,
  };
}

let groupCounter = 0;

async function runHostileJob(behaviour: HostileBehaviour): Promise<string[]> {
  const groupId = `hostile-${++groupCounter}`;
  const mailbox = ALLOWED[0]!;
  await world.addGroup(groupId, [mailbox], { ewsUrl: server.caseUrl(behaviour) });
  const access = { ...world.access, ewsTimeoutInMs: TIMEOUT_IN_MS, ewsMaxResponseBytes: 256 * 1024 };
  const deps = world.workerDeps({
    // All cases share one service account; the pools' caps are not under test here.
    limits: { perAccount: 100, perTenant: 100 },
    openSource: async (group, record) =>
      createEwsMailboxSource(await openMailboxClient(group, { smtpAddress: record.smtpAddress }, access), { sleep: async () => undefined, policy: createThrottlingPolicy({ maxAttempts: 2 }) }),
  });
  const queuedBefore = world.jobs.sent.length;
  const started = Date.now();
  const problems: string[] = [];
  let outcome: SyncJobOutcome;
  try {
    outcome = await runSyncJob(newSyncJob(TENANT, groupId, mailbox, 'scheduled'), deps);
  } catch (error) {
    return [`the job threw ${String(error)}`];
  }
  const elapsed = Date.now() - started;
  // Two attempts (the policy's maxAttempts) at most, each bounded by the timeout, plus storage round trips and a busy machine.
  if (elapsed > 2 * TIMEOUT_IN_MS + 15_000) problems.push(`took ${elapsed} ms`);
  const record = await world.mailbox(groupId, mailbox);
  const want = expected(behaviour);
  if (want.outcome === 'throttled') {
    if (outcome.kind !== 'throttled') problems.push(`outcome ${outcome.kind} ${JSON.stringify(outcome)}, expected throttled`);
    if (record.status !== 'pending') problems.push(`status ${record.status}, expected pending (unchanged)`);
    if (!world.jobs.sent.slice(queuedBefore).some((s) => s.job.groupId === groupId && s.delayInMs >= 1_000)) problems.push('the job was not re-queued with a delay');
  } else {
    if (outcome.kind !== 'failed') problems.push(`outcome ${outcome.kind}, expected failed`);
    if (record.status !== 'error') problems.push(`status ${record.status}, expected error`);
    if (!want.codes.includes(record.lastError?.code ?? '')) problems.push(`lastError ${record.lastError?.code} (${record.lastError?.message}), expected ${want.codes.join('|')}`);
  }
  const state = await world.states.read({ tenantId: TENANT, groupId, mailbox, folder: 'inbox' });
  if (state.syncState !== undefined) problems.push('the sync state advanced');
  if (world.outbox.records(mailbox).some((r) => r.groupId === groupId)) problems.push('records were delivered');
  const stored = JSON.stringify(record);
  for (const secret of SECRETS) if (stored.includes(secret)) problems.push('a credential appears in the mailbox record');
  return problems.map((p) => `${describeBehaviour(behaviour)}: ${p}`);
}

describe('hostile EWS servers through the sync worker', () => {
  test('each case ends with the right outcome and mailbox status; a healthy mailbox syncs meanwhile', async () => {
    const healthy = ALLOWED[1]!;
    await world.addGroup('healthy', [healthy]);
    world.simulator.store.createItem(healthy, { distinguished: 'inbox' }, { kind: 'message', subject: 'still delivered', body: { type: 'Text', content: 'x' }, isRead: false });
    const behaviours = [...representative(), ...[
      { kind: 'answer', status: 500, body: 'text' },
      { kind: 'answer', status: 200, body: 'html' },
      { kind: 'answer', status: 503, body: 'empty' },
      { kind: 'xmlHazard', status: 200, hazard: 'billionLaughs' },
      { kind: 'network', behaviour: 'slowDrip' },
      { kind: 'network', behaviour: 'resetMidBody' },
    ].map((b) => atGetItem(b as HostileBehaviour))];
    const { result, failures } = await watchProcessFailures(() =>
      Promise.all([Promise.all(behaviours.map((b) => runHostileJob(b))), runSyncJob(newSyncJob(TENANT, 'healthy', healthy, 'scheduled'), world.workerDeps())]),
    );
    const [problems, healthyOutcome] = result;
    assert.deepEqual(failures, [], 'no unhandled rejection or uncaught exception');
    assert.deepEqual(problems.flat(), []);
    assert.equal(healthyOutcome.kind, 'completed');
    assert.ok(world.outbox.records(healthy).some((r) => r.item?.subject === 'still delivered'));
    assert.equal(server.externalFetches, 0);
  });
});
