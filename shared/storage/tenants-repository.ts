import { EntityTable } from './entity-table';
import type { EntityCodec, EntityKey, Stored } from './entity-table';
import type { EntraTenantBinding, TenantRecord, TenantStatus } from './records';
import { stringColumn } from './table-storage';
import type { Page, PageRequest, TableStorage } from './table-storage';
import { encodeKeyPart } from './table-keys';

export const TENANTS_TABLE = 'tenants';
// Tenants are few; one partition keeps listing a single ordered range query.
const TENANTS_PARTITION = 'tenant';

function tenantKey(id: string): EntityKey {
  return { partitionKey: TENANTS_PARTITION, rowKey: encodeKeyPart(id) };
}

const tenantCodec: EntityCodec<TenantRecord> = {
  kind: 'Tenant',
  keyOf: (tenant) => tenantKey(tenant.id),
  toColumns: (tenant) => ({
    id: tenant.id,
    displayName: tenant.displayName,
    entraTenantId: tenant.entraTenantId,
    entraTenantBoundBy: tenant.entraTenantBoundBy,
    allowSharedEntraTenant: tenant.allowSharedEntraTenant,
    status: tenant.status,
    createdAt: tenant.createdAt,
    updatedAt: tenant.updatedAt,
  }),
  fromEntity: (entity) => ({
    id: stringColumn(entity, 'id') ?? '',
    displayName: stringColumn(entity, 'displayName') ?? '',
    entraTenantId: stringColumn(entity, 'entraTenantId'),
    entraTenantBoundBy: stringColumn(entity, 'entraTenantBoundBy') as EntraTenantBinding | undefined,
    allowSharedEntraTenant: entity.allowSharedEntraTenant === true ? true : undefined,
    status: (stringColumn(entity, 'status') ?? 'active') as TenantStatus,
    createdAt: stringColumn(entity, 'createdAt') ?? '',
    updatedAt: stringColumn(entity, 'updatedAt') ?? '',
  }),
};

export class TenantsRepository {
  readonly #table: EntityTable<TenantRecord>;

  constructor(storage: TableStorage) {
    this.#table = new EntityTable(storage, TENANTS_TABLE, tenantCodec);
  }

  create(tenant: TenantRecord): Promise<Stored<TenantRecord>> {
    return this.#table.create(tenant);
  }

  /** EntityNotFoundError when absent. */
  get(id: string): Promise<Stored<TenantRecord>> {
    return this.#table.get(tenantKey(id), id);
  }

  find(id: string): Promise<Stored<TenantRecord> | undefined> {
    return this.#table.find(tenantKey(id));
  }

  /** PreconditionFailedError when it changed since `etag` was read. */
  replace(tenant: TenantRecord, etag: string): Promise<Stored<TenantRecord>> {
    return this.#table.replace(tenant, etag);
  }

  delete(id: string, etag?: string): Promise<void> {
    return this.#table.delete(tenantKey(id), id, etag);
  }

  page(request: PageRequest): Promise<Page<Stored<TenantRecord>>> {
    return this.#table.page(EntityTable.prefixFilter(TENANTS_PARTITION, ''), request);
  }

  list(): AsyncIterableIterator<Stored<TenantRecord>> {
    return this.#table.iterate(EntityTable.prefixFilter(TENANTS_PARTITION, ''));
  }
}
