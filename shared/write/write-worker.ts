/**
 * Carries out one accepted write operation, under the same rules as a sync job: a lease (here
 * per operation, so a redelivered message never runs beside the first), a slot in the tenant's
 * and the account's concurrency pools (the same pools sync uses, so writes and syncs together
 * stay below Exchange's EWSMaxConcurrency), in-process retries only for short back-offs, and a
 * re-queue with a visibility delay for anything longer — never sleeping in the function.
 *
 * Idempotency across crashes: the attempt counter is saved BEFORE Exchange is called; a create
 * carries the operation id as a marker property in the same CreateItem. A later attempt (the
 * queue redelivers after a crash) first looks for an item with that marker and adopts it, so a
 * crash between Exchange's answer and our bookkeeping never creates a second item.
 */
import { randomUUID } from 'node:crypto';
import { createChangeBatch } from '../delivery/change-batch';
import type { ChangeItem, DeliveryOutbox, OperationResultEvent } from '../delivery/change-batch';
import type { Logger } from '../logging';
import { ConcurrencySlots } from '../storage/concurrency-slots';
import type { Stored } from '../storage/entity-table';
import type { GroupsRepository } from '../storage/groups-repository';
import { isLeaseHeld } from '../storage/lease-repository';
import type { Lease, LeaseRepository } from '../storage/lease-repository';
import type { MailboxesRepository } from '../storage/mailboxes-repository';
import type { GroupRecord, MailboxRecord } from '../storage/records';
import { encodeKeyPart, joinKeyParts } from '../storage/table-keys';
import type { TenantsRepository } from '../storage/tenants-repository';
import { MailboxSourceError } from '../sync/mailbox-source';
import { concurrencyPools } from '../sync/sync-worker';
import type { SyncLimits } from '../sync/sync-worker';
import type { ItemTarget, MailboxWriter, WriteOutcome } from './mailbox-writer';
import { WRITE_OPERATIONS_POISON_QUEUE } from './write-jobs';
import type { WriteJob, WriteJobQueue } from './write-jobs';
import { writeOperationRequest } from './write-operation';
import type { OperationView, WriteOperationRequest } from './write-operation';
import type { MailboxKey, OperationRecord, WriteStore } from './write-store';

export interface WriteWorkerDependencies {
  readonly tenants: TenantsRepository;
  readonly groups: GroupsRepository;
  readonly mailboxes: MailboxesRepository;
  readonly leases: LeaseRepository;
  readonly store: WriteStore;
  readonly jobs: WriteJobQueue;
  /** Where operationResult events go: the group's delivery target, signed like change batches. */
  readonly outbox: DeliveryOutbox;
  openWriter(group: GroupRecord, mailbox: MailboxRecord): Promise<MailboxWriter>;
  readonly limits?: Partial<WriteLimits>;
  readonly log?: Logger;
  readonly now?: () => Date;
  /**
   * Called right after Exchange answered and before any bookkeeping. Production leaves it unset;
   * the crash test makes its child process SIGKILL itself here.
   */
  readonly afterExchangeAnswered?: (operationId: string) => void | Promise<void>;
}

export interface WriteLimits extends Pick<SyncLimits, 'perAccount' | 'perTenant' | 'leaseDurationInMs' | 'busyRetryDelayInMs' | 'throttledDelayInMs'> {
  /** Attempts (passing failures: Exchange unavailable) before the operation fails. Default 6. */
  readonly maxAttempts: number;
}

const DEFAULT_LIMITS: WriteLimits = { perAccount: 10, perTenant: 20, leaseDurationInMs: 120_000, busyRetryDelayInMs: 20_000, throttledDelayInMs: 60_000, maxAttempts: 6 };

export type WriteJobOutcome =
  | { readonly kind: 'completed'; readonly status: OperationRecord['status'] }
  | { readonly kind: 'requeued'; readonly reason: string; readonly delayInMs: number }
  | { readonly kind: 'skipped'; readonly reason: string };

export function operationViewOf(record: OperationRecord): OperationView {
  return {
    operationId: record.operationId,
    idempotencyKey: record.request.idempotencyKey,
    operation: record.request.operation,
    mailbox: record.mailbox,
    status: record.status,
    ...(record.itemId ? { itemId: record.itemId } : {}),
    ...(record.externalId ? { externalId: record.externalId } : {}),
    ...(record.version ? { version: record.version } : {}),
    ...(record.currentItem ? { currentItem: record.currentItem as unknown as OperationView['currentItem'] } : {}),
    ...(record.error ? { error: record.error } : {}),
    attempts: record.attempts,
    acceptedAt: record.acceptedAt,
    ...(record.completedAt ? { completedAt: record.completedAt } : {}),
  };
}

