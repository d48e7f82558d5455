/**
 * Change-notification subscriptions, protocol-neutral: one record per (mailbox, synced folder),
 * whether Exchange pushes through Microsoft Graph change notifications or EWS push
 * notifications. The record holds no secret: the per-subscription clientState (Graph) or
 * callback token (EWS) is stored only as its SHA-256 (client-state.ts explains why that is
 * enough). A second row per subscription id lets a callback find its record in one point read.
 *
 * Table `notifysubs`:
 *   PartitionKey tenant~group, RowKey mailbox~folder      the subscription record
 * Table `notifysubids`:
 *   PartitionKey protocol~subscriptionId, RowKey 'sub'    index: which record owns the id
 * Both keys are built from base64url parts (table-keys.ts), never raw input.
 */
import { odata } from '../storage/table-sdk';
import type { SyncedFolder } from '../delivery/change-batch';
import { EntityTable } from '../storage/entity-table';
import type { EntityCodec, EntityKey, Stored } from '../storage/entity-table';
import { EntityNotFoundError } from '../storage/errors';
import { jsonColumn, stringColumn } from '../storage/table-storage';
import type { TableStorage } from '../storage/table-storage';
import { encodeKeyPart, joinKeyParts } from '../storage/table-keys';

export const NOTIFICATION_SUBSCRIPTIONS_TABLE = 'notifysubs';
export const NOTIFICATION_SUBSCRIPTION_IDS_TABLE = 'notifysubids';

export type NotificationProtocol = 'graph' | 'ews';

/**
 * active: the server pushes changes; renewing: being renewed or recreated (still polled at the
 * normal interval until active again); failed: could not be created or was lost (normal poll
 * interval); unsupported: the server or resource offers no notifications (normal poll interval).
 */
export type SubscriptionStatus = 'active' | 'renewing' | 'failed' | 'unsupported';

export interface SubscriptionError {
  readonly code: string;
  readonly message: string;
  readonly at: string;
}

export interface NotificationSubscriptionRecord {
  readonly protocol: NotificationProtocol;
  readonly tenantId: string;
  readonly groupId: string;
  /** Lower-case primary SMTP address. */
  readonly mailbox: string;
  readonly folder: SyncedFolder;
  /** What the server watches: a Graph resource path, or an EWS folder id / distinguished name. */
  readonly resource: string;
  /** The server's subscription id; absent until created (and after a failure removed it). */
  readonly subscriptionId?: string;
  readonly status: SubscriptionStatus;
  /** ISO 8601; Graph: the subscription's expirationDateTime. */
  readonly expiresAt?: string;
  readonly lastNotificationAt?: string;
  /** Hex SHA-256 of the clientState (Graph) or callback token (EWS). Never the value itself. */
  readonly secretHash?: string;
  /** Opaque to the core; EWS keeps the last watermark here so a resubscription continues from it. */
  readonly watermark?: string;
  readonly lastError?: SubscriptionError;
  readonly createdAt: string;
  readonly updatedAt: string;
}

interface SubscriptionIdRow {
  readonly protocol: NotificationProtocol;
  readonly subscriptionId: string;
  readonly tenantId: string;
  readonly groupId: string;
  readonly mailbox: string;
  readonly folder: SyncedFolder;
}

function groupPartition(tenantId: string, groupId: string): string {
  return joinKeyParts(encodeKeyPart(tenantId), encodeKeyPart(groupId));
}

function recordKey(tenantId: string, groupId: string, mailbox: string, folder: string): EntityKey {
  return { partitionKey: groupPartition(tenantId, groupId), rowKey: joinKeyParts(encodeKeyPart(mailbox.toLowerCase()), encodeKeyPart(folder)) };
}

function idKey(protocol: NotificationProtocol, subscriptionId: string): EntityKey {
  return { partitionKey: joinKeyParts(protocol, encodeKeyPart(subscriptionId)), rowKey: 'sub' };
}

