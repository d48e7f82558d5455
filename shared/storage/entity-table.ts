import { odata } from './table-sdk';
import type { TableClient, TransactionAction } from '@azure/data-tables';
import { EntityConflictError, restStatusOf, translateTableError } from './errors';
import { iterateEntities, readPage } from './table-storage';
import type { Page, PageRequest, StoredEntity, TableStorage } from './table-storage';

/** A value as stored, with the ETag that guards the next write (optimistic concurrency). */
export type Stored<T> = T & { readonly etag: string };

export type ColumnValue = string | number | boolean | Date | undefined;

export interface EntityKey {
  readonly partitionKey: string;
  readonly rowKey: string;
}

/** How one kind of record maps to a Table entity and back. */
export interface EntityCodec<T> {
  /** Used in error messages ("Tenant 'x' was not found"). */
  readonly kind: string;
  keyOf(value: T): EntityKey;
  /** Plain columns; nested values go in as JSON text. Never secrets. */
  toColumns(value: T): Record<string, ColumnValue>;
  fromEntity(entity: StoredEntity): T;
}

/**
 * Typed create/read/replace/delete/list over one table for one codec. Repositories build on
 * it; other modules (sync state, leases, invitations, dead letters) can add their own codecs
 * and tables the same way without touching the admin repositories.
 */
export class EntityTable<T> {
  constructor(
    private readonly storage: TableStorage,
    private readonly tableName: string,
    private readonly codec: EntityCodec<T>,
  ) {}

  client(): Promise<TableClient> {
    return this.storage.table(this.tableName);
  }

  entityOf(value: T): EntityKey & Record<string, ColumnValue> {
    const columns = Object.fromEntries(Object.entries(this.codec.toColumns(value)).filter(([, v]) => v !== undefined));
    return { ...columns, ...this.codec.keyOf(value) };
  }

  /** Inserts; EntityConflictError when the key exists. */
  async create(value: T): Promise<Stored<T>> {
    const client = await this.client();
    const entity = this.entityOf(value);
    try {
      const response = await client.createEntity(entity);
      return { ...value, etag: response.etag ?? '' };
    } catch (error) {
      return translateTableError(error, this.codec.kind, this.describe(entity));
    }
  }

  /** Replaces the whole entity if it still has `etag` (PreconditionFailedError otherwise). */
  async replace(value: T, etag: string): Promise<Stored<T>> {
    const client = await this.client();
    const entity = this.entityOf(value);
    try {
      const response = await client.updateEntity(entity, 'Replace', { etag });
      return { ...value, etag: response.etag ?? '' };
    } catch (error) {
      return translateTableError(error, this.codec.kind, this.describe(entity));
    }
  }

  /** Inserts or replaces without a concurrency check (for records with one writer). */
  async upsert(value: T): Promise<Stored<T>> {
    const client = await this.client();
    const entity = this.entityOf(value);
    const response = await client.upsertEntity(entity, 'Replace');
    return { ...value, etag: response.etag ?? '' };
  }

  async find(key: EntityKey): Promise<Stored<T> | undefined> {
    const client = await this.client();
    try {
      const entity = await client.getEntity<Record<string, unknown>>(key.partitionKey, key.rowKey);
      return { ...this.codec.fromEntity(entity), etag: entity.etag };
    } catch (error) {
      if (restStatusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** EntityNotFoundError when absent. */
  async get(key: EntityKey, description: string): Promise<Stored<T>> {
    const found = await this.find(key);
    if (!found) return translateTableError({ statusCode: 404 }, this.codec.kind, description);
    return found;
  }

  /** Deletes; with `etag` only if unchanged. EntityNotFoundError when absent. */
  async delete(key: EntityKey, description: string, etag?: string): Promise<void> {
    const client = await this.client();
    try {
      await client.deleteEntity(key.partitionKey, key.rowKey, etag ? { etag } : {});
    } catch (error) {
      translateTableError(error, this.codec.kind, description);
    }
  }

  page(filter: string | undefined, request: PageRequest): Promise<Page<Stored<T>>> {
    return this.client().then((client) => readPage(client, filter, request, (entity) => this.decode(entity)));
  }

  async *iterate(filter: string | undefined): AsyncIterableIterator<Stored<T>> {
    const client = await this.client();
    yield* iterateEntities(client, filter, (entity) => this.decode(entity));
  }

  /** Rows of one partition whose RowKey starts with `prefix` (a range query; prefix must be key-safe). */
  static prefixFilter(partitionKey: string, rowKeyPrefix: string): string {
    return odata`PartitionKey eq ${partitionKey} and RowKey ge ${rowKeyPrefix} and RowKey lt ${rowKeyPrefix + '~'}`;
  }

  /**
   * Runs actions atomically (same table and partition). A 409 on any action fails all of
   * them and surfaces as EntityConflictError; a 412 as PreconditionFailedError.
   */
  async transaction(actions: TransactionAction[], description: string): Promise<string[]> {
    const client = await this.client();
    try {
      const response = await client.submitTransaction(actions);
      return response.subResponses.map((sub) => sub.etag ?? '');
    } catch (error) {
      if (restStatusOf(error) === 409) throw new EntityConflictError(this.codec.kind, description);
      return translateTableError(error, this.codec.kind, description);
    }
  }

  decode(entity: StoredEntity): Stored<T> {
    return { ...this.codec.fromEntity(entity), etag: entity.etag };
  }

  private describe(key: EntityKey): string {
    return `${key.partitionKey}/${key.rowKey}`;
  }
}
