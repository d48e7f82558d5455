/**
 * The write path's composition root, built once per process from the app settings: the same
 * repositories, leases, concurrency limits and mailbox access (credential resolution) as sync,
 * the delivery outbox for operationResult events, and the write-operations queue. Tests may
 * replace the outbox or inject the crash point before the first job (useWriteOverrides).
 */
import { createAppCredential } from '../auth/azure-credential';
import { appConfig } from '../config';
import type { AppConfig } from '../config';
import type { DeliveryOutbox } from '../delivery/change-batch';
import { deliveryOutbox } from '../delivery/delivery-composition';
import { GroupsRepository, MailboxesRepository, TableStorage, TenantsRepository, createQueueClient } from '../storage';
import { LeaseRepository } from '../storage/lease-repository';
import { groupProtocol } from '../storage/records';
import { openGraphClient, openMailboxClient } from '../sync/mailbox-access';
import { syncLimitsFrom, syncRuntime } from '../sync/sync-composition';
import { createGraphMailboxWriter } from './graph-mailbox-writer';
// The EWS writer runs on ews-javascript-api (~740 modules): required on the first write, not at start-up (cold start).
const ewsMailboxWriter = (): typeof import('./ews-mailbox-writer') => require('./ews-mailbox-writer') as typeof import('./ews-mailbox-writer');
import { storageWriteJobQueue, WRITE_OPERATIONS_QUEUE } from './write-jobs';
import type { WriteJobQueue } from './write-jobs';
import type { WriteLimits, WriteWorkerDependencies } from './write-worker';
import { WriteStore } from './write-store';

export interface WriteOverrides {
  readonly outbox?: DeliveryOutbox;
  readonly limits?: Partial<WriteLimits>;
  readonly afterExchangeAnswered?: (operationId: string) => void | Promise<void>;
}

export interface WriteRuntime {
  readonly worker: WriteWorkerDependencies;
  readonly store: WriteStore;
  readonly jobs: WriteJobQueue;
}

let overrides: WriteOverrides = {};
let shared: WriteRuntime | undefined;

export function useWriteOverrides(next: WriteOverrides): void {
  overrides = next;
  shared = undefined;
}

export function createWriteRuntime(config: AppConfig): WriteRuntime {
  const credential = createAppCredential(config.identity);
  const storage = new TableStorage({ storage: config.storage, credential });
  const store = new WriteStore(storage);
  const jobs = storageWriteJobQueue(createQueueClient(config.storage, WRITE_OPERATIONS_QUEUE, credential));
  return {
    store,
    jobs,
    worker: {
      tenants: new TenantsRepository(storage),
      groups: new GroupsRepository(storage),
      mailboxes: new MailboxesRepository(storage),
      leases: new LeaseRepository(storage),
      store,
      jobs,
      outbox: overrides.outbox ?? deliveryOutbox(),
      // The same credential resolution as sync (impersonation, app-only, delegated).
      openWriter: async (group, mailbox) => {
        const identity = { smtpAddress: mailbox.smtpAddress, userId: mailbox.userId };
        if (groupProtocol(group) === 'graph') return createGraphMailboxWriter(await openGraphClient(group, identity, syncRuntime().access));
        return ewsMailboxWriter().createEwsMailboxWriter(await openMailboxClient(group, identity, syncRuntime().access));
      },
      limits: { ...syncLimitsFrom(config.sync), ...overrides.limits },
      ...(overrides.afterExchangeAnswered ? { afterExchangeAnswered: overrides.afterExchangeAnswered } : {}),
    },
  };
}

export function writeRuntime(): WriteRuntime {
  shared ??= createWriteRuntime(appConfig());
  return shared;
}
