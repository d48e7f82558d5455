import { appConfig } from '../config';
import { NotificationSubscriptionsRepository } from '../notifications/subscription-records';
import type { AppConfig } from '../config';
import { createAdminTokenValidator } from '../auth/admin-token';
import { acquireAppOnlyToken } from '../auth/app-only-token';
import type { AppCredentialMaterial } from '../auth/app-only-token';
import { createAppCredential } from '../auth/azure-credential';
import { certificateCredentialMaterial } from '../sync/mailbox-access';
import { createSecretStore } from '../secrets/secret-store';
import { AuditRepository, DeliveryStatusRepository, GroupsRepository, MailboxesRepository, TableStorage, TenantsRepository } from '../storage';
import { BatchBlobStore, createBatchContainerClient } from '../delivery/delivery-storage';
import { GroupDataStore } from '../storage/group-data-store';
import { SyncStateRepository } from '../storage/sync-state-repository';
import type { AdminDependencies } from './admin-dependencies';
import { createConnectionTester } from './connection-test';
import { DelegatedUsersRepository } from '../storage/delegated-users-repository';
import { createMailboxFolderAccess } from '../sync/folder-access';
import { openMailboxSource, syncRuntime } from '../sync/sync-composition';
import type { AppOnlyTokenSource } from './connection-test';

function appOnlyTokens(config: AppConfig): AppOnlyTokenSource {
  return {
    async acquire({ entraTenantId, clientId, credential, resource }) {
      const material: AppCredentialMaterial = credential.kind === 'clientSecret' ? { kind: 'secret', secret: credential.clientSecret } : certificateCredentialMaterial(credential.pem);
      // A connection test must prove the stored credential works now, not that a token was cached.
      const token = await acquireAppOnlyToken({ authorityHost: config.identity.authorityHost, tenantId: entraTenantId, clientId, credential: material, resource: resource ?? config.ews.resource }, { forceRefresh: true });
      return token.token;
    },
  };
}

/** Builds the admin API's dependencies from the app settings (the one composition root). */
export function createAdminDependencies(config: AppConfig): AdminDependencies {
  const credential = createAppCredential(config.identity);
  const storage = new TableStorage({ storage: config.storage, credential });
  const vault = createSecretStore(config.keyVault.url, credential, { environment: config.environment });
  const delegatedUsers = new DelegatedUsersRepository(storage);
  return {
    environment: config.environment,
    defaultEwsUrl: config.ews.defaultUrl,
    connectorAppClientId: config.connectorApp.clientId,
    authenticator: createAdminTokenValidator({ authorityHost: config.identity.authorityHost, tenantId: config.adminApi.tenantId, audience: config.adminApi.audience }),
    tenants: new TenantsRepository(storage),
    groups: new GroupsRepository(storage),
    mailboxes: new MailboxesRepository(storage),
    audit: new AuditRepository(storage),
    deliveryStatus: new DeliveryStatusRepository(storage),
    syncProgress: new SyncStateRepository(storage),
    notificationSubscriptions: new NotificationSubscriptionsRepository(storage),
    vault,
    groupData: new GroupDataStore(storage),
    batchBlobs: new BatchBlobStore(createBatchContainerClient(config.storage, credential)),
    connectionTester: createConnectionTester({
      environment: config.environment,
      defaultEwsUrl: config.ews.defaultUrl,
      readSecret: (name, version) => vault.getSecret(name, { version }),
      tokens: appOnlyTokens(config),
      graph: config.graph,
    }),
    delegatedUsers,
    // The sync's own access path (and its delegated token provider, built on first use).
    mailboxFolders: createMailboxFolderAccess(
      (group, mailbox) => openMailboxSource(group, { smtpAddress: mailbox.smtpAddress, userId: mailbox.userId, delegatedUserObjectId: mailbox.delegatedUserObjectId }, syncRuntime().access),
      delegatedUsers,
    ),
    now: () => new Date(),
  };
}

let shared: Promise<AdminDependencies> | undefined;

/** The process-wide dependencies, built on first use (so configuration errors surface then, named). */
export function adminDependencies(): Promise<AdminDependencies> {
  shared ??= Promise.resolve().then(() => createAdminDependencies(appConfig()));
  shared.catch(() => {
    shared = undefined;
  });
  return shared;
}
