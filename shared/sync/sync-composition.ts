/**
 * The sync engine's composition root: repositories, queues, the delivery outbox and mailbox
 * access built from the app settings, once per process. Tests running the real function files
 * in-process may replace parts (e.g. the outbox) with useSyncOverrides before the first job.
 *
 * Delegated groups use the consent module's token provider (the same instance the sign-in
 * endpoints use, so a new sign-in drops the tokens it held and its re-authentication hook marks
 * the user, pauses the mailbox and may email a new link). It is built on first use only, so a
 * deployment without delegated groups never reads the connector app's secret.
 */
import { createAppCredential } from '../auth/azure-credential';
import { ContactCandidateStore } from '../contacts/contact-candidate-store';
import type { DelegatedTokenProvider } from '../auth/delegated-token';
import { appConfig } from '../config';
import { handleReauthenticationRequired } from '../consent/reauthentication';
import { consentDependencies, delegatedTokenProvider } from '../consent/consent-composition';
import type { AppConfig } from '../config';
import type { DeliveryOutbox } from '../delivery/change-batch';
import { deliveryOutbox, useGraphMailboxSource, useMailboxClientSource } from '../delivery/delivery-composition';
import { createSecretStore } from '../secrets/secret-store';
import { GroupsRepository, MailboxesRepository, TableStorage, TenantsRepository, createQueueClient } from '../storage';
import { LeaseRepository } from '../storage/lease-repository';
import { SyncScheduleRepository } from '../storage/sync-schedule-repository';
import { SyncStateRepository } from '../storage/sync-state-repository';
import { DelegatedUsersRepository } from '../storage/delegated-users-repository';
import { markConnectorEchoes } from '../write/echo-marking';
import { WriteStore } from '../write/write-store';
import { createEwsMailboxSource, requestsInFlightFor, type EwsMailboxSourceOptions } from './ews-mailbox-source';
import { openGraphClient, openMailboxClient } from './mailbox-access';
import type { MailboxAccessOptions, MailboxIdentity } from './mailbox-access';
import { createGraphMailboxSource } from './graph-mailbox-source';
import type { MailboxSource } from './mailbox-source';
import { groupProtocol } from '../storage/records';
import type { GroupRecord } from '../storage/records';
import type { SchedulerDependencies } from './scheduler';
import { SYNC_JOBS_QUEUE, storageSyncJobQueue } from './sync-jobs';
import type { DelegatedCredentialsRefused, SyncLimits, SyncWorkerDependencies } from './sync-worker';
import { NotificationSyncTrigger } from '../notifications/sync-trigger';
import { NotificationSubscriptionsRepository } from '../notifications/subscription-records';

export interface SyncRuntime {
  readonly scheduler: SchedulerDependencies;
  readonly worker: SyncWorkerDependencies;
  readonly access: MailboxAccessOptions;
}

export interface SyncOverrides {
  readonly outbox?: DeliveryOutbox;
  readonly limits?: Partial<SyncLimits>;
  readonly timeBudgetInMs?: number;
}

let overrides: SyncOverrides = {};
let shared: SyncRuntime | undefined;

/** Replaces parts of the runtime (tests; call before the first job runs). */
export function useSyncOverrides(next: SyncOverrides): void {
  overrides = next;
  shared = undefined;
}

/** Defers building the consent dependencies until a delegated mailbox actually needs a token. */
function lazyDelegatedTokenProvider(resolve: () => DelegatedTokenProvider): DelegatedTokenProvider {
  return {
    acquireEwsToken: (user, options) => resolve().acquireEwsToken(user, options),
    acquireEwsTokenWithDetails: (user, options) => resolve().acquireEwsTokenWithDetails(user, options),
    acquireGraphToken: (user, options) => {
      const provider = resolve();
      if (!provider.acquireGraphToken) throw new Error('The delegated token provider cannot issue Graph tokens.');
      return provider.acquireGraphToken(user, options);
    },
    forget: (tenantId, userObjectId) => resolve().forget(tenantId, userObjectId),
  };
}

/** Exchange refused a delegated user's fresh token: the same marking as a failed refresh (pause, audit, optional email). */
async function markDelegatedUserForReauthentication(event: DelegatedCredentialsRefused): Promise<void> {
  await handleReauthenticationRequired(consentDependencies(), { tenantId: event.tenantId, userObjectId: undefined, mailbox: event.mailbox, reason: 'UserCredentialsInvalid', message: event.message });
}

/** The concurrency caps from the app settings (SYNC_MAX_CONCURRENCY_PER_ACCOUNT / _PER_TENANT). */
export function syncLimitsFrom(sync: AppConfig['sync']): Pick<SyncLimits, 'perAccount' | 'perTenant' | 'leaseDurationInMs' | 'busyRetryDelayInMs'> {
  return { perAccount: sync.maxConcurrencyPerAccount, perTenant: sync.maxConcurrencyPerTenant, leaseDurationInMs: sync.leaseDurationInMs, busyRetryDelayInMs: sync.busyRetryDelayInMs };
}


/** How long a read secret version is kept in memory (versions are immutable; this only bounds how long it stays in the process). */
export const SECRET_CACHE_TTL_IN_MS = 5 * 60_000;

