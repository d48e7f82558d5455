import { odata } from './table-sdk';
import type { TransactionAction } from '@azure/data-tables';
import { EntityTable } from './entity-table';
import type { EntityCodec, EntityKey, Stored } from './entity-table';
import { EntityConflictError } from './errors';
import type { GroupRecord } from './records';
import { booleanColumn, jsonColumn, numberColumn, stringColumn } from './table-storage';
import type { Page, PageRequest, TableStorage } from './table-storage';
import { encodeKeyPart } from './table-keys';

export const GROUPS_TABLE = 'groups';

/*
 * One partition per tenant holds two kinds of rows: the groups ("g~<id>") and a uniqueness
 * index of external IDs ("x~<externalId>"). Both are written in one entity-group transaction,
 * so two groups can never claim the same external ID, even under concurrent creates.
 */
const GROUP_ROW = 'g~';
const EXTERNAL_ID_ROW = 'x~';

function partitionOf(tenantId: string): string {
  return encodeKeyPart(tenantId);
}

function groupKey(tenantId: string, groupId: string): EntityKey {
  return { partitionKey: partitionOf(tenantId), rowKey: GROUP_ROW + encodeKeyPart(groupId) };
}

function externalIdKey(tenantId: string, externalId: string): EntityKey {
  return { partitionKey: partitionOf(tenantId), rowKey: EXTERNAL_ID_ROW + encodeKeyPart(externalId) };
}

const groupCodec: EntityCodec<GroupRecord> = {
  kind: 'Group',
  keyOf: (group) => groupKey(group.tenantId, group.id),
  toColumns: (group) => ({
    tenantId: group.tenantId,
    id: group.id,
    name: group.name,
    externalId: group.externalId,
    mailboxAccessType: group.mailboxAccessType,
    protocol: group.protocol,
    ewsUrl: group.ewsUrl,
    impersonation: group.impersonation ? JSON.stringify(group.impersonation) : undefined,
    appOnly: group.appOnly ? JSON.stringify(group.appOnly) : undefined,
    folders: JSON.stringify(group.folders),
    pollIntervalMinutes: group.pollIntervalMinutes,
    delivery: group.delivery ? JSON.stringify(group.delivery) : undefined,
    initialSync: JSON.stringify(group.initialSync),
    enabled: group.enabled,
    credential: group.credential ? JSON.stringify(group.credential) : undefined,
    contactCandidates: group.contactCandidates ? JSON.stringify(group.contactCandidates) : undefined,
    createdAt: group.createdAt,
    updatedAt: group.updatedAt,
  }),
  fromEntity: (entity) => ({
    tenantId: stringColumn(entity, 'tenantId') ?? '',
    id: stringColumn(entity, 'id') ?? '',
    name: stringColumn(entity, 'name') ?? '',
    externalId: stringColumn(entity, 'externalId') ?? '',
    mailboxAccessType: (stringColumn(entity, 'mailboxAccessType') ?? 'impersonation') as GroupRecord['mailboxAccessType'],
    ...(stringColumn(entity, 'protocol') === 'graph' || stringColumn(entity, 'protocol') === 'ews' ? { protocol: stringColumn(entity, 'protocol') as GroupRecord['protocol'] } : {}),
    ewsUrl: stringColumn(entity, 'ewsUrl'),
    impersonation: jsonColumn<GroupRecord['impersonation']>(entity, 'impersonation', undefined),
    appOnly: jsonColumn<GroupRecord['appOnly']>(entity, 'appOnly', undefined),
    folders: jsonColumn<GroupRecord['folders']>(entity, 'folders', []),
    pollIntervalMinutes: numberColumn(entity, 'pollIntervalMinutes') ?? 5,
    delivery: jsonColumn<GroupRecord['delivery']>(entity, 'delivery', undefined),
    initialSync: jsonColumn<GroupRecord['initialSync']>(entity, 'initialSync', { kind: 'all' }),
    enabled: booleanColumn(entity, 'enabled') ?? true,
    credential: jsonColumn<GroupRecord['credential']>(entity, 'credential', undefined),
    ...(stringColumn(entity, 'contactCandidates') ? { contactCandidates: jsonColumn<NonNullable<GroupRecord['contactCandidates']>>(entity, 'contactCandidates', { enabled: false, ownDomains: [], excludePatterns: [] }) } : {}),
    createdAt: stringColumn(entity, 'createdAt') ?? '',
    updatedAt: stringColumn(entity, 'updatedAt') ?? '',
  }),
};

export class GroupsRepository {
  readonly #table: EntityTable<GroupRecord>;

  constructor(storage: TableStorage) {
    this.#table = new EntityTable(storage, GROUPS_TABLE, groupCodec);
  }

  /** Creates the group and claims its external ID atomically; EntityConflictError if taken. */
  async create(group: GroupRecord): Promise<Stored<GroupRecord>> {
    const index = externalIdKey(group.tenantId, group.externalId);
    const actions: TransactionAction[] = [
      ['create', this.#table.entityOf(group)],
      ['create', { ...index, groupId: group.id }],
    ];
    try {
      const [etag] = await this.#table.transaction(actions, `${group.tenantId}/${group.id}`);
      return { ...group, etag: etag ?? '' };
    } catch (error) {
      if (error instanceof EntityConflictError) {
        throw new EntityConflictError('Group', group.externalId, `A group with external ID '${group.externalId}' already exists in this tenant`);
      }
      throw error;
    }
  }

  get(tenantId: string, groupId: string): Promise<Stored<GroupRecord>> {
    return this.#table.get(groupKey(tenantId, groupId), groupId);
  }

  find(tenantId: string, groupId: string): Promise<Stored<GroupRecord> | undefined> {
    return this.#table.find(groupKey(tenantId, groupId));
  }

  /** Replaces a group if unchanged since `etag`. The external ID never changes (callers enforce it). */
  replace(group: GroupRecord, etag: string): Promise<Stored<GroupRecord>> {
    return this.#table.replace(group, etag);
  }

  /** Deletes the group and releases its external ID in one transaction. */
  async delete(group: GroupRecord): Promise<void> {
    const index = externalIdKey(group.tenantId, group.externalId);
    const key = groupKey(group.tenantId, group.id);
    // Transactions delete unconditionally; the caller read `group` just before.
    await this.#table.transaction(
      [
        ['delete', { ...key }],
        ['delete', { ...index }],
      ],
      `${group.tenantId}/${group.id}`,
    );
  }

  page(tenantId: string, request: PageRequest): Promise<Page<Stored<GroupRecord>>> {
    return this.#table.page(EntityTable.prefixFilter(partitionOf(tenantId), GROUP_ROW), request);
  }

  list(tenantId: string): AsyncIterableIterator<Stored<GroupRecord>> {
    return this.#table.iterate(EntityTable.prefixFilter(partitionOf(tenantId), GROUP_ROW));
  }

  /** Every group of every tenant (a cross-partition scan; for schedulers, not request paths). */
  listAll(): AsyncIterableIterator<Stored<GroupRecord>> {
    return this.#table.iterate(odata`RowKey ge ${GROUP_ROW} and RowKey lt ${GROUP_ROW + '~'}`);
  }

  async hasAny(tenantId: string): Promise<boolean> {
    const first = await this.page(tenantId, { maxPageSize: 1 });
    return first.items.length > 0;
  }
}
