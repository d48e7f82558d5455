/**
 * Process-and-delete: items the connector itself deleted after the customer acknowledged them.
 * The sync engine asks isSuppressed() for every 'deleted' change it sees and drops the record
 * when true, so the application never hears about our own deletions.
 */
import { EntityTable } from '../storage/entity-table';
import type { EntityCodec, EntityKey } from '../storage/entity-table';
import { stringColumn } from '../storage/table-storage';
import type { TableStorage } from '../storage/table-storage';
import { encodeKeyPart, joinKeyParts } from '../storage/table-keys';
import { SUPPRESSED_DELETIONS_TABLE } from '../storage/group-data-store';

export { SUPPRESSED_DELETIONS_TABLE };

export interface MailboxRef {
  readonly tenantId: string;
  readonly groupId: string;
  readonly mailbox: string;
}

interface SuppressionRecord extends MailboxRef {
  readonly itemId: string;
  readonly deletedAt: string;
}

function suppressionKey(ref: MailboxRef, itemId: string): EntityKey {
  return {
    partitionKey: joinKeyParts(encodeKeyPart(ref.tenantId), encodeKeyPart(ref.groupId), encodeKeyPart(ref.mailbox.toLowerCase())),
    // EWS ids can be long; the key is the hash-free base64url of the id (fits the 1 KiB limit).
    rowKey: encodeKeyPart(itemId),
  };
}

const codec: EntityCodec<SuppressionRecord> = {
  kind: 'SuppressedDeletion',
  keyOf: (record) => suppressionKey(record, record.itemId),
  toColumns: (record) => ({ ...record, mailbox: record.mailbox.toLowerCase() }),
  fromEntity: (entity) => ({
    tenantId: stringColumn(entity, 'tenantId') ?? '',
    groupId: stringColumn(entity, 'groupId') ?? '',
    mailbox: stringColumn(entity, 'mailbox') ?? '',
    itemId: stringColumn(entity, 'itemId') ?? '',
    deletedAt: stringColumn(entity, 'deletedAt') ?? '',
  }),
};

export class SuppressedDeletions {
  readonly #table: EntityTable<SuppressionRecord>;

  constructor(storage: TableStorage) {
    this.#table = new EntityTable(storage, SUPPRESSED_DELETIONS_TABLE, codec);
  }

  /** Recorded BEFORE the EWS delete, so a sync running in between cannot report it. */
  async suppress(ref: MailboxRef, itemIds: readonly string[], at: Date = new Date()): Promise<void> {
    for (const itemId of itemIds) await this.#table.upsert({ ...ref, itemId, deletedAt: at.toISOString() });
  }

  /** True when the connector deleted this item itself (process-and-delete): drop the 'deleted' record. */
  async isSuppressed(ref: MailboxRef, itemId: string): Promise<boolean> {
    return (await this.#table.find(suppressionKey(ref, itemId))) !== undefined;
  }

  /** Forget one entry (after the sync engine has skipped its delete, or when the EWS delete failed). */
  async release(ref: MailboxRef, itemId: string): Promise<void> {
    const key = suppressionKey(ref, itemId);
    if (await this.#table.find(key)) await this.#table.delete(key, `${ref.mailbox}/${itemId}`).catch(() => undefined);
  }
}
