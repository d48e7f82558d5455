import { EntityTable } from './entity-table';
import type { EntityCodec, EntityKey, Stored } from './entity-table';
import { numberColumn, stringColumn } from './table-storage';
import type { Page, PageRequest, TableStorage } from './table-storage';
import { encodeKeyPart } from './table-keys';

export const DEAD_LETTERS_TABLE = 'deadletters';

/**
 * A change batch the customer's target did not accept after the last attempt. The batch itself
 * is kept in blob storage (payloads can exceed an entity's 1 MiB); this row is what admins list.
 */
export interface DeadLetterRecord {
  readonly tenantId: string;
  /** Newest-first key within the tenant. */
  readonly id: string;
  readonly groupId: string;
  readonly mailbox: string;
  readonly batchId: string;
  readonly recordCount: number;
  readonly attempts: number;
  readonly lastErrorCode: string;
  readonly lastErrorMessage: string;
  readonly deadLetteredAt: string;
  /** Blob (in the delivery-batches container) holding the batch JSON. */
  readonly blobName: string;
  readonly replayedAt?: string;
  readonly replayCount: number;
}

function deadLetterKey(record: Pick<DeadLetterRecord, 'tenantId' | 'id'>): EntityKey {
  return { partitionKey: encodeKeyPart(record.tenantId), rowKey: record.id };
}

const deadLetterCodec: EntityCodec<DeadLetterRecord> = {
  kind: 'DeadLetter',
  keyOf: deadLetterKey,
  toColumns: (record) => ({ ...record }),
  fromEntity: (entity) => ({
    tenantId: stringColumn(entity, 'tenantId') ?? '',
    id: stringColumn(entity, 'id') ?? '',
    groupId: stringColumn(entity, 'groupId') ?? '',
    mailbox: stringColumn(entity, 'mailbox') ?? '',
    batchId: stringColumn(entity, 'batchId') ?? '',
    recordCount: numberColumn(entity, 'recordCount') ?? 0,
    attempts: numberColumn(entity, 'attempts') ?? 0,
    lastErrorCode: stringColumn(entity, 'lastErrorCode') ?? '',
    lastErrorMessage: stringColumn(entity, 'lastErrorMessage') ?? '',
    deadLetteredAt: stringColumn(entity, 'deadLetteredAt') ?? '',
    blobName: stringColumn(entity, 'blobName') ?? '',
    ...(stringColumn(entity, 'replayedAt') ? { replayedAt: stringColumn(entity, 'replayedAt') } : {}),
    replayCount: numberColumn(entity, 'replayCount') ?? 0,
  }),
};

/** Dead-lettered delivery batches, one partition per tenant, newest first. */
export class DeadLetterRepository {
  readonly #table: EntityTable<DeadLetterRecord>;

  constructor(storage: TableStorage) {
    this.#table = new EntityTable(storage, DEAD_LETTERS_TABLE, deadLetterCodec);
  }

  create(record: DeadLetterRecord): Promise<Stored<DeadLetterRecord>> {
    return this.#table.create(record);
  }

  find(tenantId: string, id: string): Promise<Stored<DeadLetterRecord> | undefined> {
    return this.#table.find(deadLetterKey({ tenantId, id }));
  }

  replace(record: DeadLetterRecord, etag: string): Promise<Stored<DeadLetterRecord>> {
    return this.#table.replace(record, etag);
  }

  page(tenantId: string, request: PageRequest): Promise<Page<Stored<DeadLetterRecord>>> {
    return this.#table.page(EntityTable.prefixFilter(encodeKeyPart(tenantId), ''), request);
  }
}
