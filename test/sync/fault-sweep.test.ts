/**
 * Fault injection sweep (issue 11): every fault the EWS simulator can inject (dev/ews-simulator/faults.ts),
 * including every Exchange response code the product reacts to, on every EWS operation the connector
 * sends. Each ends in a retry (in-process, then success), a reschedule (job re-queued with a delay /
 * RetryLaterError) or a clear status (mailbox status error with a code / a typed EwsError) — never a
 * crashed tick, an untyped error or an unhandled rejection.
 *
 * SyncFolderItems and GetItem run through the sync worker (the mailbox status is checked); GetFolder,
 * FindFolder, DeleteItem, UpdateItem and CreateItem through the client with the retry policy, as the
 * connection test, delivery actions and outbound mail call them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { NewFaultRule } from '../../dev/ews-simulator/faults';
import { createMailboxClient, createThrottlingPolicy, deleteItems, EwsError, RetryLaterError, updateIsRead, withRetries, type KnownEwsResponseCode } from '../../shared/ews';
import { SecretString } from '../../shared/logging';
import { createEwsMailboxSource } from '../../shared/sync/ews-mailbox-source';
import { openMailboxClient } from '../../shared/sync/mailbox-access';
import { newSyncJob } from '../../shared/sync/sync-jobs';
import { runSyncJob, type SyncJobOutcome } from '../../shared/sync/sync-worker';
import { EWS_OPERATIONS } from '../ews/hostile-documents';
import { inParallel, watchProcessFailures } from '../support/hostile-server';
import { ORG_DOMAIN, SERVICE_ACCOUNT, SERVICE_PASSWORD, TENANT, startSyncWorld, type SyncWorld } from './sync-fixture';

const TIMEOUT_IN_MS = 1_500;

/** Every response code the product names (errors.ts), injected as a SOAP fault. */
const RESPONSE_CODES: readonly KnownEwsResponseCode[] = [
  'ErrorAccessDenied',
  'ErrorAccountDisabled',
  'ErrorBatchProcessingStopped',
  'ErrorConnectionFailed',
  'ErrorExceededConnectionCount',
  'ErrorImpersonateUserDenied',
  'ErrorImpersonationDenied',
  'ErrorInternalServerError',
  'ErrorInternalServerTransientError',
  'ErrorInvalidIdMalformed',
  'ErrorInvalidSyncStateData',
  'ErrorItemNotFound',
  'ErrorFolderNotFound',
  'ErrorMailboxMoveInProgress',
  'ErrorMailboxStoreUnavailable',
  'ErrorNonExistentMailbox',
  'ErrorPasswordExpired',
  'ErrorSchemaValidation',
  'ErrorServerBusy',
  'ErrorSyncFolderNotFound',
  'ErrorTimeoutExpired',
  'ErrorTooManyObjectsOpened',
];

const TRANSIENT = new Set(['ErrorMailboxStoreUnavailable', 'ErrorMailboxMoveInProgress', 'ErrorInternalServerTransientError', 'ErrorTimeoutExpired', 'ErrorConnectionFailed', 'ErrorTooManyObjectsOpened', 'ErrorBatchProcessingStopped', 'ErrorInternalServerError']);

type WorkerExpectation = 'completed' | 'throttled' | 'failed' | 'failedOrCompleted';

interface FaultCase {
  readonly name: string;
  readonly rule: Omit<NewFaultRule, 'operation' | 'principal'>;
  /** What the sync worker must end with when the fault hits its operation. */
  readonly worker: WorkerExpectation;
  /** The mailbox's lastError.code when the worker fails. */
  readonly statusCode?: string;
  /** The fault does not apply to the client-level operations (they succeed). */
  readonly clientPasses?: boolean;
}

