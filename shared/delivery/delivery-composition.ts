import type { TokenCredential } from '@azure/identity';
import { createAppCredential } from '../auth/azure-credential';
import { appConfig } from '../config';
import type { AppConfig } from '../config';
import { createSecretStore } from '../secrets/secret-store';
import { openGraphClient, openMailboxClient } from '../sync/mailbox-access';
import { DeadLetterRepository, DeliveryStatusRepository, GroupsRepository, TableStorage } from '../storage';
import type { BatchDeliveryDependencies, GraphMailboxSource, MailboxClientSource } from './batch-delivery';
import { BatchBlobStore, createBatchContainerClient, createDeliveriesQueueClient } from './delivery-storage';
import { StorageDeliveryOutbox } from './outbox';
import { DEFAULT_RETRY_SCHEDULE } from './retry-schedule';
import type { RetrySchedule } from './retry-schedule';
import { SigningKeys } from './signing-keys';
import { SuppressedDeletions } from './suppressed-deletions';

export interface DeliverySettings {
  readonly retrySchedule: RetrySchedule;
  readonly webhookTimeoutInMs: number;
}

/** The delivery settings, validated with every other setting by the configuration module. */
export function deliverySettingsFrom(config: AppConfig): DeliverySettings {
  return {
    retrySchedule: { ...DEFAULT_RETRY_SCHEDULE, maxAttempts: config.delivery.maxAttempts, baseDelayInSeconds: config.delivery.retryBaseDelayInSeconds },
    webhookTimeoutInMs: config.delivery.webhookTimeoutInMs,
  };
}

export interface DeliveryServices extends BatchDeliveryDependencies {
  readonly config: AppConfig;
  readonly signingKeys: SigningKeys;
  readonly credential: TokenCredential;
}

let mailboxClientSource: MailboxClientSource | undefined;
let graphMailboxSource: GraphMailboxSource | undefined;

/** Graph access for delivery (groups with protocol 'graph'); wired next to useMailboxClientSource. */
export function useGraphMailboxSource(source: GraphMailboxSource): void {
  graphMailboxSource = source;
}

/**
 * How delivery reaches mailboxes (process-and-delete, send-mail). Wired by the module that owns
 * per-group EWS credential resolution (the sync engine's mailbox access), so there is one.
 */
export function useMailboxClientSource(source: MailboxClientSource): void {
  mailboxClientSource = source;
}

export function createDeliveryServices(config: AppConfig): DeliveryServices {
  const settings = deliverySettingsFrom(config);
  const credential = createAppCredential(config.identity);
  const storage = new TableStorage({ storage: config.storage, credential });
  const blobs = new BatchBlobStore(createBatchContainerClient(config.storage, credential));
  const vault = createSecretStore(config.keyVault.url, credential, { environment: config.environment });
  // The same per-group credential resolution the sync engine uses (one place: shared/sync/mailbox-access.ts).
  const access = {
    environment: config.environment,
    defaultEwsUrl: config.ews.defaultUrl,
    ewsResource: config.ews.resource,
    authorityHost: config.identity.authorityHost,
    readSecret: (name: string, version: string) => vault.getSecret(name, { version }),
    graph: config.graph,
  };
  const defaultSource: MailboxClientSource = (group, mailbox) => openMailboxClient(group, { smtpAddress: mailbox }, access);
  const defaultGraphSource: GraphMailboxSource = (group, mailbox) => openGraphClient(group, { smtpAddress: mailbox }, access);
  return {
    config,
    environment: config.environment,
    credential,
    groups: new GroupsRepository(storage),
    status: new DeliveryStatusRepository(storage),
    deadLetters: new DeadLetterRepository(storage),
    blobs,
    outbox: new StorageDeliveryOutbox(createDeliveriesQueueClient(config.storage, credential), blobs),
    signingKeys: new SigningKeys(vault),
    suppressedDeletions: new SuppressedDeletions(storage),
    get mailboxClients() {
      return mailboxClientSource ?? defaultSource;
    },
    get graphMailboxes() {
      return graphMailboxSource ?? defaultGraphSource;
    },
    retrySchedule: settings.retrySchedule,
    webhookTimeoutInMs: settings.webhookTimeoutInMs,
    now: () => new Date(),
  };
}

let shared: DeliveryServices | undefined;

/** Process-wide delivery services, built on first use. */
export function deliveryServices(): DeliveryServices {
  shared ??= createDeliveryServices(appConfig());
  return shared;
}

/** The outbox the sync engine hands batches to. */
export function deliveryOutbox(): StorageDeliveryOutbox {
  return deliveryServices().outbox;
}