const recordCodec: EntityCodec<NotificationSubscriptionRecord> = {
  kind: 'NotificationSubscription',
  keyOf: (r) => recordKey(r.tenantId, r.groupId, r.mailbox, r.folder),
  toColumns: (r) => ({
    protocol: r.protocol,
    tenantId: r.tenantId,
    groupId: r.groupId,
    mailbox: r.mailbox,
    folder: r.folder,
    resource: r.resource,
    subscriptionId: r.subscriptionId,
    status: r.status,
    expiresAt: r.expiresAt,
    lastNotificationAt: r.lastNotificationAt,
    secretHash: r.secretHash,
    watermark: r.watermark,
    lastError: r.lastError ? JSON.stringify(r.lastError) : undefined,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  }),
  fromEntity: (e) => {
    const optional = (name: string) => stringColumn(e, name);
    const lastError = jsonColumn<SubscriptionError | undefined>(e, 'lastError', undefined);
    return {
      protocol: (optional('protocol') ?? 'graph') as NotificationProtocol,
      tenantId: optional('tenantId') ?? '',
      groupId: optional('groupId') ?? '',
      mailbox: optional('mailbox') ?? '',
      folder: (optional('folder') ?? 'inbox') as SyncedFolder,
      resource: optional('resource') ?? '',
      status: (optional('status') ?? 'failed') as SubscriptionStatus,
      createdAt: optional('createdAt') ?? '',
      updatedAt: optional('updatedAt') ?? '',
      ...(optional('subscriptionId') ? { subscriptionId: optional('subscriptionId')! } : {}),
      ...(optional('expiresAt') ? { expiresAt: optional('expiresAt')! } : {}),
      ...(optional('lastNotificationAt') ? { lastNotificationAt: optional('lastNotificationAt')! } : {}),
      ...(optional('secretHash') ? { secretHash: optional('secretHash')! } : {}),
      ...(optional('watermark') ? { watermark: optional('watermark')! } : {}),
      ...(lastError ? { lastError } : {}),
    };
  },
};

const idCodec: EntityCodec<SubscriptionIdRow> = {
  kind: 'NotificationSubscriptionId',
  keyOf: (r) => idKey(r.protocol, r.subscriptionId),
  toColumns: (r) => ({ protocol: r.protocol, subscriptionId: r.subscriptionId, tenantId: r.tenantId, groupId: r.groupId, mailbox: r.mailbox, folder: r.folder }),
  fromEntity: (e) => ({
    protocol: (stringColumn(e, 'protocol') ?? 'graph') as NotificationProtocol,
    subscriptionId: stringColumn(e, 'subscriptionId') ?? '',
    tenantId: stringColumn(e, 'tenantId') ?? '',
    groupId: stringColumn(e, 'groupId') ?? '',
    mailbox: stringColumn(e, 'mailbox') ?? '',
    folder: (stringColumn(e, 'folder') ?? 'inbox') as SyncedFolder,
  }),
};

/** How often lastNotificationAt is written at most: a burst of 500 notifications must not be 500 writes. */
const LAST_NOTIFICATION_WRITE_INTERVAL_IN_MS = 30_000;

export class NotificationSubscriptionsRepository {
  readonly #records: EntityTable<NotificationSubscriptionRecord>;
  readonly #ids: EntityTable<SubscriptionIdRow>;
  /** When this process last wrote lastNotificationAt per subscription: concurrent callbacks of a burst write once. */
  readonly #noted = new Map<string, number>();

  constructor(storage: TableStorage) {
    this.#records = new EntityTable(storage, NOTIFICATION_SUBSCRIPTIONS_TABLE, recordCodec);
    this.#ids = new EntityTable(storage, NOTIFICATION_SUBSCRIPTION_IDS_TABLE, idCodec);
  }

  find(tenantId: string, groupId: string, mailbox: string, folder: string): Promise<Stored<NotificationSubscriptionRecord> | undefined> {
    return this.#records.find(recordKey(tenantId, groupId, mailbox, folder));
  }

