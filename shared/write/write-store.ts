/**
 * Table Storage for the write path, one table `writeoperations`, partitioned by mailbox
 * (tenant|group|mailbox) so one mailbox's rows sit together and group deletion removes them by
 * prefix. Row kinds, told apart by the row key's prefix:
 * - `op|<operationId>`: the operation (request, state, result) — GET .../operations/{id};
 * - `key|<sha256(idempotencyKey)>`: claims the key; inserted first, so two requests with one key
 *   race on an insert and only one operation exists;
 * - `ext|<itemType>|<externalId>`: the application's id -> Exchange id (also on the item as a marker);
 * - `echo|<sha256(itemId)>|<sha256(version)>`: a change the connector wrote, so sync can tell it
 *   from a user's edit (version `deleted` for deletions, `read=true|false` for read-state writes).
 * Nothing here is secret; request bodies are the application's own data (capped at 32 KiB).
 */
import { createHash } from 'node:crypto';
import { odata } from '../storage/table-sdk';
import { EntityConflictError } from '../storage/errors';
import { EntityTable } from '../storage/entity-table';
import type { EntityCodec, EntityKey, Stored } from '../storage/entity-table';
import { numberColumn, stringColumn } from '../storage/table-storage';
import type { TableStorage } from '../storage/table-storage';
import { encodeKeyPart, joinKeyParts } from '../storage/table-keys';
import type { OperationState, WriteOperationRequest } from './write-operation';
import type { ChangeItem } from '../delivery/change-batch';

import { WRITE_OPERATIONS_TABLE } from '../storage/group-data-store';

export { WRITE_OPERATIONS_TABLE };

export interface WriteBackSettings {
  /** Drop the echoes of the connector's own writes from the sync stream instead of marking them. */
  readonly dropConnectorEchoes: boolean;
}

export interface MailboxKey {
  readonly tenantId: string;
  readonly groupId: string;
  readonly mailbox: string;
}

export interface OperationRecord extends MailboxKey {
  readonly operationId: string;
  readonly request: WriteOperationRequest;
  readonly status: OperationState;
  readonly attempts: number;
  readonly acceptedAt: string;
  readonly completedAt?: string | undefined;
  readonly itemId?: string | undefined;
  readonly version?: string | undefined;
  readonly externalId?: string | undefined;
  readonly currentItem?: ChangeItem | undefined;
  readonly error?: { readonly code: string; readonly message: string } | undefined;
  /** Set once the operationResult event is in the delivery outbox (never sent twice by us). */
  readonly resultEnqueuedAt?: string | undefined;
}

interface Row extends MailboxKey {
  readonly rowKey: string;
  readonly value: string;
  readonly data?: string | undefined;
  readonly attempts?: number | undefined;
}

export function mailboxPartition(key: MailboxKey): string {
  return joinKeyParts(encodeKeyPart(key.tenantId), encodeKeyPart(key.groupId), encodeKeyPart(key.mailbox.toLowerCase()));
}

function digest(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}

const codec: EntityCodec<Row> = {
  kind: 'WriteOperation',
  keyOf: (row) => ({ partitionKey: mailboxPartition(row), rowKey: row.rowKey }),
  toColumns: (row) => ({ tenantId: row.tenantId, groupId: row.groupId, mailbox: row.mailbox.toLowerCase(), value: row.value, data: row.data, attempts: row.attempts }),
  fromEntity: (entity) => ({
    tenantId: stringColumn(entity, 'tenantId') ?? '',
    groupId: stringColumn(entity, 'groupId') ?? '',
    mailbox: stringColumn(entity, 'mailbox') ?? '',
    rowKey: String(entity.rowKey),
    value: stringColumn(entity, 'value') ?? '',
    data: stringColumn(entity, 'data'),
    attempts: numberColumn(entity, 'attempts'),
  }),
};

const opRow = (operationId: string) => `op|${operationId}`;
const keyRow = (idempotencyKey: string) => `key|${digest(idempotencyKey)}`;
const extRow = (itemType: string, externalId: string) => `ext|${itemType}|${encodeKeyPart(externalId)}`;
const echoRow = (itemId: string, version: string) => `echo|${digest(itemId)}|${digest(version)}`;

export class WriteStore {
  readonly #table: EntityTable<Row>;

  constructor(storage: TableStorage) {
    this.#table = new EntityTable(storage, WRITE_OPERATIONS_TABLE, codec);
  }

