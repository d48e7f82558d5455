/**
 * Users of delegated groups who signed in through an invitation. Holds who they are and how
 * their sign-in is doing; never tokens (their MSAL cache is in Key Vault).
 */
import { odata } from './table-sdk';
import { EntityTable } from './entity-table';
import type { EntityCodec, EntityKey, Stored } from './entity-table';
import { jsonColumn, stringColumn } from './table-storage';
import type { TableStorage } from './table-storage';
import { encodeKeyPart } from './table-keys';
import type { SyncFolderKind } from './records';

export const DELEGATED_USERS_TABLE = 'delegatedusers';

export type DelegatedUserStatus = 'active' | 'needsReauthentication';

export interface DelegatedUserLink {
  readonly groupId: string;
  /** Lower-cased primary SMTP address. */
  readonly mailbox: string;
  /** Item kinds to sync for this user; absent: the group's folders. */
  readonly folders?: readonly SyncFolderKind[];
}

export interface DelegatedUserRecord {
  /** The connector's tenant id. */
  readonly tenantId: string;
  /** Entra object id (oid), lower-case. */
  readonly userObjectId: string;
  readonly entraTenantId: string;
  /** MSAL account key `${oid}.${tid}`. */
  readonly homeAccountId: string;
  readonly userPrincipalName: string;
  readonly displayName?: string;
  readonly link?: DelegatedUserLink;
  readonly status: DelegatedUserStatus;
  readonly lastError?: { readonly code: string; readonly message: string; readonly at: string };
  /** Key Vault secret holding the user's token cache (a name, not a value). */
  readonly tokenCacheSecretName: string;
  readonly invitationId?: string;
  readonly signedInAt: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

function userKey(tenantId: string, userObjectId: string): EntityKey {
  return { partitionKey: encodeKeyPart(tenantId), rowKey: encodeKeyPart(userObjectId.toLowerCase()) };
}

const codec: EntityCodec<DelegatedUserRecord> = {
  kind: 'DelegatedUser',
  keyOf: (user) => userKey(user.tenantId, user.userObjectId),
  toColumns: (user) => ({
    tenantId: user.tenantId,
    userObjectId: user.userObjectId,
    entraTenantId: user.entraTenantId,
    homeAccountId: user.homeAccountId,
    userPrincipalName: user.userPrincipalName,
    displayName: user.displayName,
    link: user.link ? JSON.stringify(user.link) : undefined,
    // A plain column too, so the sync can find a mailbox's user with one filtered query.
    linkedMailbox: user.link?.mailbox,
    status: user.status,
    lastError: user.lastError ? JSON.stringify(user.lastError) : undefined,
    tokenCacheSecretName: user.tokenCacheSecretName,
    invitationId: user.invitationId,
    signedInAt: user.signedInAt,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  }),
  fromEntity: (entity) => ({
    tenantId: stringColumn(entity, 'tenantId') ?? '',
    userObjectId: stringColumn(entity, 'userObjectId') ?? '',
    entraTenantId: stringColumn(entity, 'entraTenantId') ?? '',
    homeAccountId: stringColumn(entity, 'homeAccountId') ?? '',
    userPrincipalName: stringColumn(entity, 'userPrincipalName') ?? '',
    displayName: stringColumn(entity, 'displayName'),
    link: jsonColumn<DelegatedUserLink | undefined>(entity, 'link', undefined),
    status: (stringColumn(entity, 'status') ?? 'active') as DelegatedUserStatus,
    lastError: jsonColumn<DelegatedUserRecord['lastError']>(entity, 'lastError', undefined),
    tokenCacheSecretName: stringColumn(entity, 'tokenCacheSecretName') ?? '',
    invitationId: stringColumn(entity, 'invitationId'),
    signedInAt: stringColumn(entity, 'signedInAt') ?? '',
    createdAt: stringColumn(entity, 'createdAt') ?? '',
    updatedAt: stringColumn(entity, 'updatedAt') ?? '',
  }),
};

export class DelegatedUsersRepository {
  readonly #table: EntityTable<DelegatedUserRecord>;

  constructor(storage: TableStorage) {
    this.#table = new EntityTable(storage, DELEGATED_USERS_TABLE, codec);
  }

  find(tenantId: string, userObjectId: string): Promise<Stored<DelegatedUserRecord> | undefined> {
    return this.#table.find(userKey(tenantId, userObjectId));
  }

  /** The user an admin linked to this mailbox (any group of the tenant). */
  async findByMailbox(tenantId: string, mailbox: string): Promise<Stored<DelegatedUserRecord> | undefined> {
    const filter = odata`PartitionKey eq ${encodeKeyPart(tenantId)} and linkedMailbox eq ${mailbox.toLowerCase()}`;
    for await (const user of this.#table.iterate(filter)) return user;
    return undefined;
  }

  upsert(user: DelegatedUserRecord): Promise<Stored<DelegatedUserRecord>> {
    return this.#table.upsert(user);
  }

  replace(user: DelegatedUserRecord, etag: string): Promise<Stored<DelegatedUserRecord>> {
    return this.#table.replace(user, etag);
  }

  list(tenantId: string): AsyncIterableIterator<Stored<DelegatedUserRecord>> {
    return this.#table.iterate(EntityTable.prefixFilter(encodeKeyPart(tenantId), ''));
  }

  delete(tenantId: string, userObjectId: string): Promise<void> {
    return this.#table.delete(userKey(tenantId, userObjectId), userObjectId);
  }
}
