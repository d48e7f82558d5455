import { EntityTable } from './entity-table';
import type { EntityCodec, EntityKey, Stored } from './entity-table';
import { stringColumn } from './table-storage';
import type { TableStorage } from './table-storage';
import { encodeKeyPart } from './table-keys';

export const DELIVERY_STATUS_TABLE = 'deliverystatus';

/**
 * How a group's delivery target is doing. Kept apart from the group row so the delivery
 * pipeline never races admin edits of the group (different ETags).
 */
export interface DeliveryStatusRecord {
  readonly tenantId: string;
  readonly groupId: string;
  readonly lastDeliveredAt?: string;
  /** Set while deliveries fail; cleared by the next success. */
  readonly failingSince?: string;
  readonly lastDeliveryError?: { readonly code: string; readonly message: string; readonly at: string };
}

function statusKey(record: Pick<DeliveryStatusRecord, 'tenantId' | 'groupId'>): EntityKey {
  return { partitionKey: encodeKeyPart(record.tenantId), rowKey: encodeKeyPart(record.groupId) };
}

const statusCodec: EntityCodec<DeliveryStatusRecord> = {
  kind: 'DeliveryStatus',
  keyOf: statusKey,
  toColumns: (record) => ({
    tenantId: record.tenantId,
    groupId: record.groupId,
    lastDeliveredAt: record.lastDeliveredAt,
    failingSince: record.failingSince,
    lastDeliveryError: record.lastDeliveryError ? JSON.stringify(record.lastDeliveryError) : undefined,
  }),
  fromEntity: (entity) => {
    const error = stringColumn(entity, 'lastDeliveryError');
    const lastDeliveredAt = stringColumn(entity, 'lastDeliveredAt');
    const failingSince = stringColumn(entity, 'failingSince');
    return {
      tenantId: stringColumn(entity, 'tenantId') ?? '',
      groupId: stringColumn(entity, 'groupId') ?? '',
      ...(lastDeliveredAt ? { lastDeliveredAt } : {}),
      ...(failingSince ? { failingSince } : {}),
      ...(error ? { lastDeliveryError: JSON.parse(error) as NonNullable<DeliveryStatusRecord['lastDeliveryError']> } : {}),
    };
  },
};

export class DeliveryStatusRepository {
  readonly #table: EntityTable<DeliveryStatusRecord>;

  constructor(storage: TableStorage) {
    this.#table = new EntityTable(storage, DELIVERY_STATUS_TABLE, statusCodec);
  }

  async find(tenantId: string, groupId: string): Promise<DeliveryStatusRecord | undefined> {
    const found = await this.#table.find(statusKey({ tenantId, groupId }));
    if (!found) return undefined;
    const { etag: _etag, ...record } = found;
    return record;
  }

  async recordSuccess(tenantId: string, groupId: string, at: Date): Promise<void> {
    await this.#table.upsert({ tenantId, groupId, lastDeliveredAt: at.toISOString() });
  }

  /** Keeps the first failure time while the target keeps failing. */
  async recordFailure(tenantId: string, groupId: string, error: { code: string; message: string }, at: Date): Promise<void> {
    const current = await this.find(tenantId, groupId);
    const next: DeliveryStatusRecord = {
      tenantId,
      groupId,
      ...(current?.lastDeliveredAt ? { lastDeliveredAt: current.lastDeliveredAt } : {}),
      failingSince: current?.failingSince ?? at.toISOString(),
      lastDeliveryError: { code: error.code, message: error.message, at: at.toISOString() },
    };
    await this.#table.upsert(next);
  }

  async statusOf(tenantId: string, groupId: string): Promise<Stored<DeliveryStatusRecord> | undefined> {
    return this.#table.find(statusKey({ tenantId, groupId }));
  }
}