function resultEvent(record: OperationRecord): OperationResultEvent {
  return {
    type: 'operationResult',
    operationId: record.operationId,
    idempotencyKey: record.request.idempotencyKey,
    operation: record.request.operation,
    status: record.status as OperationResultEvent['status'],
    ...(record.itemId ? { itemId: record.itemId } : {}),
    ...(record.externalId ? { externalId: record.externalId } : {}),
    ...(record.version ? { version: record.version } : {}),
    ...(record.currentItem ? { currentItem: record.currentItem } : {}),
    ...(record.error ? { error: record.error } : {}),
    completedAt: record.completedAt ?? new Date().toISOString(),
  };
}

const TERMINAL = new Set(['succeeded', 'conflict', 'failed']);

export async function runWriteJob(job: WriteJob, deps: WriteWorkerDependencies): Promise<WriteJobOutcome> {
  const limits: WriteLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  const now = deps.now ?? (() => new Date());
  const log = deps.log?.with({ tenantId: job.tenantId, groupId: job.groupId, mailbox: job.mailbox, operationId: job.operationId });
  const key: MailboxKey = { tenantId: job.tenantId, groupId: job.groupId, mailbox: job.mailbox };
  const holder = randomUUID();
  const jitter = () => Math.round(limits.busyRetryDelayInMs * (1 + Math.random()));

  let record = await deps.store.findOperation(key, job.operationId);
  if (!record) return { kind: 'skipped', reason: 'unknownOperation' };
  if (TERMINAL.has(record.status)) {
    // Finished earlier; a crash may have come between the result and its event.
    if (!record.resultEnqueuedAt) await publishResult(deps, record, now);
    return { kind: 'skipped', reason: 'alreadyDone' };
  }
  const parsed = writeOperationRequest.safeParse(record.request);
  if (!parsed.success) return { kind: 'completed', status: (await finish(deps, record, now, { status: 'failed', error: { code: 'InvalidOperation', message: 'The stored operation is not valid.' } })).status };
  const request = parsed.data;

  const tenant = await deps.tenants.find(job.tenantId);
  const group = await deps.groups.find(job.tenantId, job.groupId);
  const mailbox = await deps.mailboxes.find(job.tenantId, job.groupId, job.mailbox);
  if (!tenant || tenant.status !== 'active' || !group || !group.enabled || !mailbox || !mailbox.enabled) {
    const done = await finish(deps, record, now, { status: 'failed', error: { code: 'MailboxUnavailable', message: 'The tenant, group or mailbox is gone, suspended or disabled.' } });
    return { kind: 'completed', status: done.status };
  }

  const lease = await deps.leases.tryAcquire(joinKeyParts('writeop', encodeKeyPart(job.tenantId), encodeKeyPart(job.groupId)), job.operationId, holder, limits.leaseDurationInMs);
  if (isLeaseHeld(lease)) {
    const delayInMs = jitter();
    await deps.jobs.enqueue({ ...job, enqueuedAt: now().toISOString() }, { delayInMs });
    return { kind: 'requeued', reason: 'leaseHeld', delayInMs };
  }
  const slotsApi = new ConcurrencySlots(deps.leases);
  let slots: Lease[] = [];
  try {
    const taken = await slotsApi.tryAcquireAll(concurrencyPools(group, job.mailbox, { ...limits } as SyncLimits), holder, limits.leaseDurationInMs);
    if (!taken) {
      const delayInMs = jitter();
      await deps.jobs.enqueue({ ...job, enqueuedAt: now().toISOString() }, { delayInMs });
      log?.info('No concurrency slot free; write re-queued', { delayInMs });
      return { kind: 'requeued', reason: 'noSlot', delayInMs };
    }
    slots = taken;
    // Counted before Exchange is called: attempt > 1 means an earlier attempt may have written already.
    record = await deps.store.saveOperation({ ...record, status: 'running', attempts: record.attempts + 1 }, record.etag);
    try {
      const writer = await deps.openWriter(group, mailbox);
      const outcome = await recogniseOwnEarlierWrite(writer, request, record, await carryOut(writer, request, record, deps, key), deps, key);
      await deps.afterExchangeAnswered?.(record.operationId);
      const done = await bookkeeping(deps, record, request, outcome, key, now);
      log?.info('Write operation finished', { status: done.status });
      return { kind: 'completed', status: done.status };
    } catch (error) {
      if (!(error instanceof MailboxSourceError)) throw error;
      const passing = error.code === 'Throttled' || error.code === 'Unavailable';
      if (passing && record.attempts < limits.maxAttempts) {
        const delayInMs = error.retryAfterInMs ?? (error.code === 'Throttled' ? limits.throttledDelayInMs : jitter());
        await deps.store.saveOperation({ ...record, status: 'queued' }, record.etag);
        await deps.jobs.enqueue({ ...job, enqueuedAt: now().toISOString() }, { delayInMs });
        log?.warn('Write re-queued after a passing failure', { errorCode: error.sourceCode ?? error.code, delayInMs });
        return { kind: 'requeued', reason: error.code, delayInMs };
      }
      const done = await finish(deps, record, now, { status: 'failed', error: { code: error.sourceCode ?? error.code, message: error.message } });
      return { kind: 'completed', status: done.status };
    }
  } finally {
    await slotsApi.releaseAll(slots).catch(() => undefined);
    await deps.leases.release(lease).catch(() => undefined);
  }
}

