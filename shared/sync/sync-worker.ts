/**
 * Runs one sync job: takes the mailbox's lease (one worker per mailbox), a slot in the tenant's
 * and the account's concurrency pools (staying below Exchange's EWSMaxConcurrency), runs the
 * engine within the time budget, and keeps the mailbox's status current. Every outcome that is
 * about this mailbox ends the job normally (status says why); only our own infrastructure
 * failing (storage down) throws, so the queue retries the job.
 */
import type { ContactCandidateStore } from '../contacts/contact-candidate-store';
import { createContactCandidateCollector } from '../contacts/contact-candidates';
import { randomUUID } from 'node:crypto';
import { EntraAuthError } from '../auth/entra-errors';
import type { DeliveryOutbox, SyncedFolder } from '../delivery/change-batch';
import type { Logger } from '../logging';
import { ConcurrencySlots } from '../storage/concurrency-slots';
import type { ConcurrencyPool } from '../storage/concurrency-slots';
import { PreconditionFailedError } from '../storage/errors';
import type { GroupsRepository } from '../storage/groups-repository';
import { isLeaseHeld, LeaseLostError } from '../storage/lease-repository';
import type { Lease, LeaseRepository } from '../storage/lease-repository';
import type { MailboxesRepository } from '../storage/mailboxes-repository';
import type { GroupRecord, MailboxError, MailboxRecord, MailboxStatus, SyncFolderKind } from '../storage/records';
import { groupProtocol } from '../storage/records';
import { SyncStateConflictError } from '../storage/sync-state-repository';
import type { MailboxSyncProgress, SyncStateRepository, VersionedFolderSyncState } from '../storage/sync-state-repository';
import { encodeKeyPart, joinKeyParts } from '../storage/table-keys';
import type { TenantsRepository } from '../storage/tenants-repository';
import { folderStateKey, MailboxSourceError } from './mailbox-source';
import type { FolderTarget, MailboxSource } from './mailbox-source';
import { toMailboxSourceError } from './ews-mailbox-source';
import { OutboxRejectedError, syncMailbox } from './sync-engine';
import type { SyncStateStore, SyncTotals } from './sync-engine';
import { newSyncJob } from './sync-jobs';
import type { SyncJob, SyncJobQueue } from './sync-jobs';
import type { NotificationSyncTrigger, RunningMarker } from '../notifications/sync-trigger';
import { recordItemsSynced, recordMailboxSynced, recordPages, recordThrottled } from '../telemetry/metrics';

export interface SyncWorkerDependencies {
  /** Only find() is used: the composition passes short-lived cached lookups (see cachedLookups). */
  readonly tenants: Pick<TenantsRepository, 'find'>;
  readonly groups: Pick<GroupsRepository, 'find'>;
  readonly mailboxes: MailboxesRepository;
  readonly states: SyncStateRepository;
  readonly leases: LeaseRepository;
  readonly jobs: SyncJobQueue;
  readonly outbox: DeliveryOutbox;
  /** Opens the protocol source for a mailbox (EWS: mailbox-access + ews-mailbox-source). */
  openSource(group: GroupRecord, mailbox: MailboxRecord): Promise<MailboxSource>;
  readonly timeBudgetInMs: number;
  readonly limits?: Partial<SyncLimits>;
  readonly log?: Logger;
  readonly now?: () => Date;
  /** Identifies this worker in leases; default a random id per job. */
  readonly workerId?: string;
  /** Delegated groups: finds the user linked to a mailbox, whose link may name its own folders. */
  readonly delegatedUsers?: DelegatedUserLinks;
  /**
   * Delegated groups: Exchange refused the user's token even after a refresh. Marks the user for
   * re-authentication (and may email a sign-in link), like a failed token refresh does.
   */
  readonly onDelegatedCredentialsRefused?: (event: DelegatedCredentialsRefused) => Promise<void>;
  /** Contact-candidate aggregates, for groups with contactCandidates enabled (absent: the feature is off). */
  readonly contactCandidates?: Pick<ContactCandidateStore, 'apply'>;
  /**
   * Change notifications: a `notification` job's sync starts (lease and slots held), so a later
   * notification queues one follow-up (shared/notifications/sync-trigger.ts).
   */
  readonly notificationTriggers?: Pick<NotificationSyncTrigger, 'started' | 'finished'>;
}