  /** Every subscription of one mailbox (one range query). */
  async listMailbox(tenantId: string, groupId: string, mailbox: string): Promise<Stored<NotificationSubscriptionRecord>[]> {
    const all: Stored<NotificationSubscriptionRecord>[] = [];
    for await (const r of this.#records.iterate(EntityTable.prefixFilter(groupPartition(tenantId, groupId), `${encodeKeyPart(mailbox.toLowerCase())}~`))) all.push(r);
    return all;
  }

  /** Every subscription of one group (one partition query): the scheduler reads this per due group. */
  async listGroup(tenantId: string, groupId: string): Promise<Stored<NotificationSubscriptionRecord>[]> {
    const all: Stored<NotificationSubscriptionRecord>[] = [];
    for await (const r of this.#records.iterate(odata`PartitionKey eq ${groupPartition(tenantId, groupId)}`)) all.push(r);
    return all;
  }

  /** Every subscription (the renewal timer). */
  listAll(protocol?: NotificationProtocol): AsyncIterableIterator<Stored<NotificationSubscriptionRecord>> {
    return this.#records.iterate(protocol ? odata`protocol eq ${protocol}` : undefined);
  }

  /** The record that owns a server subscription id, or undefined (unknown or forged id). */
  async findBySubscriptionId(protocol: NotificationProtocol, subscriptionId: string): Promise<Stored<NotificationSubscriptionRecord> | undefined> {
    if (subscriptionId.length === 0 || subscriptionId.length > 256) return undefined;
    const index = await this.#ids.find(idKey(protocol, subscriptionId));
    if (!index) return undefined;
    const record = await this.find(index.tenantId, index.groupId, index.mailbox, index.folder);
    // The index can outlive a replaced subscription for a moment: only the record's own id counts.
    return record?.subscriptionId === subscriptionId && record.protocol === protocol ? record : undefined;
  }

  /**
   * Writes the record (ETag-guarded when `etag` is given; PreconditionFailedError if it changed)
   * and the id index row for its subscription id. The index is written first, so a callback that
   * arrives as soon as the server created the subscription finds it.
   */
  async save(record: NotificationSubscriptionRecord, etag?: string): Promise<Stored<NotificationSubscriptionRecord>> {
    if (record.subscriptionId) {
      await this.#ids.upsert({ protocol: record.protocol, subscriptionId: record.subscriptionId, tenantId: record.tenantId, groupId: record.groupId, mailbox: record.mailbox, folder: record.folder });
    }
    if (etag) return this.#records.replace(record, etag);
    return this.#records.upsert(record);
  }

  /** Forgets a subscription id (after the server deleted it or it was replaced). */
  async forgetSubscriptionId(protocol: NotificationProtocol, subscriptionId: string): Promise<void> {
    await this.#ids.delete(idKey(protocol, subscriptionId), subscriptionId).catch((error: unknown) => {
      if (!(error instanceof EntityNotFoundError)) throw error;
    });
  }

  async delete(record: NotificationSubscriptionRecord): Promise<void> {
    if (record.subscriptionId) await this.forgetSubscriptionId(record.protocol, record.subscriptionId);
    await this.#records.delete(recordKey(record.tenantId, record.groupId, record.mailbox, record.folder), `${record.mailbox}/${record.folder}`).catch((error: unknown) => {
      if (!(error instanceof EntityNotFoundError)) throw error;
    });
  }

  /**
   * Notes that a notification arrived (for the admin status). Written at most every 30 s per
   * subscription and without an ETag (last writer wins; the value only moves forward in practice).
   */
  async noteNotification(record: Stored<NotificationSubscriptionRecord>, at: Date, options: { readonly minIntervalInMs?: number; readonly watermark?: string; readonly expiresAt?: string } = {}): Promise<void> {
    const last = Math.max(record.lastNotificationAt ? Date.parse(record.lastNotificationAt) : 0, this.#noted.get(record.subscriptionId ?? '') ?? 0);
    // EWS keep-alives with a short StatusFrequency need a finer interval (ews-push.ts), and carry the watermark to resume from.
    if (at.getTime() - last < (options.minIntervalInMs ?? LAST_NOTIFICATION_WRITE_INTERVAL_IN_MS)) return;
    if (this.#noted.size > 10_000) this.#noted.clear();
    this.#noted.set(record.subscriptionId ?? '', at.getTime());
    const client = await this.#records.client();
    const key = recordKey(record.tenantId, record.groupId, record.mailbox, record.folder);
    await client.updateEntity({ ...key, lastNotificationAt: at.toISOString(), ...(options.watermark ? { watermark: options.watermark } : {}), ...(options.expiresAt ? { expiresAt: options.expiresAt } : {}) }, 'Merge');
  }
}