function faultCases(): FaultCase[] {
  return [
    { name: 'serverBusy (long back-off)', rule: { kind: 'serverBusy', backOffInMs: 30_000 }, worker: 'throttled' },
    { name: 'serverBusy once (short back-off)', rule: { kind: 'serverBusy', backOffInMs: 10, count: 1 }, worker: 'completed' },
    { name: 'exceededConnectionCount', rule: { kind: 'exceededConnectionCount' }, worker: 'throttled' },
    { name: 'http503', rule: { kind: 'http503', retryAfterInSeconds: 30 }, worker: 'throttled' },
    { name: 'http429', rule: { kind: 'http429', retryAfterInSeconds: 30 }, worker: 'throttled' },
    { name: 'http500 (HTML)', rule: { kind: 'http500' }, worker: 'failed', statusCode: 'Unavailable' },
    { name: 'http500 once', rule: { kind: 'http500', count: 1 }, worker: 'completed' },
    { name: 'latency within the timeout', rule: { kind: 'latency', latencyInMs: 50 }, worker: 'completed' },
    { name: 'latency beyond the timeout', rule: { kind: 'latency', latencyInMs: TIMEOUT_IN_MS + 2_500 }, worker: 'failed', statusCode: 'Unavailable' },
    { name: 'connectionReset', rule: { kind: 'connectionReset' }, worker: 'failed', statusCode: 'Unavailable' },
    { name: 'connectionReset once', rule: { kind: 'connectionReset', count: 1 }, worker: 'completed' },
    // SyncFolderItems: once → a full re-sync from scratch; for ever → a clear status. Other operations ignore it.
    { name: 'invalidSyncState once', rule: { kind: 'invalidSyncState', count: 1 }, worker: 'completed' },
    { name: 'invalidSyncState', rule: { kind: 'invalidSyncState' }, worker: 'failed', clientPasses: true },
    ...RESPONSE_CODES.map((code): FaultCase => {
      if (code === 'ErrorServerBusy' || code === 'ErrorExceededConnectionCount') return { name: code, rule: { kind: 'responseCode', responseCode: code }, worker: 'throttled' };
      if (TRANSIENT.has(code)) return { name: code, rule: { kind: 'responseCode', responseCode: code }, worker: 'failed', statusCode: 'Unavailable' };
      // Non-transient codes end with a clear status (which one depends on the code) — or, for the
      // sync-state code, a full re-sync.
      return { name: code, rule: { kind: 'responseCode', responseCode: code }, worker: code === 'ErrorInvalidSyncStateData' ? 'failedOrCompleted' : 'failed' };
    }),
  ];
}

let world: SyncWorld;
let mailboxCounter = 0;
const SWEEP_MAILBOXES = Array.from({ length: 160 }, (_, i) => `sweep${i}@${ORG_DOMAIN}`);

before(async () => {
  world = await startSyncWorld({
    seed: (store) => {
      for (const address of SWEEP_MAILBOXES) store.addMailbox({ smtpAddress: address, displayName: address, password: 'User-Pass1' });
      store.grantImpersonation({ organisationId: 'contoso', principal: SERVICE_ACCOUNT, scope: { kind: 'list', mailboxes: SWEEP_MAILBOXES } });
    },
  });
});
after(async () => {
  await world.close();
});

function nextMailbox(): string {
  const address = SWEEP_MAILBOXES[mailboxCounter++];
  assert.ok(address, 'not enough sweep mailboxes');
  return address;
}

async function workerCase(fault: FaultCase, operation: 'SyncFolderItems' | 'GetItem'): Promise<string[]> {
  const mailbox = nextMailbox();
  const groupId = `sweep-${mailboxCounter}`;
  const addMail = (subjects: readonly string[]) => {
    for (const subject of subjects) world.simulator.store.createItem(mailbox, { distinguished: 'inbox' }, { kind: 'message', subject, body: { type: 'Text', content: subject }, isRead: false });
  };
  await world.addGroup(groupId, [mailbox]);
  const access = { ...world.access, ewsTimeoutInMs: TIMEOUT_IN_MS };
  const deps = world.workerDeps({
    limits: { perAccount: 200, perTenant: 200 },
    openSource: async (group, record) =>
      createEwsMailboxSource(await openMailboxClient(group, { smtpAddress: record.smtpAddress }, access), { sleep: async () => undefined, policy: createThrottlingPolicy({ maxAttempts: 2 }) }),
  });
  const name = `${operation} ← ${fault.name}`;
  // A first, clean sync: the fault then hits an incremental sync from a saved state, as in production.
  addMail(['one', 'two']);
  const first = await runSyncJob(newSyncJob(TENANT, groupId, mailbox, 'scheduled'), deps);
  if (first.kind !== 'completed') return [`${name}: the clean first sync ended ${first.kind}`];
  addMail(['three', 'four']);
  const rule = world.simulator.faults.add({ ...fault.rule, operation, principal: mailbox });
  const queued = world.jobs.sent.length;
  let outcome: SyncJobOutcome;
  try {
    outcome = await runSyncJob(newSyncJob(TENANT, groupId, mailbox, 'scheduled'), deps);
  } catch (error) {
    return [`${name}: the tick threw ${String(error)}`];
  } finally {
    world.simulator.faults.remove(rule.id);
  }
  const record = await world.mailbox(groupId, mailbox);
  const problems: string[] = [];
  // invalidSyncState applies to SyncFolderItems only; GetItem ignores it.
  const want: WorkerExpectation = fault.rule.kind === 'invalidSyncState' && operation !== 'SyncFolderItems' ? 'completed' : fault.worker;
  const ok =
    want === 'completed' ? outcome.kind === 'completed' :
    want === 'throttled' ? outcome.kind === 'throttled' :
    want === 'failed' ? outcome.kind === 'failed' :
    outcome.kind === 'failed' || outcome.kind === 'completed';
  if (!ok) problems.push(`outcome ${outcome.kind} (${JSON.stringify(outcome)}), expected ${want}`);
  if (outcome.kind === 'completed' && record.status !== 'ok') problems.push(`status ${record.status} after completing`);
  if (outcome.kind === 'throttled') {
    if (!world.jobs.sent.slice(queued).some((s) => s.job.groupId === groupId && s.delayInMs >= 1_000)) problems.push('not re-queued with a delay');
    if (record.status !== 'ok') problems.push(`status ${record.status} changed by a throttled job`);
  }
  if (outcome.kind === 'failed') {
    if (record.status !== 'error' || !record.lastError?.code || !record.lastError.message) problems.push(`unclear status ${record.status} ${JSON.stringify(record.lastError)}`);
    if (fault.statusCode && record.lastError?.code !== fault.statusCode) problems.push(`lastError ${record.lastError?.code}, expected ${fault.statusCode}`);
  }
  return problems.map((p) => `${name}: ${p}`);
}