/** What the worker needs to know of a delegated user (DelegatedUsersRepository provides it). */
export interface DelegatedUserLinks {
  findByMailbox(tenantId: string, mailbox: string): Promise<{ readonly link?: { readonly groupId: string; readonly mailbox: string; readonly folders?: readonly SyncFolderKind[] } | undefined } | undefined>;
}

export interface DelegatedCredentialsRefused {
  readonly tenantId: string;
  readonly groupId: string;
  readonly mailbox: string;
  readonly message: string;
}

export interface SyncLimits {
  /** Concurrent mailbox syncs per service account / application / delegated user. Default 10 (Exchange allows 27); setting SYNC_MAX_CONCURRENCY_PER_ACCOUNT. */
  readonly perAccount: number;
  /** Concurrent mailbox syncs per connector tenant. Default 20; setting SYNC_MAX_CONCURRENCY_PER_TENANT. */
  readonly perTenant: number;
  /** Lease and slot lifetime; renewed while the run lasts. Default 120,000 ms. */
  readonly leaseDurationInMs: number;
  /** Delay before retrying when the mailbox or a slot is busy. Default 2,000 ms (plus up to as much jitter). */
  readonly busyRetryDelayInMs: number;
  /** Delay when throttled and the server named none. Default 60,000 ms. */
  readonly throttledDelayInMs: number;
}

// busyRetryDelayInMs: a slot frees within about one job's duration (well under a second for an idle
// poll), so a job that found none comes back after 2–4 s, not after 20–40 s of pure delay.
const DEFAULT_LIMITS: SyncLimits = { perAccount: 10, perTenant: 20, leaseDurationInMs: 120_000, busyRetryDelayInMs: 2_000, throttledDelayInMs: 60_000 };

/** An idle run still refreshes lastSuccessfulSyncAt when the stored one is older than this (one write per hour at most). */
const SUCCESS_REFRESH_INTERVAL_IN_MS = 60 * 60_000;

export type SyncJobOutcome =
  | { readonly kind: 'completed'; readonly totals: SyncTotals }
  | { readonly kind: 'continued'; readonly totals: SyncTotals }
  | { readonly kind: 'leaseHeld'; readonly requeued: boolean }
  | { readonly kind: 'noSlot'; readonly delayInMs: number }
  | { readonly kind: 'throttled'; readonly delayInMs: number }
  | { readonly kind: 'failed'; readonly code: string; readonly message: string }
  /** The mailbox waits for its user to sign in again (status needsReauthentication); not a failure of the job. */
  | { readonly kind: 'paused'; readonly code: string; readonly message: string }
  | { readonly kind: 'skipped'; readonly reason: string };

const FOLDER_OF_KIND: Readonly<Record<SyncFolderKind, SyncedFolder>> = { mail: 'inbox', calendar: 'calendar', contacts: 'contacts', tasks: 'tasks' };

export function syncedFolders(kinds: readonly SyncFolderKind[]): SyncedFolder[] {
  return [...new Set(kinds.map((kind) => FOLDER_OF_KIND[kind]))];
}

/** The item kinds to sync: a delegated user's own choice on their link, else the group's. */
export async function folderKindsFor(group: GroupRecord, mailbox: string, users: DelegatedUserLinks | undefined): Promise<readonly SyncFolderKind[]> {
  if (group.mailboxAccessType !== 'delegated' || !users) return group.folders;
  const user = await users.findByMailbox(group.tenantId, mailbox);
  const own = user?.link?.groupId === group.id ? user.link.folders : undefined;
  return own && own.length > 0 ? own : group.folders;
}

/**
 * The folders a mailbox syncs: the mailbox entry's own choice (well-known folders by kind, others by
 * id or path), else the item kinds of the delegated user's link or the group.
 */
export async function folderTargetsFor(group: GroupRecord, mailbox: Pick<MailboxRecord, 'smtpAddress' | 'folders'>, users: DelegatedUserLinks | undefined): Promise<FolderTarget[]> {
  if (mailbox.folders && mailbox.folders.length > 0) {
    return mailbox.folders.map((choice): FolderTarget => (choice.id === undefined && choice.path === undefined ? FOLDER_OF_KIND[choice.kind] : { folder: FOLDER_OF_KIND[choice.kind], id: choice.id, path: choice.path }));
  }
  return syncedFolders(await folderKindsFor(group, mailbox.smtpAddress, users));
}

