/**
 * Table and queue storage for the connector.
 *
 * Extension points: other modules add their own records the same way the admin repositories
 * do, as their own files here: a record type, an EntityCodec (keys built only from
 * encodeKeyPart/joinKeyParts, never raw input), and a small repository over EntityTable
 * (create / get / replace with ETag / page / iterate). Filters are built only with the SDK's
 * `odata` template helper. Planned: sync state, leases, invitations, dead letters.
 */
export { TableStorage, createTableClient, readPage, iterateEntities, assertValidContinuationToken } from './table-storage';
export type { TableStorageOptions, Page, PageRequest, StoredEntity } from './table-storage';
export { EntityTable } from './entity-table';
export type { EntityCodec, EntityKey, Stored, ColumnValue } from './entity-table';
export { encodeKeyPart, decodeKeyPart, joinKeyParts, newestFirstRowKey } from './table-keys';
export {
  StorageError,
  EntityNotFoundError,
  EntityConflictError,
  PreconditionFailedError,
  InvalidContinuationTokenError,
  translateTableError,
} from './errors';
export type { StorageErrorCode } from './errors';
export { TenantsRepository } from './tenants-repository';
export { GroupsRepository } from './groups-repository';
export { MailboxesRepository } from './mailboxes-repository';
export { AuditRepository } from './audit-repository';
export { InvitationsRepository } from './invitations-repository';
export type { InvitationRecord, InvitationPurpose, InvitationStatus } from './invitations-repository';
export { ConsentsRepository } from './consents-repository';
export type { AdminConsentRecord, ConsentSettingsRecord } from './consents-repository';
export { DelegatedUsersRepository } from './delegated-users-repository';
export type { DelegatedUserRecord, DelegatedUserLink, DelegatedUserStatus } from './delegated-users-repository';
export type { NewAuditEntry } from './audit-repository';
export { createQueueClient, encodeQueueMessage, encodeTracedQueueMessage, decodeQueueMessage, sendQueueMessage, sendEncodedQueueMessage } from './queue-client-factory';
export type { SendQueueMessageOptions } from './queue-client-factory';
export type * from './records';
export { DeadLetterRepository, DEAD_LETTERS_TABLE } from './dead-letter-repository';
export type { DeadLetterRecord } from './dead-letter-repository';
export { DeliveryStatusRepository, DELIVERY_STATUS_TABLE } from './delivery-status-repository';
export type { DeliveryStatusRecord } from './delivery-status-repository';
