/**
 * Change notifications' composition root: the subscription records, the debounced sync trigger,
 * and the protocol adapters, built from the app settings once per process. Protocols register
 * their adapter (registerNotificationAdapter) from the module that speaks them, so the renewal
 * timer and the callbacks serve every protocol without this file naming them.
 */
import { createAppCredential } from '../auth/azure-credential';
import { appConfig } from '../config';
import type { AppConfig } from '../config';
import { GroupsRepository, MailboxesRepository, TableStorage, TenantsRepository, createQueueClient } from '../storage';
import { DelegatedUsersRepository } from '../storage/delegated-users-repository';
import { SYNC_JOBS_QUEUE, storageSyncJobQueue } from '../sync/sync-jobs';
import type { SyncRuntime } from '../sync/sync-composition';
import { syncRuntime } from '../sync/sync-composition';
import type { NotificationIntakeDependencies } from './notification-intake';
import type { NotificationProtocolAdapter, SubscriptionManagerDependencies } from './subscription-manager';
import { NotificationSubscriptionsRepository } from './subscription-records';
import { NotificationSyncTrigger } from './sync-trigger';
import { NOTIFICATION_LIFECYCLE_QUEUE, storageLifecycleQueue } from './lifecycle';
import type { LifecycleQueue } from './lifecycle';

/** What an adapter may build on: the settings and the sync runtime's mailbox access (credentials, tokens). */
export interface AdapterContext {
  readonly config: AppConfig;
  readonly sync: SyncRuntime;
}

export type AdapterFactory = (context: AdapterContext) => NotificationProtocolAdapter;

const factories = new Map<string, AdapterFactory>();

/** A protocol's module registers its adapter once (idempotent per protocol name). */
export function registerNotificationAdapter(protocol: string, factory: AdapterFactory): void {
  factories.set(protocol, factory);
  runtime = undefined;
}

export interface NotificationsRuntime {
  readonly enabled: boolean;
  readonly config: AppConfig['notifications'];
  readonly subscriptions: NotificationSubscriptionsRepository;
  readonly trigger: NotificationSyncTrigger;
  readonly intake: NotificationIntakeDependencies;
  readonly manager: SubscriptionManagerDependencies;
  readonly lifecycleQueue: LifecycleQueue;
}

let runtime: NotificationsRuntime | undefined;

export function createNotificationsRuntime(config: AppConfig): NotificationsRuntime {
  const credential = createAppCredential(config.identity);
  const storage = new TableStorage({ storage: config.storage, credential });
  const subscriptions = new NotificationSubscriptionsRepository(storage);
  const trigger = new NotificationSyncTrigger(storage, storageSyncJobQueue(createQueueClient(config.storage, SYNC_JOBS_QUEUE, credential)));
  const context: AdapterContext = { config, sync: syncRuntime() };
  const adapters = [...factories.values()].map((factory) => factory(context));
  return {
    enabled: config.notifications.enabled,
    config: config.notifications,
    subscriptions,
    trigger,
    intake: { subscriptions, trigger },
    lifecycleQueue: storageLifecycleQueue(createQueueClient(config.storage, NOTIFICATION_LIFECYCLE_QUEUE, credential)),
    manager: {
      tenants: new TenantsRepository(storage),
      groups: new GroupsRepository(storage),
      mailboxes: new MailboxesRepository(storage),
      subscriptions,
      adapters,
      callbackBaseUrl: config.notifications.callbackBaseUrl,
      delegatedUsers: new DelegatedUsersRepository(storage),
    },
  };
}

/** The process-wide runtime, built on first use. */
export function notificationsRuntime(): NotificationsRuntime {
  runtime ??= createNotificationsRuntime(appConfig());
  return runtime;
}
