import { odata } from './table-sdk';
import type { TransactionAction } from '@azure/data-tables';
import { EntityTable } from './entity-table';
import type { EntityCodec, EntityKey, Stored } from './entity-table';
import type { MailboxRecord } from './records';
import { booleanColumn, jsonColumn, stringColumn } from './table-storage';
import type { Page, PageRequest, TableStorage } from './table-storage';
import { encodeKeyPart, joinKeyParts } from './table-keys';

export const MAILBOXES_TABLE = 'mailboxes';

/** One partition per group; the row key is the encoded, lower-cased SMTP address. */
function partitionOf(tenantId: string, groupId: string): string {
  return joinKeyParts(encodeKeyPart(tenantId), encodeKeyPart(groupId));
}

function mailboxKey(tenantId: string, groupId: string, smtpAddress: string): EntityKey {
  return { partitionKey: partitionOf(tenantId, groupId), rowKey: encodeKeyPart(smtpAddress.toLowerCase()) };
}

/** Columns added for folder selection and linked mailboxes (#16): absent on older rows, and then absent here too. */
function optionalMailboxColumns(entity: Parameters<typeof stringColumn>[0]): Pick<MailboxRecord, 'folders' | 'delegatedUserObjectId'> {
  const folders = jsonColumn<MailboxRecord['folders']>(entity, 'folders', undefined);
  const user = stringColumn(entity, 'delegatedUserObjectId');
  return { ...(folders ? { folders } : {}), ...(user ? { delegatedUserObjectId: user } : {}) };
}

const mailboxCodec: EntityCodec<MailboxRecord> = {
  kind: 'Mailbox',
  keyOf: (mailbox) => mailboxKey(mailbox.tenantId, mailbox.groupId, mailbox.smtpAddress),
  toColumns: (mailbox) => ({
    tenantId: mailbox.tenantId,
    groupId: mailbox.groupId,
    smtpAddress: mailbox.smtpAddress,
    displayName: mailbox.displayName,
    userId: mailbox.userId,
    enabled: mailbox.enabled,
    status: mailbox.status,
    lastError: mailbox.lastError ? JSON.stringify(mailbox.lastError) : undefined,
    lastSuccessfulSyncAt: mailbox.lastSuccessfulSyncAt,
    counts: JSON.stringify(mailbox.counts),
    folders: mailbox.folders ? JSON.stringify(mailbox.folders) : undefined,
    delegatedUserObjectId: mailbox.delegatedUserObjectId,
    createdAt: mailbox.createdAt,
    updatedAt: mailbox.updatedAt,
  }),
  fromEntity: (entity) => ({
    tenantId: stringColumn(entity, 'tenantId') ?? '',
    groupId: stringColumn(entity, 'groupId') ?? '',
    smtpAddress: stringColumn(entity, 'smtpAddress') ?? '',
    displayName: stringColumn(entity, 'displayName'),
    userId: stringColumn(entity, 'userId'),
    enabled: booleanColumn(entity, 'enabled') ?? true,
    status: (stringColumn(entity, 'status') ?? 'pending') as MailboxRecord['status'],
    lastError: jsonColumn<MailboxRecord['lastError']>(entity, 'lastError', undefined),
    lastSuccessfulSyncAt: stringColumn(entity, 'lastSuccessfulSyncAt'),
    counts: jsonColumn<MailboxRecord['counts']>(entity, 'counts', { created: 0, updated: 0, deleted: 0 }),
    ...optionalMailboxColumns(entity),
    createdAt: stringColumn(entity, 'createdAt') ?? '',
    updatedAt: stringColumn(entity, 'updatedAt') ?? '',
  }),
};

export class MailboxesRepository {
  readonly #table: EntityTable<MailboxRecord>;

  constructor(storage: TableStorage) {
    this.#table = new EntityTable(storage, MAILBOXES_TABLE, mailboxCodec);
  }

  /** EntityConflictError when the group already has this address. */
  create(mailbox: MailboxRecord): Promise<Stored<MailboxRecord>> {
    return this.#table.create(mailbox);
  }

  get(tenantId: string, groupId: string, smtpAddress: string): Promise<Stored<MailboxRecord>> {
    return this.#table.get(mailboxKey(tenantId, groupId, smtpAddress), smtpAddress);
  }

  find(tenantId: string, groupId: string, smtpAddress: string): Promise<Stored<MailboxRecord> | undefined> {
    return this.#table.find(mailboxKey(tenantId, groupId, smtpAddress));
  }

  /** PreconditionFailedError when it changed since `etag` (the sync and admins both write here). */
  replace(mailbox: MailboxRecord, etag: string): Promise<Stored<MailboxRecord>> {
    return this.#table.replace(mailbox, etag);
  }

  delete(tenantId: string, groupId: string, smtpAddress: string, etag?: string): Promise<void> {
    return this.#table.delete(mailboxKey(tenantId, groupId, smtpAddress), smtpAddress, etag);
  }

  page(tenantId: string, groupId: string, request: PageRequest): Promise<Page<Stored<MailboxRecord>>> {
    return this.#table.page(EntityTable.prefixFilter(partitionOf(tenantId, groupId), ''), request);
  }

  /** Mailboxes of any group of the tenant reached with this delegated user's token (#16); a filtered scan, used at sign-in only. */
  linkedTo(tenantId: string, userObjectId: string): AsyncIterableIterator<Stored<MailboxRecord>> {
    return this.#table.iterate(odata`tenantId eq ${tenantId} and delegatedUserObjectId eq ${userObjectId.toLowerCase()}`);
  }

  list(tenantId: string, groupId: string): AsyncIterableIterator<Stored<MailboxRecord>> {
    return this.#table.iterate(EntityTable.prefixFilter(partitionOf(tenantId, groupId), ''));
  }

  /** Removes every mailbox of a group, 100 rows per transaction (the Table service's batch limit). */
  async deleteAllInGroup(tenantId: string, groupId: string): Promise<number> {
    let batch: TransactionAction[] = [];
    let deleted = 0;
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      await this.#table.transaction(batch, `${tenantId}/${groupId}`);
      deleted += batch.length;
      batch = [];
    };
    for await (const mailbox of this.list(tenantId, groupId)) {
      batch.push(['delete', { ...mailboxKey(tenantId, groupId, mailbox.smtpAddress) }]);
      if (batch.length === 100) await flush();
    }
    await flush();
    return deleted;
  }
}