  #key(mailbox: MailboxKey, rowKey: string): EntityKey {
    return { partitionKey: mailboxPartition(mailbox), rowKey };
  }

  /**
   * Claims the idempotency key for `operationId`. Returns the operation id that owns the key:
   * `operationId` when this call claimed it, the earlier one otherwise.
   */
  async claimKey(mailbox: MailboxKey, idempotencyKey: string, operationId: string): Promise<string> {
    try {
      await this.#table.create({ ...mailbox, rowKey: keyRow(idempotencyKey), value: operationId });
      return operationId;
    } catch (error) {
      if (!(error instanceof EntityConflictError)) throw error;
      const existing = await this.#table.find(this.#key(mailbox, keyRow(idempotencyKey)));
      return existing?.value ?? operationId;
    }
  }

  async saveOperation(input: OperationRecord, etag?: string): Promise<Stored<OperationRecord>> {
    // Callers often hold a Stored<OperationRecord>: its etag is the row's, not part of the record.
    const { etag: _etag, ...record } = input as Stored<OperationRecord>;
    void _etag;
    const row: Row = { tenantId: record.tenantId, groupId: record.groupId, mailbox: record.mailbox, rowKey: opRow(record.operationId), value: record.status, data: JSON.stringify(record), attempts: record.attempts };
    const stored = etag === undefined ? await this.#table.upsert(row) : await this.#table.replace(row, etag);
    return { ...record, etag: stored.etag };
  }

  /** Inserts the operation unless one with its id exists; returns what is stored, and whether this call stored it. */
  async insertOperation(record: OperationRecord): Promise<{ readonly record: Stored<OperationRecord>; readonly inserted: boolean }> {
    try {
      const stored = await this.#table.create({ tenantId: record.tenantId, groupId: record.groupId, mailbox: record.mailbox, rowKey: opRow(record.operationId), value: record.status, data: JSON.stringify(record), attempts: record.attempts });
      return { record: { ...record, etag: stored.etag }, inserted: true };
    } catch (error) {
      if (!(error instanceof EntityConflictError)) throw error;
      const existing = await this.findOperation(record, record.operationId);
      if (!existing) throw error;
      return { record: existing, inserted: false };
    }
  }

  async findOperation(mailbox: MailboxKey, operationId: string): Promise<Stored<OperationRecord> | undefined> {
    const row = await this.#table.find(this.#key(mailbox, opRow(operationId)));
    if (!row?.data) return undefined;
    return { ...(JSON.parse(row.data) as OperationRecord), etag: row.etag };
  }

  async mapExternalId(mailbox: MailboxKey, itemType: string, externalId: string, itemId: string): Promise<void> {
    await this.#table.upsert({ ...mailbox, rowKey: extRow(itemType, externalId), value: itemId });
  }

  async itemIdOf(mailbox: MailboxKey, itemType: string, externalId: string): Promise<string | undefined> {
    return (await this.#table.find(this.#key(mailbox, extRow(itemType, externalId))))?.value;
  }

  /** Records that `operationId` produced this version of the item (echo suppression). */
  async recordWrite(mailbox: MailboxKey, itemId: string, version: string, operationId: string): Promise<void> {
    await this.#table.upsert({ ...mailbox, rowKey: echoRow(itemId, version), value: operationId });
  }

  /** Per-group write-back settings (PUT .../groups/{groupId}/write-back). */
  async settings(tenantId: string, groupId: string): Promise<WriteBackSettings> {
    const row = await this.#table.find(this.#key({ tenantId, groupId, mailbox: '' }, 'settings'));
    return row?.data ? (JSON.parse(row.data) as WriteBackSettings) : { dropConnectorEchoes: false };
  }

  async saveSettings(tenantId: string, groupId: string, settings: WriteBackSettings): Promise<void> {
    await this.#table.upsert({ tenantId, groupId, mailbox: '', rowKey: 'settings', value: 'settings', data: JSON.stringify(settings) });
  }

  /** Withdraws a write recorded in advance (delete, move, read state) that did not happen. */
  async forgetWrite(mailbox: MailboxKey, itemId: string, version: string): Promise<void> {
    await this.#table.delete(this.#key(mailbox, echoRow(itemId, version)), 'echo').catch(() => undefined);
  }

  /**
   * Retention: removes finished operations (and their idempotency keys) that finished before
   * `cutoff`, and echo rows last written before it. Queued and running operations, external id
   * mappings and settings stay. Returns what was removed.
   */
  async purgeFinishedBefore(cutoff: Date): Promise<{ readonly operations: number; readonly echoes: number }> {
    let operations = 0;
    let echoes = 0;
    const since = cutoff.toISOString();
    for await (const row of this.#table.iterate(odata`RowKey ge ${'echo|'} and RowKey lt ${'echo|~'} and Timestamp lt ${cutoff}`)) {
      await this.#table.delete({ partitionKey: mailboxPartition(row), rowKey: row.rowKey }, 'echo').catch(() => undefined);
      echoes++;
    }
    for await (const row of this.#table.iterate(odata`RowKey ge ${'op|'} and RowKey lt ${'op|~'}`)) {
      if (!row.data) continue;
      const record = JSON.parse(row.data) as OperationRecord;
      if (!record.completedAt || record.completedAt >= since || !['succeeded', 'conflict', 'failed'].includes(record.status)) continue;
      // The key first: were the operation deleted first and this loop die, the key would name nothing.
      await this.#table.delete(this.#key(record, keyRow(record.request.idempotencyKey)), 'idempotency key').catch(() => undefined);
      await this.#table.delete(this.#key(record, row.rowKey), 'operation', row.etag).catch(() => undefined);
      operations++;
    }
    return { operations, echoes };
  }

  /** The operation that wrote this version of the item, if the connector wrote it. */
  async writtenBy(mailbox: MailboxKey, itemId: string, version: string): Promise<string | undefined> {
    return (await this.#table.find(this.#key(mailbox, echoRow(itemId, version))))?.value;
  }
}
