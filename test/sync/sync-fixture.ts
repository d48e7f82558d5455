/**
 * Sync tests' world: in-memory Azurite tables, the EWS simulator with a small organisation
 * (a service account that may impersonate some mailboxes but not all), a tenant and a group in
 * Table Storage, a recording outbox and a recording job queue. The worker runs against it with
 * the real repositories and the real EWS source.
 */
import { startAzurite } from '../../dev/azurite/azurite';
import type { AzuriteInstance } from '../../dev/azurite/azurite';
import { startEwsSimulator } from '../../dev/ews-simulator/server';
import type { EwsSimulator } from '../../dev/ews-simulator/server';
import type { EwsStore } from '../../dev/ews-simulator/model';
import type { ChangeBatch, ChangeRecord, DeliveryOutbox, OutboxReceipt } from '../../shared/delivery/change-batch';
import { SecretString } from '../../shared/logging';
import { GroupsRepository, MailboxesRepository, TableStorage, TenantsRepository } from '../../shared/storage';
import type { GroupRecord, MailboxRecord } from '../../shared/storage';
import { LeaseRepository } from '../../shared/storage/lease-repository';
import { SyncScheduleRepository } from '../../shared/storage/sync-schedule-repository';
import { SyncStateRepository } from '../../shared/storage/sync-state-repository';
import { createEwsMailboxSource } from '../../shared/sync/ews-mailbox-source';
import { openMailboxClient } from '../../shared/sync/mailbox-access';
import type { MailboxAccessOptions } from '../../shared/sync/mailbox-access';
import type { SyncJob, SyncJobQueue } from '../../shared/sync/sync-jobs';
import type { SyncWorkerDependencies } from '../../shared/sync/sync-worker';

export const TENANT = 'contoso';
export const ORG_DOMAIN = 'contoso.test';
export const SERVICE_ACCOUNT = `svc@${ORG_DOMAIN}`;
export const SERVICE_PASSWORD = 'Svc-Pass1';
export const ALLOWED = [`alice@${ORG_DOMAIN}`, `bob@${ORG_DOMAIN}`];
/** Exists, but the service account may not impersonate it. */
export const DENIED = `carol@${ORG_DOMAIN}`;
/** Configured in the group, absent from Exchange. */
export const MISSING = `ghost@${ORG_DOMAIN}`;

export class RecordingOutbox implements DeliveryOutbox {
  readonly batches: ChangeBatch[] = [];
  failNext = 0;

  async enqueue(batch: ChangeBatch): Promise<OutboxReceipt> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('outbox unavailable (injected)');
    }
    this.batches.push(batch);
    return { batchId: batch.batchId, claimCheck: false };
  }

  records(mailbox?: string): ChangeRecord[] {
    return this.batches.flatMap((b) => b.records).filter((r) => mailbox === undefined || r.mailbox === mailbox);
  }
}

export class RecordingJobQueue implements SyncJobQueue {
  readonly sent: { job: SyncJob; delayInMs: number }[] = [];
  async enqueue(job: SyncJob, options: { delayInMs?: number } = {}): Promise<void> {
    this.sent.push({ job, delayInMs: options.delayInMs ?? 0 });
  }
}

export interface SyncWorld {
  readonly azurite: AzuriteInstance;
  readonly simulator: EwsSimulator;
  readonly storage: TableStorage;
  readonly tenants: TenantsRepository;
  readonly groups: GroupsRepository;
  readonly mailboxes: MailboxesRepository;
  readonly states: SyncStateRepository;
  readonly leases: LeaseRepository;
  readonly schedule: SyncScheduleRepository;
  readonly outbox: RecordingOutbox;
  readonly jobs: RecordingJobQueue;
  /** How the default workerDeps reach mailboxes (tests add delegatedTokens, secrets...). */
  readonly access: MailboxAccessOptions;
  /** Key Vault stand-in behind access.readSecret. */
  readonly secrets: Map<string, SecretString>;
  /** Adds a group (impersonation through the simulator) with the given mailboxes. */
  addGroup(id: string, mailboxes: readonly string[], patch?: Partial<GroupRecord>): Promise<GroupRecord>;
  workerDeps(extra?: Partial<SyncWorkerDependencies>): SyncWorkerDependencies;
  mailbox(groupId: string, address: string): Promise<MailboxRecord>;
  close(): Promise<void>;
}

