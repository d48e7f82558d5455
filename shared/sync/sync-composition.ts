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
import type { DelegatedTokenProvider } from '../auth/delegated-token';
import { appConfig } from '../config';
import { handleReauthenticationRequired } from '../consent/reauthentication';
import { consentDependencies, delegatedTokenProvider } from '../consent/consent-composition';
import type { AppConfig } from '../config';
import type { DeliveryOutbox } from '../delivery/change-batch';
import { deliveryOutbox, useMailboxClientSource } from '../delivery/delivery-composition';
import { createSecretStore } from '../secrets/secret-store';
import { GroupsRepository, MailboxesRepository, TableStorage, TenantsRepository, createQueueClient } from '../storage';
import { LeaseRepository } from '../storage/lease-repository';
import { SyncScheduleRepository } from '../storage/sync-schedule-repository';
import { SyncStateRepository } from '../storage/sync-state-repository';
import { DelegatedUsersRepository } from '../storage/delegated-users-repository';
import { markConnectorEchoes } from '../write/echo-marking';
import { WriteStore } from '../write/write-store';
import { createEwsMailboxSource } from './ews-mailbox-source';
import { openMailboxClient } from './mailbox-access';
import type { MailboxAccessOptions } from './mailbox-access';
import type { SchedulerDependencies } from './scheduler';
import { SYNC_JOBS_QUEUE, storageSyncJobQueue } from './sync-jobs';
import type { DelegatedCredentialsRefused, SyncLimits, SyncWorkerDependencies } from './sync-worker';

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
    forget: (tenantId, userObjectId) => resolve().forget(tenantId, userObjectId),
  };
}

/** Exchange refused a delegated user's fresh token: the same marking as a failed refresh (pause, audit, optional email). */
async function markDelegatedUserForReauthentication(event: DelegatedCredentialsRefused): Promise<void> {
  await handleReauthenticationRequired(consentDependencies(), { tenantId: event.tenantId, userObjectId: undefined, mailbox: event.mailbox, reason: 'UserCredentialsInvalid', message: event.message });
}

/** The concurrency caps from the app settings (SYNC_MAX_CONCURRENCY_PER_ACCOUNT / _PER_TENANT). */
export function syncLimitsFrom(sync: AppConfig['sync']): Pick<SyncLimits, 'perAccount' | 'perTenant'> {
  return { perAccount: sync.maxConcurrencyPerAccount, perTenant: sync.maxConcurrencyPerTenant };
}

export function createSyncRuntime(config: AppConfig): SyncRuntime {
  const credential = createAppCredential(config.identity);
  const storage = new TableStorage({ storage: config.storage, credential });
  const vault = createSecretStore(config.keyVault.url, credential, { environment: config.environment });
  const jobs = storageSyncJobQueue(createQueueClient(config.storage, SYNC_JOBS_QUEUE, credential));
  const tenants = new TenantsRepository(storage);
  const groups = new GroupsRepository(storage);
  const mailboxes = new MailboxesRepository(storage);
  const access: MailboxAccessOptions = {
    environment: config.environment,
    defaultEwsUrl: config.ews.defaultUrl,
    ewsResource: config.ews.resource,
    authorityHost: config.identity.authorityHost,
    readSecret: (name, version) => vault.getSecret(name, { version }),
    delegatedTokens: lazyDelegatedTokenProvider(delegatedTokenProvider),
  };
  return {
    access,
    scheduler: { tenants, groups, mailboxes, schedule: new SyncScheduleRepository(storage), jobs },
    worker: {
      tenants,
      groups,
      mailboxes,
      states: new SyncStateRepository(storage),
      leases: new LeaseRepository(storage),
      jobs,
      // Echoes of the connector's own writes are marked (or dropped) before delivery: shared/write/echo-marking.ts.
      outbox: markConnectorEchoes(overrides.outbox ?? deliveryOutbox(), new WriteStore(storage)),
      openSource: async (group, mailbox) => createEwsMailboxSource(await openMailboxClient(group, { smtpAddress: mailbox.smtpAddress, userId: mailbox.userId }, access)),
      timeBudgetInMs: overrides.timeBudgetInMs ?? config.sync.timeBudgetInMs,
      delegatedUsers: new DelegatedUsersRepository(storage),
      onDelegatedCredentialsRefused: markDelegatedUserForReauthentication,
      limits: { ...syncLimitsFrom(config.sync), ...overrides.limits },
    },
  };
}

/** The process-wide runtime, built on first use (configuration errors surface then, named). */
export function syncRuntime(): SyncRuntime {
  shared ??= createSyncRuntime(appConfig());
  return shared;
}

/** Delivery (process-and-delete, send mail) reaches mailboxes through the same credential resolution. */
export function registerMailboxAccessForDelivery(): void {
  useMailboxClientSource((group, mailbox) => openMailboxClient(group, { smtpAddress: mailbox }, syncRuntime().access));
}
