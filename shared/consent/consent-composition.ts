import { ConnectorApp } from '../auth/connector-app';
import { ConsentStateSigner } from '../auth/consent-state';
import { createAppCredential } from '../auth/azure-credential';
import { createDelegatedTokenProvider } from '../auth/delegated-token';
import type { DelegatedTokenProvider } from '../auth/delegated-token';
import { UserTokenCacheStore } from '../auth/token-cache-store';
import { appConfig } from '../config';
import type { AppConfig } from '../config';
import { createLogger } from '../logging';
import { createSecretStore } from '../secrets/secret-store';
import { AuditRepository, GroupsRepository, MailboxesRepository, TableStorage, TenantsRepository, createQueueClient } from '../storage';
import { ConsentsRepository } from '../storage/consents-repository';
import { DelegatedUsersRepository } from '../storage/delegated-users-repository';
import { InvitationsRepository } from '../storage/invitations-repository';
import { SYNC_JOBS_QUEUE, storageSyncJobQueue } from '../sync/sync-jobs';
import type { ConsentDependencies } from './consent-dependencies';
import { connectorAppMailer } from './mailer';
import { handleReauthenticationRequired } from './reauthentication';

/** Builds the consent use cases' dependencies from the app settings (one composition root). */
export function createConsentDependencies(config: AppConfig): ConsentDependencies {
  const credential = createAppCredential(config.identity);
  const storage = new TableStorage({ storage: config.storage, credential });
  const vault = createSecretStore(config.keyVault.url, credential, { environment: config.environment });
  const connectorApp = new ConnectorApp({ clientId: config.connectorApp.clientId, authorityHost: config.identity.authorityHost, ewsResource: config.ews.resource, vault });
  const tokenCaches = new UserTokenCacheStore(vault);
  const users = new DelegatedUsersRepository(storage);
  const log = createLogger({ component: 'delegated-tokens' });
  // The provider's hook needs the finished dependencies; it is only called after construction.
  let self: ConsentDependencies | undefined;
  const tokens: DelegatedTokenProvider = createDelegatedTokenProvider({
    connectorApp,
    tokenCaches,
    users: { findByObjectId: (tenantId, userObjectId) => users.find(tenantId, userObjectId), findByMailbox: (tenantId, mailbox) => users.findByMailbox(tenantId, mailbox) },
    onReauthenticationRequired: (event) => handleReauthenticationRequired(self!, event),
    onHookError: (error) => log.error('marking a user for re-authentication failed', { error }),
  });
  self = {
    environment: config.environment,
    publicBaseUrl: config.publicBaseUrl,
    defaultEwsUrl: config.ews.defaultUrl,
    connectorApp,
    states: new ConsentStateSigner({ vault }),
    consents: new ConsentsRepository(storage),
    invitations: new InvitationsRepository(storage),
    users,
    tenants: new TenantsRepository(storage),
    groups: new GroupsRepository(storage),
    mailboxes: new MailboxesRepository(storage),
    audit: new AuditRepository(storage),
    tokenCaches,
    vault,
    mailer: connectorAppMailer(connectorApp, { ewsUrl: config.ews.defaultUrl, environment: config.environment }),
    tokens,
    syncJobs: storageSyncJobQueue(createQueueClient(config.storage, SYNC_JOBS_QUEUE, credential)),
    invitationLifetimeInHours: 7 * 24,
    now: () => new Date(),
  };
  return self;
}

let shared: ConsentDependencies | undefined;

/** The process-wide dependencies, built on first use. */
export function consentDependencies(): ConsentDependencies {
  shared ??= createConsentDependencies(appConfig());
  return shared;
}

/**
 * The delegated token provider the sync engine should use: the same instance the consent
 * endpoints use, with the re-authentication hook wired (marks user + mailbox, pauses, emails).
 */
export function delegatedTokenProvider(): DelegatedTokenProvider {
  return consentDependencies().tokens;
}