let prefixCounter = 0;

export interface SyncWorldOptions {
  /** The identity provider whose tokens the simulator accepts (Bearer); also the authority host for app-only tokens. */
  readonly identityAuthorityHost?: string;
  /** More organisations and mailboxes in the simulator. */
  readonly seed?: (store: EwsStore) => void;
}

export async function startSyncWorld(options: SyncWorldOptions = {}): Promise<SyncWorld> {
  const azurite = await startAzurite({ inMemory: true });
  const simulator = await startEwsSimulator({
    seed: (store) => {
      store.addOrganisation({ id: 'contoso', name: 'Contoso', domains: [ORG_DOMAIN] });
      for (const address of [...ALLOWED, DENIED]) store.addMailbox({ smtpAddress: address, displayName: address.split('@')[0]!, password: 'User-Pass1' });
      store.addServiceAccount({ userPrincipalName: SERVICE_ACCOUNT, password: SERVICE_PASSWORD, organisationId: 'contoso' });
      store.grantImpersonation({ organisationId: 'contoso', principal: SERVICE_ACCOUNT, scope: { kind: 'list', mailboxes: [...ALLOWED, MISSING] } });
      options.seed?.(store);
    },
    ...(options.identityAuthorityHost ? { identity: { authorityHost: options.identityAuthorityHost } } : {}),
  });
  const storage = new TableStorage({ storage: { kind: 'connectionString', connectionString: new SecretString(azurite.connectionString) }, tableNamePrefix: `t${++prefixCounter}` });
  const tenants = new TenantsRepository(storage);
  const groups = new GroupsRepository(storage);
  const mailboxes = new MailboxesRepository(storage);
  const states = new SyncStateRepository(storage);
  const leases = new LeaseRepository(storage);
  const schedule = new SyncScheduleRepository(storage);
  const outbox = new RecordingOutbox();
  const jobs = new RecordingJobQueue();
  const at = new Date().toISOString();
  await tenants.create({ id: TENANT, displayName: 'Contoso', status: 'active', createdAt: at, updatedAt: at });
  const secrets = new Map<string, SecretString>([['svc-password', new SecretString(SERVICE_PASSWORD)]]);
  const access: MailboxAccessOptions = {
    environment: 'development' as const,
    defaultEwsUrl: simulator.url,
    authorityHost: options.identityAuthorityHost ?? 'https://localhost:1',
    readSecret: async (name: string) => secrets.get(name) ?? new SecretString(''),
    ewsTimeoutInMs: 10_000,
  };
  return {
    azurite,
    simulator,
    storage,
    tenants,
    groups,
    mailboxes,
    states,
    leases,
    schedule,
    outbox,
    jobs,
    access,
    secrets,
    async addGroup(id, addresses, patch = {}) {
      const group: GroupRecord = {
        tenantId: TENANT,
        id,
        name: id,
        externalId: `ext-${id}`,
        mailboxAccessType: 'impersonation',
        impersonation: { serviceAccount: SERVICE_ACCOUNT, authScheme: 'basic' },
        credential: { kind: 'password', secretName: 'svc-password', secretVersion: 'v1', updatedAt: at },
        folders: ['mail'],
        pollIntervalMinutes: 5,
        initialSync: { kind: 'all' },
        enabled: true,
        createdAt: at,
        updatedAt: at,
        ...patch,
      };
      await groups.create(group);
      for (const address of addresses) {
        await mailboxes.create({ tenantId: TENANT, groupId: id, smtpAddress: address, enabled: true, status: 'pending', counts: { created: 0, updated: 0, deleted: 0 }, createdAt: at, updatedAt: at });
      }
      return group;
    },
    workerDeps(extra = {}) {
      return {
        tenants,
        groups,
        mailboxes,
        states,
        leases,
        jobs,
        outbox,
        openSource: async (group, mailbox) => createEwsMailboxSource(await openMailboxClient(group, { smtpAddress: mailbox.smtpAddress }, access), { sleep: async () => undefined }),
        timeBudgetInMs: 60_000,
        ...extra,
      };
    },
    mailbox: (groupId, address) => mailboxes.get(TENANT, groupId, address),
    async close() {
      await simulator.close();
      await azurite.close();
    },
  };
}
