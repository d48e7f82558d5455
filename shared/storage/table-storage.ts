import type { TableClient, TableEntityResult } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import type { StorageConfig } from '../config';
import { InvalidContinuationTokenError } from './errors';
import { tablesSdk } from './table-sdk';

/**
 * Where the product's tables live. Locally a connection string (Azurite, plain http);
 * in Azure the account's table endpoint plus the app's managed identity. Table names are
 * fixed by the repositories; `tableNamePrefix` only separates test runs or deployments.
 */
export interface TableStorageOptions {
  readonly storage: StorageConfig;
  /** Required when `storage.kind` is 'identity' (createAppCredential(config.identity)). */
  readonly credential?: TokenCredential;
  readonly tableNamePrefix?: string;
}

export type StoredEntity = TableEntityResult<Record<string, unknown>>;

/** One page of a listing; `continuationToken` is absent on the last page. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly continuationToken?: string;
}

export interface PageRequest {
  /** 1..1000 (the Table service returns at most 1000 rows per request). */
  readonly maxPageSize?: number;
  readonly continuationToken?: string;
}

/** Hands out one TableClient per table and creates each table once, on first use. */
export class TableStorage {
  readonly #options: TableStorageOptions;
  readonly #clients = new Map<string, Promise<TableClient>>();

  constructor(options: TableStorageOptions) {
    this.#options = options;
  }

  table(name: string): Promise<TableClient> {
    const fullName = (this.#options.tableNamePrefix ?? '') + name;
    let client = this.#clients.get(fullName);
    if (!client) {
      client = this.#createClient(fullName);
      this.#clients.set(fullName, client);
      // A failed creation must not be cached forever: the next call tries again.
      client.catch(() => this.#clients.delete(fullName));
    }
    return client;
  }

  async #createClient(tableName: string): Promise<TableClient> {
    const client = createTableClient(this.#options.storage, tableName, this.#options.credential);
    await client.createTable();
    return client;
  }
}

/** A TableClient from configuration (connection string locally, endpoint + credential in Azure). */
export function createTableClient(storage: StorageConfig, tableName: string, credential?: TokenCredential): TableClient {
  if (storage.kind === 'connectionString') {
    const connectionString = storage.connectionString.reveal();
    // Azurite speaks plain http on loopback; the SDK refuses that unless told.
    const allowInsecureConnection = /TableEndpoint=http:\/\//i.test(connectionString) || /DefaultEndpointsProtocol=http;/i.test(connectionString);
    return tablesSdk().TableClient.fromConnectionString(connectionString, tableName, { allowInsecureConnection });
  }
  if (!credential) throw new Error('A TokenCredential is required for identity-based table storage');
  return new (tablesSdk().TableClient)(storage.tableEndpoint, tableName, credential);
}

interface SdkContinuation {
  nextPartitionKey: string;
  nextRowKey?: string;
}

/**
 * The SDK decodes continuation tokens without checking them, so a hostile token would surface
 * as a SyntaxError deep in the SDK. Tokens are checked here and rejected with a typed error.
 */
export function assertValidContinuationToken(token: string): void {
  if (token.length > 4096 || !/^[A-Za-z0-9+/=]+$/.test(token)) throw new InvalidContinuationTokenError();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64').toString('latin1'));
  } catch {
    throw new InvalidContinuationTokenError();
  }
  const candidate = parsed as Partial<SdkContinuation> | null;
  if (
    typeof candidate !== 'object' || candidate === null ||
    typeof candidate.nextPartitionKey !== 'string' || candidate.nextPartitionKey.length === 0 ||
    (candidate.nextRowKey !== undefined && typeof candidate.nextRowKey !== 'string')
  ) {
    throw new InvalidContinuationTokenError();
  }
}

/**
 * Reads one page of entities matching `filter` (built with the SDK's `odata` helper only).
 * The service may return an empty page with a continuation token (a scan hit a partition
 * boundary); those are skipped so callers get items or the end.
 */
export async function readPage<T>(
  client: TableClient,
  filter: string | undefined,
  request: PageRequest,
  map: (entity: StoredEntity) => T,
): Promise<Page<T>> {
  if (request.continuationToken !== undefined) assertValidContinuationToken(request.continuationToken);
  const maxPageSize = Math.min(Math.max(request.maxPageSize ?? 100, 1), 1000);
  let continuationToken = request.continuationToken;
  for (let attempt = 0; attempt < 20; attempt++) {
    const pages = client
      .listEntities<Record<string, unknown>>({ queryOptions: filter ? { filter } : {} })
      .byPage({ maxPageSize, ...(continuationToken ? { continuationToken } : {}) });
    const next = await pages.next();
    if (next.done) return { items: [] };
    const page = next.value;
    continuationToken = page.continuationToken;
    if (page.length > 0 || !continuationToken) {
      return { items: page.map(map), ...(continuationToken ? { continuationToken } : {}) };
    }
  }
  return { items: [], ...(continuationToken ? { continuationToken } : {}) };
}

/** Every entity matching `filter`, page by page, as an async iterator. */
export async function* iterateEntities<T>(
  client: TableClient,
  filter: string | undefined,
  map: (entity: StoredEntity) => T,
): AsyncIterableIterator<T> {
  for await (const entity of client.listEntities<Record<string, unknown>>({ queryOptions: filter ? { filter } : {} })) {
    yield map(entity);
  }
}

/** Reads a JSON-valued column (nested values are stored as JSON text: Table has no nested types). */
export function jsonColumn<T>(entity: StoredEntity, column: string, fallback: T): T {
  const raw = entity[column];
  if (typeof raw !== 'string' || raw === '') return fallback;
  return JSON.parse(raw) as T;
}

export function stringColumn(entity: StoredEntity, column: string): string | undefined {
  const raw = entity[column];
  return typeof raw === 'string' ? raw : undefined;
}

export function numberColumn(entity: StoredEntity, column: string): number | undefined {
  const raw = entity[column];
  return typeof raw === 'number' ? raw : undefined;
}

export function booleanColumn(entity: StoredEntity, column: string): boolean | undefined {
  const raw = entity[column];
  return typeof raw === 'boolean' ? raw : undefined;
}
