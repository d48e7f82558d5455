/**
 * Everything Table Storage holds for one group besides the group row and its mailboxes, found
 * and removed in one place so that deleting a group leaves nothing keyed by it: sync state and
 * progress, the mailbox leases, the schedule row, the delivery status, dead-letter rows,
 * suppressed-deletion rows, invitations and the delegated users linked to the group.
 *
 * Every removal is idempotent (absent rows are not errors), so a deletion that failed midway is
 * completed by running it again.
 */
import { ALERT_NOTICES_TABLE } from './alert-notices-repository';
import { odata } from './table-sdk';
import type { TableClient, TableEntity, TransactionAction } from '@azure/data-tables';
import { DEAD_LETTERS_TABLE } from './dead-letter-repository';
import { DELEGATED_USERS_TABLE, DelegatedUsersRepository } from './delegated-users-repository';
import { DELIVERY_STATUS_TABLE } from './delivery-status-repository';
import { INVITATIONS_TABLE } from './invitations-repository';
import { LEASES_TABLE } from './lease-repository';
import { SYNC_SCHEDULE_TABLE } from './sync-schedule-repository';
import { SYNC_STATE_TABLE } from './sync-state-repository';
import { encodeKeyPart, joinKeyParts } from './table-keys';
import type { TableStorage } from './table-storage';

/** Written by shared/delivery/suppressed-deletions.ts (which takes the name from here: storage does not import delivery). */
export const SUPPRESSED_DELETIONS_TABLE = 'suppresseddeletions';
/** Written by shared/contacts/contact-candidate-store.ts (candidates and counted-message markers, one partition per group). */
export const CONTACT_CANDIDATES_TABLE = 'contactcandidates';
/** Written by shared/write/write-store.ts (operations, idempotency keys, external ids, echoes, settings). */
export const WRITE_OPERATIONS_TABLE = 'writeoperations';

/** Rows removed per kind; a second run after a complete one removes zero of each. */
export interface GroupDataRemoved {
  readonly syncStateRows: number;
  readonly leases: number;
  readonly scheduleRows: number;
  readonly deliveryStatusRows: number;
  readonly deadLetters: number;
  readonly suppressedDeletions: number;
  readonly writeOperationRows: number;
  readonly invitations: number;
  readonly delegatedUsers: number;
  readonly alertNotices: number;
  readonly contactCandidateRows: number;
}

export interface LinkedDelegatedUser {
  readonly userObjectId: string;
  /** The Key Vault secret with the user's token cache: delete it before the row that names it. */
  readonly tokenCacheSecretName: string;
}

/** Every PartitionKey that starts with `prefix` (key parts are base64url, which sorts below '~'). */
function partitionPrefixFilter(prefix: string): string {
  return odata`PartitionKey ge ${prefix} and PartitionKey lt ${prefix + '~'}`;
}

export class GroupDataStore {
  readonly #storage: TableStorage;
  readonly #delegatedUsers: DelegatedUsersRepository;

  constructor(storage: TableStorage) {
    this.#storage = storage;
    this.#delegatedUsers = new DelegatedUsersRepository(storage);
  }

  /** Delegated users whose sign-in is linked to one of the group's mailboxes. */
  async delegatedUsersOf(tenantId: string, groupId: string): Promise<LinkedDelegatedUser[]> {
    const users: LinkedDelegatedUser[] = [];
    for await (const user of this.#delegatedUsers.list(tenantId)) {
      if (user.link?.groupId === groupId) users.push({ userObjectId: user.userObjectId, tokenCacheSecretName: user.tokenCacheSecretName });
    }
    return users;
  }

