/**
 * Invitations for users of delegated groups to sign in. The row key is a digest of the
 * invitation code, so the table never holds a usable code and a code only finds its own
 * tenant's invitation.
 */
import { EntityTable } from './entity-table';
import type { EntityCodec, EntityKey, Stored } from './entity-table';
import { jsonColumn, stringColumn } from './table-storage';
import type { TableStorage } from './table-storage';
import { encodeKeyPart } from './table-keys';

export const INVITATIONS_TABLE = 'invitations';

export type InvitationPurpose = 'signIn' | 'reauthentication';
export type InvitationStatus = 'pending' | 'accepted' | 'revoked';

export interface InvitationRecord {
  readonly tenantId: string;
  /** Hex digest of the code (the code itself is only in the link). */
  readonly id: string;
  readonly groupId: string;
  /** Lower-cased SMTP address of the invited user's mailbox. */
  readonly mailbox: string;
  readonly purpose: InvitationPurpose;
  readonly status: InvitationStatus;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly createdBy: { readonly objectId: string; readonly name: string };
  readonly acceptedAt?: string;
  readonly acceptedBy?: { readonly userObjectId: string; readonly userPrincipalName: string };
  readonly email?: { readonly sentAt?: string; readonly error?: string };
}

function invitationKey(tenantId: string, id: string): EntityKey {
  return { partitionKey: encodeKeyPart(tenantId), rowKey: id };
}

const codec: EntityCodec<InvitationRecord> = {
  kind: 'Invitation',
  keyOf: (invitation) => invitationKey(invitation.tenantId, invitation.id),
  toColumns: (invitation) => ({
    tenantId: invitation.tenantId,
    id: invitation.id,
    groupId: invitation.groupId,
    mailbox: invitation.mailbox,
    purpose: invitation.purpose,
    status: invitation.status,
    createdAt: invitation.createdAt,
    expiresAt: invitation.expiresAt,
    createdBy: JSON.stringify(invitation.createdBy),
    acceptedAt: invitation.acceptedAt,
    acceptedBy: invitation.acceptedBy ? JSON.stringify(invitation.acceptedBy) : undefined,
    email: invitation.email ? JSON.stringify(invitation.email) : undefined,
  }),
  fromEntity: (entity) => ({
    tenantId: stringColumn(entity, 'tenantId') ?? '',
    id: stringColumn(entity, 'id') ?? '',
    groupId: stringColumn(entity, 'groupId') ?? '',
    mailbox: stringColumn(entity, 'mailbox') ?? '',
    purpose: (stringColumn(entity, 'purpose') ?? 'signIn') as InvitationPurpose,
    status: (stringColumn(entity, 'status') ?? 'pending') as InvitationStatus,
    createdAt: stringColumn(entity, 'createdAt') ?? '',
    expiresAt: stringColumn(entity, 'expiresAt') ?? '',
    createdBy: jsonColumn(entity, 'createdBy', { objectId: '', name: '' }),
    acceptedAt: stringColumn(entity, 'acceptedAt'),
    acceptedBy: jsonColumn<InvitationRecord['acceptedBy']>(entity, 'acceptedBy', undefined),
    email: jsonColumn<InvitationRecord['email']>(entity, 'email', undefined),
  }),
};

export class InvitationsRepository {
  readonly #table: EntityTable<InvitationRecord>;

  constructor(storage: TableStorage) {
    this.#table = new EntityTable(storage, INVITATIONS_TABLE, codec);
  }

  create(invitation: InvitationRecord): Promise<Stored<InvitationRecord>> {
    return this.#table.create(invitation);
  }

  find(tenantId: string, id: string): Promise<Stored<InvitationRecord> | undefined> {
    return this.#table.find(invitationKey(tenantId, id));
  }

  /** PreconditionFailedError when someone else changed it (two callbacks racing on one invitation). */
  replace(invitation: InvitationRecord, etag: string): Promise<Stored<InvitationRecord>> {
    return this.#table.replace(invitation, etag);
  }

  list(tenantId: string): AsyncIterableIterator<Stored<InvitationRecord>> {
    return this.#table.iterate(EntityTable.prefixFilter(encodeKeyPart(tenantId), ''));
  }

  delete(tenantId: string, id: string): Promise<void> {
    return this.#table.delete(invitationKey(tenantId, id), id);
  }
}