/** Pools a group's mailbox syncs count against: the tenant's, and the account Exchange throttles. */
export function concurrencyPools(group: GroupRecord, mailbox: string, limits: SyncLimits, delegatedUserObjectId?: string): ConcurrencyPool[] {
  const account =
    group.mailboxAccessType === 'impersonation'
      ? `account:${(group.impersonation?.serviceAccount ?? '').toLowerCase()}`
      : group.mailboxAccessType === 'appOnly'
        ? `app:${group.appOnly?.entraTenantId ?? ''}:${group.appOnly?.clientId ?? ''}`
        : // A linked mailbox is read with its user's token: Exchange throttles that user, across all their mailboxes.
          delegatedUserObjectId
          ? `user:${delegatedUserObjectId.toLowerCase()}`
          : `user:${mailbox.toLowerCase()}`;
  return [
    { name: `tenant:${group.tenantId}`, capacity: limits.perTenant },
    { name: `${group.tenantId}|${account}`, capacity: limits.perAccount },
  ];
}

interface StatusChange {
  readonly status: MailboxStatus;
  readonly lastError?: MailboxError | undefined;
  readonly succeededAt?: string;
  readonly totals?: SyncTotals;
}

/** Failures about the mailbox, stated for an administrator. */
function describeFailure(error: MailboxSourceError, group: GroupRecord, mailbox: string): { status: MailboxStatus; code: string; message: string } {
  const actor = group.mailboxAccessType === 'impersonation' ? `the service account ${group.impersonation?.serviceAccount ?? ''}` : group.mailboxAccessType === 'appOnly' ? `app ${group.appOnly?.clientId ?? ''}` : 'the user';
  switch (error.code) {
    case 'MailboxNotFound':
      return { status: 'error', code: 'MailboxNotFound', message: `No mailbox ${mailbox} exists in the organisation (${error.sourceCode ?? error.code}). Check the address.` };
    case 'AccessDenied':
      return {
        status: 'error',
        code: error.sourceCode === 'ErrorAccessDenied' ? 'AccessDenied' : 'ImpersonationDenied',
        message: `${actor} may not access ${mailbox} (${error.sourceCode ?? error.code}). ${group.mailboxAccessType === 'impersonation' ? 'Assign the ApplicationImpersonation role with a scope that includes this mailbox.' : groupProtocol(group) === 'graph' ? 'Check the Graph permissions (Mail.ReadWrite, Calendars.ReadWrite, Contacts.ReadWrite, Tasks.ReadWrite.All) and that the app\'s Exchange Online RBAC management scope includes this mailbox (docs/graph.md).' : 'Check the application permission and any application access policy.'}`,
      };
    case 'MailboxDisabled':
      return { status: 'error', code: 'MailboxDisabled', message: `The mailbox ${mailbox} is disabled in Exchange (${error.sourceCode ?? error.code}).` };
    case 'ReauthenticationRequired':
      return { status: 'needsReauthentication', code: 'ReauthenticationRequired', message: `The user of ${mailbox} must sign in again to renew the connector's access (${error.message}).` };
    case 'AuthenticationFailed':
      return group.mailboxAccessType === 'delegated'
        ? { status: 'needsReauthentication', code: 'AuthenticationFailed', message: `Exchange refused the user's token for ${mailbox} even after a refresh; the user must sign in again (${error.message}).` }
        : group.mailboxAccessType === 'appOnly' && error.cause instanceof EntraAuthError
          ? { status: 'error', code: 'AuthenticationFailed', message: `Entra ID did not issue a token for ${actor}: ${error.message} Fix the group's app-only settings or credentials, then run a connection test.` }
          : group.mailboxAccessType === 'appOnly'
          ? { status: 'error', code: 'AuthenticationFailed', message: `Exchange refused the token of ${actor} even after a fresh token from Entra (${error.sourceCode ?? error.code}: ${error.message}). Check the Entra tenant id and that the app has ${groupProtocol(group) === 'graph' ? 'the Microsoft Graph application permissions (docs/graph.md)' : 'the full_access_as_app application permission'} with admin consent in the customer's tenant, then run a connection test.` }
          : { status: 'error', code: 'AuthenticationFailed', message: `Exchange refused the credentials of ${actor} (${error.sourceCode ?? error.code}: ${error.message}). Update the password with PUT .../credentials (or unlock the account), then run a connection test.` };
    case 'ProtocolDisabled':
      return groupProtocol(group) === 'graph'
        ? { status: 'error', code: 'GraphNotEnabled', message: `Graph cannot reach ${mailbox} (${error.sourceCode ?? error.code}): the mailbox is on-premises, inactive or not licensed for Exchange Online. Use protocol 'ews' for on-premises mailboxes.` }
        : { status: 'error', code: 'EwsDisabled', message: `EWS is blocked for this organisation or application: ${error.message}` };
    case 'Configuration':
      return { status: 'error', code: 'Configuration', message: error.message };
    case 'FolderNotFound':
      return { status: 'error', code: 'FolderNotFound', message: `A configured folder does not exist in ${mailbox}: ${error.message}` };
    case 'Unavailable':
      return { status: 'error', code: 'Unavailable', message: `Exchange was unavailable for ${mailbox}; the next poll tries again (${error.sourceCode ?? error.code}: ${error.message})` };
    default:
      return { status: 'error', code: error.sourceCode ?? error.code, message: error.message };
  }
}