/**
 * A message the Functions host gave up on (maxDequeueCount failed runs: the host crashed or the
 * worker threw something that is not an Exchange answer) lands in write-operations-poison. Its
 * operation must not stay `running` forever: it ends `failed` with the reason, and the
 * operationResult event says so. Exchange may have applied it before a crash, which the message
 * says; nothing more is tried.
 */
export async function failPoisonedOperation(job: WriteJob, deps: WriteWorkerDependencies): Promise<WriteJobOutcome> {
  const now = deps.now ?? (() => new Date());
  const key: MailboxKey = { tenantId: job.tenantId, groupId: job.groupId, mailbox: job.mailbox };
  const record = await deps.store.findOperation(key, job.operationId);
  if (!record) return { kind: 'skipped', reason: 'unknownOperation' };
  if (TERMINAL.has(record.status)) {
    if (!record.resultEnqueuedAt) await publishResult(deps, record, now);
    return { kind: 'skipped', reason: 'alreadyDone' };
  }
  const done = await finish(deps, record, now, {
    status: 'failed',
    error: {
      code: 'PoisonMessage',
      message: `The operation's queue message failed in the Functions host on every delivery (after attempt ${record.attempts}; a crash or a bug, not an answer from Exchange) and was moved to ${WRITE_OPERATIONS_POISON_QUEUE}; nothing more is tried. Exchange may have applied it before a crash: read the item before sending it again under a new idempotency key.`,
    },
  });
  deps.log?.error('Write operation failed: its message was poisoned', { tenantId: job.tenantId, groupId: job.groupId, operationId: job.operationId, attempts: record.attempts });
  return { kind: 'completed', status: done.status };
}

type ResolvedTarget = { readonly ok: true; readonly target: ItemTarget } | { readonly ok: false; readonly outcome: WriteOutcome };

async function resolveTarget(writer: MailboxWriter, request: Extract<WriteOperationRequest, { item: unknown }>, deps: WriteWorkerDependencies, key: MailboxKey): Promise<ResolvedTarget> {
  const reference = request.item;
  const occurrence = {
    ...(reference.occurrenceIndex !== undefined ? { occurrenceIndex: reference.occurrenceIndex } : {}),
    itemType: 'itemType' in request ? request.itemType : ('message' as const),
  };
  if (reference.itemId !== undefined) return { ok: true, target: { itemId: reference.itemId, ...occurrence } };
  const itemType = 'itemType' in request && request.itemType !== 'message' ? request.itemType : undefined;
  const externalId = reference.externalId ?? '';
  const mapped = await deps.store.itemIdOf(key, itemType ?? 'message', externalId);
  if (mapped) return { ok: true, target: { itemId: mapped, ...occurrence } };
  // The Table mapping may be missing (restored storage, a protocol migration): the item's own marker still names it.
  const marked = itemType ? await writer.findByExternalId(itemType, externalId) : undefined;
  if (marked) {
    await deps.store.mapExternalId(key, itemType!, externalId, marked.itemId);
    return { ok: true, target: { itemId: marked.itemId, ...occurrence } };
  }
  return { ok: false, outcome: { kind: 'notFound', message: 'No item carries this external id in the mailbox.' } };
}

