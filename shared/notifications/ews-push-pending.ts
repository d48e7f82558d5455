/**
 * Tokens of EWS push subscriptions being created. Exchange may send the first SendNotification
 * before Subscribe's answer reaches us and the record is saved (it does at once when resuming from
 * a watermark with events to report); answering that one Unsubscribe would kill the new
 * subscription. The token was sent to Exchange alone, in that Subscribe request, so a notification
 * carrying it comes from that subscription: the callback accepts it (and syncs) while the row is
 * fresh. Only the token's SHA-256 is stored, as in the record. One row per folder at most: the
 * next subscription of the folder deletes its predecessor's row.
 *
 * Table `ewspushpending`: PartitionKey = hex SHA-256 of the token, RowKey 'p'.
 */
import type { SyncedFolder } from '../delivery/change-batch';
import { EntityTable } from '../storage/entity-table';
import type { EntityCodec, EntityKey } from '../storage/entity-table';
import { EntityNotFoundError } from '../storage/errors';
import { stringColumn } from '../storage/table-storage';
import type { TableStorage } from '../storage/table-storage';

export const EWS_PUSH_PENDING_TABLE = 'ewspushpending';
/** A Subscribe call is bounded by the EWS timeout (100 s); a pending token older than this is ignored. */
export const PENDING_TOKEN_LIFETIME_IN_MS = 5 * 60_000;

export interface PendingEwsSubscription {
  readonly secretHash: string;
  readonly tenantId: string;
  readonly groupId: string;
  readonly mailbox: string;
  readonly folder: SyncedFolder;
  readonly createdAt: string;
}

function keyOf(secretHash: string): EntityKey {
  // A hex digest: safe as a key as it is (no '/', '\\', '#', '?').
  return { partitionKey: secretHash, rowKey: 'p' };
}

const codec: EntityCodec<PendingEwsSubscription> = {
  kind: 'EwsPushPendingToken',
  keyOf: (p) => keyOf(p.secretHash),
  toColumns: (p) => ({ tenantId: p.tenantId, groupId: p.groupId, mailbox: p.mailbox, folder: p.folder, createdAt: p.createdAt }),
  fromEntity: (e) => ({
    secretHash: String(e.partitionKey),
    tenantId: stringColumn(e, 'tenantId') ?? '',
    groupId: stringColumn(e, 'groupId') ?? '',
    mailbox: stringColumn(e, 'mailbox') ?? '',
    folder: (stringColumn(e, 'folder') ?? 'inbox') as SyncedFolder,
    createdAt: stringColumn(e, 'createdAt') ?? '',
  }),
};

export class EwsPushPendingTokens {
  readonly #table: EntityTable<PendingEwsSubscription>;

  constructor(storage: TableStorage) {
    this.#table = new EntityTable(storage, EWS_PUSH_PENDING_TABLE, codec);
  }

  async add(pending: PendingEwsSubscription): Promise<void> {
    await this.#table.upsert(pending);
  }

  /** The pending subscription a token hash belongs to, if it is fresh. */
  async find(secretHash: string, now: Date): Promise<PendingEwsSubscription | undefined> {
    if (!/^[0-9a-f]{64}$/.test(secretHash)) return undefined;
    const found = await this.#table.find(keyOf(secretHash));
    if (!found || now.getTime() - Date.parse(found.createdAt) > PENDING_TOKEN_LIFETIME_IN_MS) return undefined;
    return found;
  }

  async remove(secretHash: string): Promise<void> {
    await this.#table.delete(keyOf(secretHash), 'pending EWS push token').catch((error: unknown) => {
      if (!(error instanceof EntityNotFoundError)) throw error;
    });
  }
}