export async function runSyncJob(job: SyncJob, deps: SyncWorkerDependencies): Promise<SyncJobOutcome> {
  const limits: SyncLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  const now = deps.now ?? (() => new Date());
  const log = deps.log?.with({ tenantId: job.tenantId, groupId: job.groupId, mailbox: job.mailbox, reason: job.reason });
  const holder = deps.workerId ?? randomUUID();
  const jitter = () => Math.round(limits.busyRetryDelayInMs * (1 + Math.random()));

  const tenant = await deps.tenants.find(job.tenantId);
  const group = await deps.groups.find(job.tenantId, job.groupId);
  const mailbox = await deps.mailboxes.find(job.tenantId, job.groupId, job.mailbox);
  if (!tenant || tenant.status !== 'active' || !group || !group.enabled || !mailbox || !mailbox.enabled) {
    log?.info('Sync job skipped: the tenant, group or mailbox is gone, suspended or disabled');
    return { kind: 'skipped', reason: 'inactive' };
  }
  if (mailbox.status === 'needsReauthentication') {
    // Paused until the user signs in again (the sign-in sets the status back to pending); nothing to report each poll.
    log?.debug('Sync job skipped: the mailbox waits for its user to sign in again');
    return { kind: 'skipped', reason: 'needsReauthentication' };
  }

  const leaseScope = joinKeyParts('mailbox', encodeKeyPart(job.tenantId), encodeKeyPart(job.groupId));
  const acquired = await deps.leases.tryAcquire(leaseScope, encodeKeyPart(job.mailbox), holder, limits.leaseDurationInMs);
  if (isLeaseHeld(acquired)) {
    // A scheduled poll is redundant while another worker syncs the mailbox; a continuation must not be lost.
    const requeue = job.reason !== 'scheduled';
    // A notification's follow-up waits for a sync that is usually nearly done: it comes back sooner, to keep push latency low.
    if (requeue) await deps.jobs.enqueue({ ...job, enqueuedAt: now().toISOString() }, { delayInMs: job.reason === 'notification' ? Math.min(1_000, jitter()) : jitter() });
    log?.info('Mailbox is being synced by another worker', { requeued: requeue });
    return { kind: 'leaseHeld', requeued: requeue };
  }
  let lease: Lease = acquired;
  const progress = progressWriter(deps, job, now);
  const slotsApi = new ConcurrencySlots(deps.leases);
  let slots: Lease[] = [];
  let notificationMarker: RunningMarker | undefined;
  try {
    const taken = await slotsApi.tryAcquireAll(concurrencyPools(group, job.mailbox, limits, mailbox.delegatedUserObjectId), holder, limits.leaseDurationInMs);
    if (!taken) {
      const delayInMs = jitter();
      await deps.jobs.enqueue({ ...job, reason: job.reason === 'scheduled' ? 'retry' : job.reason, enqueuedAt: now().toISOString() }, { delayInMs });
      await progress.save({ continuationPending: true, continuationReason: 'noConcurrencySlot' });
      log?.info('No concurrency slot free; job re-queued', { delayInMs });
      return { kind: 'noSlot', delayInMs };
    }
    slots = taken;
    let renewedAt = now().getTime();
    const heartbeat = async (): Promise<void> => {
      if (now().getTime() - renewedAt < limits.leaseDurationInMs / 3) return;
      lease = await deps.leases.renew(lease, limits.leaseDurationInMs);
      slots = await slotsApi.renewAll(slots, limits.leaseDurationInMs);
      renewedAt = now().getTime();
    };
    const dimensions = { tenantId: job.tenantId, groupId: job.groupId };
    // Before the first read: a change notified from now on is not covered by this run and needs its own follow-up.
    if (job.reason === 'notification' && deps.notificationTriggers) notificationMarker = await deps.notificationTriggers.started(job);
    // A mailbox never synced successfully is in its initial sync: the long work worth showing progress for.
    const initial = mailbox.lastSuccessfulSyncAt === undefined;
    try {
      const folders = await folderTargetsFor(group, mailbox, deps.delegatedUsers);
      // Every folder's state and the progress row in one query; the engine's first read of each folder is served from it.
      const snapshot = await deps.states.readMailbox(job.tenantId, job.groupId, job.mailbox, folders.map(folderStateKey));
      progress.known(snapshot.progress);
      const baseInPass = snapshot.progress?.continuationPending ? snapshot.progress.itemsSyncedInPass : 0;
      const source = await deps.openSource(group, mailbox);
      // The first pass after a protocol switch reads the whole mailbox again (delivering only what changed since): long work too.
      const switching = !initial && [...snapshot.states.values()].some((s) => s.migratedSince !== undefined || (s.syncState !== undefined && source.ownsSyncState?.(s.syncState) === false));
      const longWork = initial ? 'Initial sync' : switching ? `Switch to ${source.protocol ?? 'ews'}` : undefined;
      const initialLog = longWorkProgress(longWork && log ? { log, kind: longWork } : undefined, baseInPass, now);
      const result = await syncMailbox(
        { states: preloadedStates(deps.states, snapshot.states), outbox: deps.outbox, now },
        {
          tenantId: job.tenantId,
          groupId: job.groupId,
          mailbox: job.mailbox,
          folders,
          initialSync: group.initialSync,
          source,
          deadlineInMs: now().getTime() + deps.timeBudgetInMs,
          heartbeat,
          ...(group.contactCandidates?.enabled && deps.contactCandidates
            ? { contactCandidates: createContactCandidateCollector(deps.contactCandidates, { tenantId: job.tenantId, groupId: job.groupId, mailbox: mailbox.smtpAddress, settings: group.contactCandidates, now }) }
            : {}),
          onProgress: async (totals) => {
            await progress.save({ itemsSyncedInPass: baseInPass + delivered(totals), continuationPending: true, continuationReason: 'running' });
            initialLog.report(baseInPass + delivered(totals), totals.skipped);
          },
        },
      );
      recordItemsSynced(delivered(result.totals), dimensions, initial);
      recordPages(result.totals.pages, dimensions);
      await updateStatus(deps, mailbox, { status: 'ok', lastError: undefined, succeededAt: now().toISOString(), totals: result.totals }, now);
      if (result.fullResyncFolders.length > 0) log?.warn('Sync state was invalid; full re-sync started', { folders: result.fullResyncFolders.join(',') });
      if (!result.complete) {
        await deps.jobs.enqueue(newSyncJob(job.tenantId, job.groupId, job.mailbox, 'continuation', now()));
        await progress.save({ itemsSyncedInPass: baseInPass + delivered(result.totals), continuationPending: true, continuationReason: 'timeBudget' });
        log?.info('Time budget spent; continuation queued', { pages: result.totals.pages });
        return { kind: 'continued', totals: result.totals };
      }
      await progress.save({ itemsSyncedInPass: baseInPass + delivered(result.totals), continuationPending: false });
      log?.debug('Mailbox synced', { ...result.totals });
      initialLog.done(baseInPass + delivered(result.totals), result.totals.skipped);
      recordMailboxSynced('completed');
      return { kind: 'completed', totals: result.totals };
    } catch (thrown) {
      if (thrown instanceof LeaseLostError || thrown instanceof SyncStateConflictError) {
        log?.warn('Another worker took over the mailbox; stopping', { errorCode: thrown.code });
        return { kind: 'leaseHeld', requeued: false };
      }
      if (isInfrastructureFailure(thrown)) throw thrown;
      const error = toMailboxSourceError(thrown);
      if (error.code === 'Throttled') {
        const delayInMs = Math.max(1_000, error.retryAfterInMs ?? limits.throttledDelayInMs);
        await deps.jobs.enqueue({ ...job, reason: 'retry', enqueuedAt: now().toISOString() }, { delayInMs });
        await progress.save({ continuationPending: true, continuationReason: 'throttled' });
        recordThrottled(delayInMs / 1000, dimensions);
        log?.warn('Throttled by Exchange; job re-queued with a delay', { delayInMs, errorCode: error.sourceCode ?? error.code });
        return { kind: 'throttled', delayInMs };
      }
      const failure = describeFailure(error, group, job.mailbox);
      if (error.code === 'AuthenticationFailed' && group.mailboxAccessType === 'delegated') {
        // The mailbox is paused below either way; a failure to mark the user only costs the email.
        await deps.onDelegatedCredentialsRefused?.({ tenantId: job.tenantId, groupId: job.groupId, mailbox: job.mailbox, message: failure.message }).catch((hookError: unknown) => {
          log?.warn('Could not mark the delegated user for re-authentication', { detail: hookError instanceof Error ? hookError.message : String(hookError) });
        });
      }
      await updateStatus(deps, mailbox, { status: failure.status, lastError: { code: failure.code, message: failure.message, at: now().toISOString() } }, now);
      await progress.save({ continuationPending: false });
      if (failure.status === 'needsReauthentication') {
        log?.info('Mailbox paused until its user signs in again', { errorCode: failure.code, detail: failure.message });
        return { kind: 'paused', code: failure.code, message: failure.message };
      }
      recordMailboxSynced('failed');
      log?.warn('Mailbox sync failed', { errorCode: failure.code, status: failure.status, detail: failure.message });
      return { kind: 'failed', code: failure.code, message: failure.message };
    }
  } finally {
    if (notificationMarker !== undefined) await deps.notificationTriggers?.finished(notificationMarker).catch(() => undefined);
    await slotsApi.releaseAll(slots).catch(() => undefined);
    await deps.leases.release(lease).catch(() => undefined);
  }
}