const CLIENT_OPERATIONS = ['GetFolder', 'FindFolder', 'DeleteItem', 'UpdateItem', 'CreateItem'] as const;

/** The other operations through the client and the retry policy: success after a retry, RetryLaterError, or a typed EwsError. */
async function clientCase(fault: FaultCase): Promise<string[]> {
  const mailbox = nextMailbox();
  const client = createMailboxClient(world.simulator.url, { kind: 'basic', username: SERVICE_ACCOUNT, password: new SecretString(SERVICE_PASSWORD) }, { mailbox, allowInsecureHttp: true, timeoutInMs: TIMEOUT_IN_MS });
  const problems: string[] = [];
  for (const operation of CLIENT_OPERATIONS) {
    // DeleteItem and UpdateItem get a real message, so their other steps (UpdateItem's GetItem) succeed.
    const message = world.simulator.store.createItem(mailbox, { distinguished: 'inbox' }, { kind: 'message', subject: 'x', body: { type: 'Text', content: 'x' }, isRead: false });
    const run: () => Promise<unknown> =
      operation === 'UpdateItem' ? () => updateIsRead(client, [message.id], true) : operation === 'DeleteItem' ? () => deleteItems(client, [message.id], 'HardDelete') : () => EWS_OPERATIONS[operation]!(client);
    const rule = world.simulator.faults.add({ ...fault.rule, operation, principal: mailbox });
    const name = `${operation} ← ${fault.name}`;
    try {
      await withRetries(run, createThrottlingPolicy({ maxAttempts: 2 }), { sleep: async () => undefined, maxInlineDelayInMs: 2_000 });
      // A persistent fault on this very operation must not pass as a success.
      if (fault.worker !== 'completed' && !fault.clientPasses) problems.push(`${name}: succeeded despite the fault`);
    } catch (error) {
      if (!(error instanceof RetryLaterError) && !(error instanceof EwsError)) problems.push(`${name}: untyped ${String(error)}`);
      else if (fault.worker === 'completed' || fault.clientPasses) problems.push(`${name}: failed although the fault passes: ${String(error)}`);
    } finally {
      world.simulator.faults.remove(rule.id);
    }
  }
  return problems;
}

describe('fault injection sweep', () => {
  test('every simulator fault on every operation ends in a retry, a reschedule or a clear status', async () => {
    const cases = faultCases();
    const kinds = new Set(cases.map((c) => c.rule.kind));
    // Every kind the simulator offers is in the table.
    for (const kind of ['serverBusy', 'exceededConnectionCount', 'http503', 'http429', 'http500', 'latency', 'connectionReset', 'invalidSyncState', 'responseCode'] as const) assert.ok(kinds.has(kind), `fault kind ${kind} is not swept`);
    const workerCases = cases.flatMap((fault) => (['SyncFolderItems', 'GetItem'] as const).map((operation) => ({ fault, operation })));
    const started = Date.now();
    const { result, failures } = await watchProcessFailures(async () => [
      ...(await inParallel(workerCases, 16, ({ fault, operation }) => workerCase(fault, operation))),
      ...(await inParallel(cases, 16, (fault) => clientCase(fault))),
    ]);
    const problems = result.flat();
    console.log(`# fault sweep: ${cases.length} faults × ${2 + CLIENT_OPERATIONS.length} operations in ${Date.now() - started} ms`);
    assert.deepEqual(failures, [], 'no unhandled rejection or uncaught exception');
    assert.deepEqual(problems, []);
  });
});