/**
 * find() answered from a short-lived per-process cache. A tick syncs hundreds of mailboxes of the same
 * few groups; reading the tenant and the group once per 30 s instead of once per job takes two Table
 * reads off every job. The mailbox record itself is always read fresh (its ETag guards status writes).
 */
export function cachedLookup<A extends unknown[], T>(find: (...args: A) => Promise<T>, ttlInMs: number, now: () => number = Date.now): (...args: A) => Promise<T> {
  const cache = new Map<string, { readonly value: Promise<T>; readonly until: number }>();
  return (...args: A) => {
    const key = JSON.stringify(args);
    const hit = cache.get(key);
    if (hit && hit.until > now()) return hit.value;
    const value = find(...args);
    cache.set(key, { value, until: now() + ttlInMs });
    value.catch(() => cache.delete(key));
    return value;
  };
}

export function createSyncRuntime(config: AppConfig): SyncRuntime {
  const credential = createAppCredential(config.identity);
  const storage = new TableStorage({ storage: config.storage, credential });
  const vault = createSecretStore(config.keyVault.url, credential, { environment: config.environment });
  const jobs = storageSyncJobQueue(createQueueClient(config.storage, SYNC_JOBS_QUEUE, credential));
  const tenants = new TenantsRepository(storage);
  const groups = new GroupsRepository(storage);
  const mailboxes = new MailboxesRepository(storage);
  const subscriptions = new NotificationSubscriptionsRepository(storage);
  const access: MailboxAccessOptions = {
    environment: config.environment,
    defaultEwsUrl: config.ews.defaultUrl,
    ewsResource: config.ews.resource,
    authorityHost: config.identity.authorityHost,
    // A secret version never changes, so (name, version) is cached for a while: one Key Vault read per
    // group every few minutes instead of one per mailbox job (a 1,000-mailbox tick was 1,000 reads).
    readSecret: cachedLookup((name: string, version: string) => vault.getSecret(name, { version }), SECRET_CACHE_TTL_IN_MS),
    delegatedTokens: lazyDelegatedTokenProvider(delegatedTokenProvider),
    graph: config.graph,
  };
  return {
    access,
    scheduler: {
      tenants,
      groups,
      mailboxes,
      schedule: new SyncScheduleRepository(storage),
      jobs,
      // Healthy notifications slow a mailbox's poll to the safety interval; records exist only while notifications are on.
      ...(config.notifications.enabled ? { notifications: { safetyIntervalInMs: config.notifications.safetyPollIntervalInMs, listGroup: (t: string, g: string) => subscriptions.listGroup(t, g) } } : {}),
    },
    worker: {
      tenants: { find: cachedLookup((id: string) => tenants.find(id), config.sync.configCacheTtlInMs) },
      groups: { find: cachedLookup((tenantId: string, groupId: string) => groups.find(tenantId, groupId), config.sync.configCacheTtlInMs) },
      mailboxes,
      states: new SyncStateRepository(storage),
      leases: new LeaseRepository(storage),
      jobs,
      // Echoes of the connector's own writes are marked (or dropped) before delivery: shared/write/echo-marking.ts.
      outbox: markConnectorEchoes(overrides.outbox ?? deliveryOutbox(), new WriteStore(storage)),
      openSource: (group, mailbox) =>
        openMailboxSource(group, { smtpAddress: mailbox.smtpAddress, userId: mailbox.userId, delegatedUserObjectId: mailbox.delegatedUserObjectId }, access, {
          requestsInFlight: requestsInFlightFor(overrides.limits?.perAccount ?? config.sync.maxConcurrencyPerAccount),
        }),
      timeBudgetInMs: overrides.timeBudgetInMs ?? config.sync.timeBudgetInMs,
      delegatedUsers: new DelegatedUsersRepository(storage),
      onDelegatedCredentialsRefused: markDelegatedUserForReauthentication,
      contactCandidates: new ContactCandidateStore(storage),
      limits: { ...syncLimitsFrom(config.sync), ...overrides.limits },
      notificationTriggers: new NotificationSyncTrigger(storage, jobs),
    },
  };
}

/** The group's protocol decides the source: Graph (delta) or EWS (SyncFolderItems). */
export async function openMailboxSource(group: GroupRecord, mailbox: MailboxIdentity, access: MailboxAccessOptions, ewsOptions: EwsMailboxSourceOptions = {}): Promise<MailboxSource> {
  if (groupProtocol(group) === 'graph') return createGraphMailboxSource(await openGraphClient(group, mailbox, access));
  return createEwsMailboxSource(await openMailboxClient(group, mailbox, access), ewsOptions);
}

/** The process-wide runtime, built on first use (configuration errors surface then, named). */
export function syncRuntime(): SyncRuntime {
  shared ??= createSyncRuntime(appConfig());
  return shared;
}

/** Delivery (process-and-delete, send mail) reaches mailboxes through the same credential resolution. */
export function registerMailboxAccessForDelivery(): void {
  useMailboxClientSource((group, mailbox) => openMailboxClient(group, { smtpAddress: mailbox }, syncRuntime().access));
  useGraphMailboxSource((group, mailbox) => openGraphClient(group, { smtpAddress: mailbox }, syncRuntime().access));
}