/** Time between progress lines of one initial sync: often enough to see it move, rarely enough to stay calm. */
const PROGRESS_INTERVAL_IN_MS = 15_000;

/**
 * Progress of long work (an initial sync, or the first pass after a protocol switch; possibly spread
 * over continuations): a line every 15 s with the item count and rate, and one when it completes.
 * Later syncs are quiet (the periodic summary covers them).
 */
function longWorkProgress(target: { readonly log: Logger; readonly kind: string } | undefined, itemsBefore: number, now: () => Date): { report(items: number, skipped: number): void; done(items: number, skipped: number): void } {
  const startedAt = now().getTime();
  let lastLineAt = startedAt;
  const rate = (items: number) => Math.round((items - itemsBefore) / Math.max(0.001, (now().getTime() - startedAt) / 1000));
  // A protocol switch passes over what the old protocol already delivered: say how much was checked.
  const checked = (skipped: number) => (skipped > 0 ? `, ${skipped.toLocaleString('en-US')} already delivered and skipped` : '');
  return {
    report(items, skipped) {
      if (!target || now().getTime() - lastLineAt < PROGRESS_INTERVAL_IN_MS) return;
      lastLineAt = now().getTime();
      target.log.info(`${target.kind} in progress: ${items.toLocaleString('en-US')} items so far (${rate(items)} items/s${checked(skipped)})`, { items, skipped });
    },
    done(items, skipped) {
      target?.log.info(`${target.kind} complete: ${items.toLocaleString('en-US')} items in ${((now().getTime() - startedAt) / 1000).toFixed(1)} s (${rate(items)} items/s${checked(skipped)})`, { items, skipped });
    },
  };
}