async function carryOut(writer: MailboxWriter, request: WriteOperationRequest, record: OperationRecord, deps: WriteWorkerDependencies, key: MailboxKey): Promise<WriteOutcome> {
  if (request.operation === 'create') {
    if (record.attempts > 1) {
      const existing = await writer.findCreated(request.itemType, record.operationId);
      if (existing) return { kind: 'written', ...existing };
    }
    if (request.externalId !== undefined && (await deps.store.itemIdOf(key, request.itemType, request.externalId))) {
      return { kind: 'rejected', code: 'ExternalIdInUse', message: 'An item with this external id already exists in the mailbox; update it instead.' };
    }
    const write = { itemType: request.itemType, fields: request.fields } as Parameters<MailboxWriter['create']>[0]['write'];
    return writer.create({ write, operationId: record.operationId, externalId: request.externalId, invitations: request.itemType === 'calendarItem' ? request.sendInvitations : 'none' });
  }
  const resolved = await resolveTarget(writer, request, deps, key);
  if (!resolved.ok) return resolved.outcome;
  switch (request.operation) {
    case 'update': {
      const write = { itemType: request.itemType, fields: request.fields } as Parameters<MailboxWriter['update']>[2];
      return writer.update(resolved.target, request.expectedVersion, write, request.itemType === 'calendarItem' ? request.sendInvitations : 'none', record.operationId);
    }
    case 'delete':
      // Echo first: sync may see the deletion before our bookkeeping runs.
      return announced(deps, key, resolved.target, 'deleted', record.operationId, () => writer.delete(resolved.target, request.expectedVersion, request.sendInvitations));
    case 'setReadState':
      return announced(deps, key, resolved.target, `read=${request.isRead}`, record.operationId, () => writer.apply(resolved.target, { kind: 'setReadState', isRead: request.isRead }, request.expectedVersion));
    case 'setFlag':
      return writer.apply(resolved.target, { kind: 'setFlag', flag: request.flag }, request.expectedVersion);
    case 'setCategories':
      return writer.apply(resolved.target, { kind: 'setCategories', categories: request.categories }, request.expectedVersion);
    case 'move':
      // A move shows in the source folder's sync as a deletion.
      return announced(deps, key, resolved.target, 'deleted', record.operationId, () => writer.apply(resolved.target, { kind: 'move', destinationFolder: request.destinationFolder }, request.expectedVersion));
  }
}

/**
 * A retry (attempt > 1) may meet its own earlier write: the crash came after Exchange applied it
 * and before our bookkeeping. What would otherwise be a conflict (the version moved on) or a
 * missing item is then recognised as that success:
 * - update: the item's LastOperationId marker (written in the same UpdateItem / PATCH) is ours;
 * - delete: the item is gone;
 * - setReadState / setCategories: the item is already in the requested state.
 * Not recognised (documented): a single occurrence, a To Do task update over Graph, setFlag, move.
 */
async function recogniseOwnEarlierWrite(writer: MailboxWriter, request: WriteOperationRequest, record: OperationRecord, outcome: WriteOutcome, deps: WriteWorkerDependencies, key: MailboxKey): Promise<WriteOutcome> {
  if (record.attempts <= 1 || request.operation === 'create' || (outcome.kind !== 'conflict' && outcome.kind !== 'notFound')) return outcome;
  const resolved = await resolveTarget(writer, request, deps, key);
  if (!resolved.ok) return outcome;
  const target = resolved.target;
  if (request.operation === 'delete' && outcome.kind === 'notFound' && target.occurrenceIndex === undefined) return { kind: 'deleted', itemId: target.itemId };
  if (outcome.kind !== 'conflict') return outcome;
  if (request.operation === 'update' && target.occurrenceIndex === undefined) {
    const mark = await writer.lastOperation(target);
    if (mark?.operationId === record.operationId) return { kind: 'written', itemId: mark.itemId, version: mark.version };
  }
  const current = outcome.current as (ChangeItem & { isRead?: boolean; categories?: readonly string[] }) | undefined;
  if (current && outcome.currentVersion) {
    const same =
      (request.operation === 'setReadState' && current.isRead === request.isRead) ||
      (request.operation === 'setCategories' && JSON.stringify([...(current.categories ?? [])]) === JSON.stringify(request.categories));
    if (same) return { kind: 'written', itemId: current.id, version: outcome.currentVersion };
  }
  return outcome;
}

