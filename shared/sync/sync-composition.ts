/**
 * The sync engine's composition root: repositories, queues, the delivery outbox and mailbox
 * access built from the app settings, once per process. Tests running the real function files
 * in-process may replace parts (e.g. the outbox) with useSyncOverrides before the first job.
 */
import { createAppCredential } from '../auth/azure-credential';
import type { DelegatedTokenProvider } from '../auth/delegated-token';
import { appConfig } from '../config';
import type { AppConfig } from '../config';
import type { DeliveryOutbox } from '../delivery/change-batch';
import { deliveryOutbox, useMailboxClientSource } from '../delivery/delivery-composition';
import { createSecretStore } from '../secrets/secret-store';
import { GroupsRepository, MailboxesRepository, TableStorage, TenantsRepository, createQueueClient } from '../storage';
import { LeaseRepository } from '../storage/lease-repository';
import { SyncScheduleRepository } from '../storage/sync-schedule-repository';
import { SyncStateRepository } from '../storage/sync-state-repository';
import { createEwsMailboxSource } from './ews-mailbox-source';
import { openMailboxClient } from './mailbox-access';
import type { MailboxAccessOptions } from './mailbox-access';
import type { SchedulerDependencies } from './scheduler';
import { SYNC_JOBS_QUEUE, storageSyncJobQueue } from './sync-jobs';
import type { SyncLimits, SyncWorkerDependencies } from './sync-worker';

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
let delegatedTokens: DelegatedTokenProvider | undefined;
let shared: SyncRuntime | undefined;

/** Replaces parts of the runtime (tests; call before the first job runs). */
export function useSyncOverrides(next: SyncOverrides): void {
  overrides = next;
  shared = undefined;
}

/** Wires delegated groups to the consent module's per-user token provider. */
export function useDelegatedTokenProvider(provider: DelegatedTokenProvider): void {
  delegatedTokens = provider;
  shared = undefined;
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
    authorityHost: config.identity.authorityHost,
    readSecret: (name, version) => vault.getSecret(name, { version }),
    delegatedTokens,
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
      outbox: overrides.outbox ?? deliveryOutbox(),
      openSource: async (group, mailbox) => createEwsMailboxSource(await openMailboxClient(group, { smtpAddress: mailbox.smtpAddress, userId: mailbox.userId }, access)),
      timeBudgetInMs: overrides.timeBudgetInMs ?? config.sync.timeBudgetInMs,
      ...(overrides.limits ? { limits: overrides.limits } : {}),
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