function delivered(totals: SyncTotals): number {
  return totals.created + totals.updated + totals.deleted + totals.readFlagChanged;
}

/** Storage failures of our own (not the mailbox's): let the queue retry the job. */
function isInfrastructureFailure(error: unknown): boolean {
  if (error instanceof MailboxSourceError) return false;
  if (error instanceof OutboxRejectedError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'RestError' || code === 'SyncStateTooLarge' || name === 'StorageError' || (error as { statusCode?: unknown } | null)?.statusCode !== undefined;
}

type ProgressChange = { readonly itemsSyncedInPass?: number; readonly continuationPending: boolean; readonly continuationReason?: string };

/**
 * The mailbox's progress row, written only when it changes: the job knows the stored row (read with
 * the folder states), so an idle run that finds nothing pending writes nothing.
 */
function progressWriter(deps: SyncWorkerDependencies, job: SyncJob, now: () => Date) {
  let current: MailboxSyncProgress | undefined;
  let loaded = false;
  return {
    known(stored: MailboxSyncProgress | undefined): void {
      current = stored;
      loaded = true;
    },
    async save(change: ProgressChange): Promise<void> {
      if (!loaded) this.known(await deps.states.readProgress(job.tenantId, job.groupId, job.mailbox));
      const next: MailboxSyncProgress = {
        tenantId: job.tenantId,
        groupId: job.groupId,
        mailbox: job.mailbox,
        itemsSyncedInPass: change.itemsSyncedInPass ?? current?.itemsSyncedInPass ?? 0,
        continuationPending: change.continuationPending,
        ...(change.continuationReason ? { continuationReason: change.continuationReason } : {}),
        lastRunAt: now().toISOString(),
      };
      const unchanged = current !== undefined && current.continuationPending === next.continuationPending && current.itemsSyncedInPass === next.itemsSyncedInPass && current.continuationReason === next.continuationReason;
      if (unchanged) return;
      await deps.states.saveProgress(next);
      current = next;
    },
  };
}

/** The engine's state store with each folder's first read answered from the job's snapshot. */
function preloadedStates(states: SyncStateRepository, preloaded: ReadonlyMap<string, VersionedFolderSyncState>): SyncStateStore {
  const unread = new Map(preloaded);
  return {
    read: async (key) => {
      const state = unread.get(key.folder);
      unread.delete(key.folder);
      return state ?? states.read(key);
    },
    save: (key, next, previous) => states.save(key, next, previous),
  };
}

/**
 * A successful run that delivered nothing, on a mailbox already `ok` without an error, changes
 * nothing an administrator could see except lastSuccessfulSyncAt: that is refreshed at most once
 * per SUCCESS_REFRESH_INTERVAL_IN_MS, so an idle poll writes nothing.
 */
function isIdleSuccess(mailbox: MailboxRecord, change: StatusChange, now: () => Date): boolean {
  if (change.status !== 'ok' || change.lastError !== undefined || mailbox.status !== 'ok' || mailbox.lastError !== undefined || !mailbox.enabled) return false;
  const totals = change.totals;
  if (!totals || totals.created + totals.updated + totals.deleted + totals.readFlagChanged > 0) return false;
  const last = mailbox.lastSuccessfulSyncAt ? Date.parse(mailbox.lastSuccessfulSyncAt) : NaN;
  return Number.isFinite(last) && now().getTime() - last < SUCCESS_REFRESH_INTERVAL_IN_MS;
}

/** ETag-guarded: admins edit mailboxes too, so a conflict re-reads and re-applies the change. */
async function updateStatus(deps: SyncWorkerDependencies, initial: MailboxRecord & { etag: string }, change: StatusChange, now: () => Date): Promise<void> {
  if (isIdleSuccess(initial, change, now)) return;
  let current: (MailboxRecord & { etag: string }) | undefined = initial;
  for (let attempt = 0; attempt < 5 && current; attempt++) {
    // A user who signed in again while this job was failing set the mailbox back to pending: that newer state wins.
    if (change.status === 'needsReauthentication' && current !== initial && current.status === 'pending' && current.updatedAt > initial.updatedAt) return;
    const totals = change.totals;
    const next: MailboxRecord = {
      ...current,
      status: current.enabled ? change.status : 'disabled',
      lastError: change.lastError,
      lastSuccessfulSyncAt: change.succeededAt ?? current.lastSuccessfulSyncAt,
      counts: totals
        ? { created: current.counts.created + totals.created, updated: current.counts.updated + totals.updated + totals.readFlagChanged, deleted: current.counts.deleted + totals.deleted }
        : current.counts,
      updatedAt: current.updatedAt,
    };
    const { etag: _etag, ...record } = next as MailboxRecord & { etag?: string };
    void _etag;
    try {
      await deps.mailboxes.replace(record, current.etag);
      return;
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      current = await deps.mailboxes.find(initial.tenantId, initial.groupId, initial.smtpAddress);
    }
  }
}