  /**
   * Removes the group's rows from every table but groups and mailboxes. Delegated users' rows go
   * too: call it after their token-cache secrets were deleted (the rows name the secrets).
   */
  async removeAll(tenantId: string, groupId: string): Promise<GroupDataRemoved> {
    const tenant = encodeKeyPart(tenantId);
    const group = encodeKeyPart(groupId);
    const delegatedUsers = new Set((await this.delegatedUsersOf(tenantId, groupId)).map((user) => encodeKeyPart(user.userObjectId.toLowerCase())));
    return {
      syncStateRows: await this.#deleteRows(SYNC_STATE_TABLE, partitionPrefixFilter(joinKeyParts(tenant, group, ''))),
      leases: await this.#deleteRows(LEASES_TABLE, odata`PartitionKey eq ${joinKeyParts('mailbox', tenant, group)}`),
      scheduleRows: await this.#deleteRows(SYNC_SCHEDULE_TABLE, odata`PartitionKey eq ${tenant} and RowKey eq ${group}`),
      deliveryStatusRows: await this.#deleteRows(DELIVERY_STATUS_TABLE, odata`PartitionKey eq ${tenant} and RowKey eq ${group}`),
      deadLetters: await this.#deleteRows(DEAD_LETTERS_TABLE, odata`PartitionKey eq ${tenant} and groupId eq ${groupId}`),
      suppressedDeletions: await this.#deleteRows(SUPPRESSED_DELETIONS_TABLE, partitionPrefixFilter(joinKeyParts(tenant, group, ''))),
      writeOperationRows: await this.#deleteRows(WRITE_OPERATIONS_TABLE, partitionPrefixFilter(joinKeyParts(tenant, group, ''))),
      invitations: await this.#deleteRows(INVITATIONS_TABLE, odata`PartitionKey eq ${tenant} and groupId eq ${groupId}`),
      alertNotices: await this.#deleteRows(ALERT_NOTICES_TABLE, odata`PartitionKey eq ${tenant} and groupId eq ${groupId}`),
      contactCandidateRows: await this.#deleteRows(CONTACT_CANDIDATES_TABLE, odata`PartitionKey eq ${joinKeyParts(tenant, group)}`),
      delegatedUsers:
        delegatedUsers.size === 0 ? 0 : await this.#deleteRows(DELEGATED_USERS_TABLE, odata`PartitionKey eq ${tenant}`, (row) => delegatedUsers.has(row.rowKey)),
    };
  }

  /** Deletes the matching rows, up to 100 per transaction within one partition (the service's limit). */
  async #deleteRows(table: string, filter: string, keep: (row: { partitionKey: string; rowKey: string }) => boolean = () => true): Promise<number> {
    const client = await this.#storage.table(table);
    const byPartition = new Map<string, TransactionAction[]>();
    let deleted = 0;
    const flush = async (actions: TransactionAction[]): Promise<void> => {
      if (actions.length === 0) return;
      await submitDeletes(client, actions);
      deleted += actions.length;
      actions.length = 0;
    };
    const rows = client.listEntities<TableEntity>({ queryOptions: { filter, select: ['PartitionKey', 'RowKey'] } });
    for await (const row of rows) {
      const key = { partitionKey: row.partitionKey, rowKey: row.rowKey };
      if (!keep(key)) continue;
      let actions = byPartition.get(key.partitionKey);
      if (!actions) byPartition.set(key.partitionKey, (actions = []));
      actions.push(['delete', key]);
      if (actions.length === 100) await flush(actions);
    }
    for (const actions of byPartition.values()) await flush(actions);
    return deleted;
  }
}

/** A row deleted meanwhile (a lease released, a second deletion running) is not a failure: delete the rest one by one. */
async function submitDeletes(client: TableClient, actions: readonly TransactionAction[]): Promise<void> {
  try {
    await client.submitTransaction([...actions]);
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    for (const action of actions) {
      const key = action[1] as { partitionKey: string; rowKey: string };
      try {
        await client.deleteEntity(key.partitionKey, key.rowKey);
      } catch (single) {
        if ((single as { statusCode?: number }).statusCode !== 404) throw single;
      }
    }
  }
}
