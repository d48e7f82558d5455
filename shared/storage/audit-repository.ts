import { randomUUID } from 'node:crypto';
import { EntityTable } from './entity-table';
import type { EntityCodec, EntityKey, Stored } from './entity-table';
import type { AuditRecord } from './records';
import { jsonColumn, stringColumn } from './table-storage';
import type { Page, PageRequest, TableStorage } from './table-storage';
import { encodeKeyPart, newestFirstRowKey } from './table-keys';

export const AUDIT_TABLE = 'audit';

/** One partition per tenant, newest entry first. */
function auditKey(record: Pick<AuditRecord, 'tenantId' | 'id'>): EntityKey {
  return { partitionKey: encodeKeyPart(record.tenantId), rowKey: record.id };
}

const auditCodec: EntityCodec<AuditRecord> = {
  kind: 'AuditEntry',
  keyOf: auditKey,
  toColumns: (record) => ({
    tenantId: record.tenantId,
    id: record.id,
    at: record.at,
    actorObjectId: record.actor.objectId,
    actorName: record.actor.name,
    action: record.action,
    target: record.target,
    details: JSON.stringify(record.details),
  }),
  fromEntity: (entity) => ({
    tenantId: stringColumn(entity, 'tenantId') ?? '',
    id: stringColumn(entity, 'id') ?? '',
    at: stringColumn(entity, 'at') ?? '',
    actor: { objectId: stringColumn(entity, 'actorObjectId') ?? '', name: stringColumn(entity, 'actorName') ?? '' },
    action: stringColumn(entity, 'action') ?? '',
    target: stringColumn(entity, 'target') ?? '',
    details: jsonColumn<AuditRecord['details']>(entity, 'details', {}),
  }),
};

export type NewAuditEntry = Omit<AuditRecord, 'id' | 'at'>;

/** Append-only trail of admin changes. Callers pass only non-secret details. */
export class AuditRepository {
  readonly #table: EntityTable<AuditRecord>;

  constructor(storage: TableStorage) {
    this.#table = new EntityTable(storage, AUDIT_TABLE, auditCodec);
  }

  async append(entry: NewAuditEntry, at: Date = new Date()): Promise<AuditRecord> {
    const record: AuditRecord = { ...entry, id: newestFirstRowKey(at, randomUUID().slice(0, 8)), at: at.toISOString() };
    const { etag: _etag, ...stored } = await this.#table.create(record);
    return stored;
  }

  /** Newest first. */
  page(tenantId: string, request: PageRequest): Promise<Page<Stored<AuditRecord>>> {
    return this.#table.page(EntityTable.prefixFilter(encodeKeyPart(tenantId), ''), request);
  }

  list(tenantId: string): AsyncIterableIterator<Stored<AuditRecord>> {
    return this.#table.iterate(EntityTable.prefixFilter(encodeKeyPart(tenantId), ''));
  }
}
