import type { ConnectorEnvironment } from '../config';
import type { HostResolver } from '../delivery/address-policy';
import type { BatchBlobStore } from '../delivery/delivery-storage';
import type { SecretStore } from '../secrets/secret-store';
import type { AuditRepository, DeliveryStatusRepository, GroupsRepository, MailboxesRepository, TenantsRepository } from '../storage';
import type { GroupDataStore } from '../storage/group-data-store';
import type { SyncStateRepository } from '../storage/sync-state-repository';
import type { NotificationSubscriptionsRepository } from '../notifications/subscription-records';
import type { ConnectionTester } from './connection-test';
import type { DelegatedUsersRepository } from '../storage/delegated-users-repository';
import type { MailboxFolderAccess } from '../sync/folder-access';
import type { AdminAuthenticator } from './principal';

/** The part of the secret store the admin API uses: write, read back (connection tests), delete. */
export type CredentialVault = Pick<SecretStore, 'setSecret' | 'getSecret' | 'deleteSecret'>;

/** Everything the admin operations use; built once per process (see admin-composition.ts). */
export interface AdminDependencies {
  readonly environment: ConnectorEnvironment;
  /** Exchange Online's EWS endpoint (EWS_DEFAULT_URL): the only place the connector app's tokens go. */
  readonly defaultEwsUrl: string;
  /** The product's multi-tenant app (CONNECTOR_APP_CLIENT_ID): app-only groups must use their own app instead. */
  readonly connectorAppClientId?: string;
  readonly authenticator: AdminAuthenticator;
  readonly tenants: TenantsRepository;
  readonly groups: GroupsRepository;
  readonly mailboxes: MailboxesRepository;
  readonly audit: AuditRepository;
  /** Read-only here: written by the delivery pipeline, shown on the group. */
  readonly deliveryStatus: Pick<DeliveryStatusRepository, 'find'>;
  /** Read-only here: written by the sync engine, shown on the mailbox. */
  readonly syncProgress: Pick<SyncStateRepository, 'readProgress'>;
  /** Read-only here: the mailbox's change-notification subscriptions (shared/notifications), shown on the mailbox. */
  readonly notificationSubscriptions?: Pick<NotificationSubscriptionsRepository, 'listMailbox'>;
  readonly vault: CredentialVault;
  /** Group deletion: the group's sync, delivery and consent rows in other tables. */
  readonly groupData: Pick<GroupDataStore, 'delegatedUsersOf' | 'removeAll'>;
  /** Group deletion: the group's claim-check and dead-letter blobs. */
  readonly batchBlobs: Pick<BatchBlobStore, 'deleteUnder'>;
  readonly connectionTester: ConnectionTester;
  /** Linked mailboxes (#16): the tenant's signed-in delegated users, to check a mailbox's delegatedUserObjectId. */
  readonly delegatedUsers?: Pick<DelegatedUsersRepository, 'find'>;
  /** Folder trees and folder-right checks through the sync's own mailbox access (#16). */
  readonly mailboxFolders?: MailboxFolderAccess;
  readonly now: () => Date;
  /** Resolves webhook hosts when a delivery target is set (default: the system resolver). */
  readonly resolveHost?: HostResolver;
}
