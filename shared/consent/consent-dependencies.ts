import type { ConnectorApp } from '../auth/connector-app';
import type { ConsentStateSigner } from '../auth/consent-state';
import type { DelegatedTokenProvider } from '../auth/delegated-token';
import type { UserTokenCacheStore } from '../auth/token-cache-store';
import type { ConnectorEnvironment } from '../config';
import type { SecretStore } from '../secrets/secret-store';
import type { AuditRepository, GroupsRepository, MailboxesRepository, TenantsRepository } from '../storage';
import type { ConsentsRepository } from '../storage/consents-repository';
import type { DelegatedUsersRepository } from '../storage/delegated-users-repository';
import type { InvitationsRepository } from '../storage/invitations-repository';
import type { SyncJobQueue } from '../sync/sync-jobs';
import type { InvitationMailer } from './mailer';

/** Everything the consent, invitation and sign-in use cases need; built once per process. */
export interface ConsentDependencies {
  readonly environment: ConnectorEnvironment;
  readonly publicBaseUrl: string;
  readonly defaultEwsUrl: string;
  readonly connectorApp: ConnectorApp;
  readonly states: ConsentStateSigner;
  readonly consents: ConsentsRepository;
  readonly invitations: InvitationsRepository;
  readonly users: DelegatedUsersRepository;
  readonly tenants: TenantsRepository;
  readonly groups: GroupsRepository;
  readonly mailboxes: MailboxesRepository;
  readonly audit: AuditRepository;
  readonly tokenCaches: UserTokenCacheStore;
  readonly vault: Pick<SecretStore, 'listSecrets' | 'getSecretEntry'>;
  readonly mailer: InvitationMailer;
  readonly tokens: DelegatedTokenProvider;
  /** The sync engine's `sync-jobs` queue: a completed sign-in queues its mailbox's sync at once. */
  readonly syncJobs: SyncJobQueue;
  /** How long invitations stay valid unless the admin says otherwise. */
  readonly invitationLifetimeInHours: number;
  readonly now: () => Date;
}