/**
 * Records the echo before the write (sync may read the change before our bookkeeping) and
 * withdraws it when nothing was written, so a later user change is never taken for ours. A crash
 * in between leaves the row: the worst case is one user change of that kind marked as ours.
 */
async function announced(deps: WriteWorkerDependencies, key: MailboxKey, target: ItemTarget, version: string, operationId: string, write: () => Promise<WriteOutcome>): Promise<WriteOutcome> {
  await deps.store.recordWrite(key, target.itemId, version, operationId);
  let outcome: WriteOutcome | undefined;
  try {
    outcome = await write();
    return outcome;
  } finally {
    if (outcome === undefined || (outcome.kind !== 'written' && outcome.kind !== 'deleted')) await deps.store.forgetWrite(key, target.itemId, version);
  }
}

async function bookkeeping(deps: WriteWorkerDependencies, record: Stored<OperationRecord>, request: WriteOperationRequest, outcome: WriteOutcome, key: MailboxKey, now: () => Date): Promise<OperationRecord> {
  const externalId = request.operation === 'create' ? request.externalId : 'item' in request ? request.item.externalId : undefined;
  switch (outcome.kind) {
    case 'written': {
      await deps.store.recordWrite(key, outcome.itemId, outcome.version, record.operationId);
      for (const related of outcome.related ?? []) await deps.store.recordWrite(key, related.itemId, related.version, record.operationId);
      const itemType = 'itemType' in request ? request.itemType : 'message';
      if (externalId !== undefined && (request.operation === 'create' || request.operation === 'move')) await deps.store.mapExternalId(key, itemType, externalId, outcome.itemId);
      return finish(deps, record, now, { status: 'succeeded', itemId: outcome.itemId, version: outcome.version, externalId });
    }
    case 'deleted':
      for (const related of outcome.related ?? []) await deps.store.recordWrite(key, related.itemId, related.version, record.operationId);
      return finish(deps, record, now, { status: 'succeeded', itemId: outcome.itemId, externalId });
    case 'conflict':
      return finish(deps, record, now, {
        status: 'conflict',
        externalId,
        ...(outcome.current ? { currentItem: outcome.current, itemId: outcome.current.id } : {}),
        ...(outcome.currentVersion ? { version: outcome.currentVersion } : {}),
        error: { code: 'VersionConflict', message: 'The item changed in Exchange since the expected version; nothing was written.' },
      });
    case 'notFound':
      return finish(deps, record, now, { status: 'failed', externalId, error: { code: 'ItemNotFound', message: outcome.message } });
    case 'rejected':
      return finish(deps, record, now, { status: 'failed', externalId, error: { code: outcome.code, message: outcome.message } });
  }
}

interface Completion {
  readonly status: 'succeeded' | 'conflict' | 'failed';
  readonly itemId?: string | undefined;
  readonly version?: string | undefined;
  readonly externalId?: string | undefined;
  readonly currentItem?: ChangeItem | undefined;
  readonly error?: { readonly code: string; readonly message: string } | undefined;
}

async function finish(deps: WriteWorkerDependencies, record: Stored<OperationRecord>, now: () => Date, completion: Completion): Promise<OperationRecord> {
  const { etag, ...plain } = record;
  const done = await deps.store.saveOperation({ ...plain, ...completion, completedAt: now().toISOString() }, etag);
  await publishResult(deps, done, now);
  return done;
}

/** The operationResult event, in a batch of its own through the group's delivery target. */
async function publishResult(deps: WriteWorkerDependencies, record: Stored<OperationRecord>, now: () => Date): Promise<void> {
  const batch = createChangeBatch({ tenantId: record.tenantId, groupId: record.groupId, mailbox: record.mailbox, records: [], batchId: `op-${record.operationId}`, createdAt: now() });
  await deps.outbox.enqueue({ ...batch, operationResults: [resultEvent(record)] });
  const { etag, ...plain } = record;
  await deps.store.saveOperation({ ...plain, resultEnqueuedAt: now().toISOString() }, etag);
}
