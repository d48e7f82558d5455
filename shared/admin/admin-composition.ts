import { X509Certificate } from 'node:crypto';
import { appConfig } from '../config';
import type { AppConfig } from '../config';
import { createAdminTokenValidator } from '../auth/admin-token';
import { acquireAppOnlyToken } from '../auth/app-only-token';
import type { AppCredentialMaterial } from '../auth/app-only-token';
import { createAppCredential } from '../auth/azure-credential';
import { SecretString } from '../logging';
import { createSecretStore } from '../secrets/secret-store';
import { AuditRepository, GroupsRepository, MailboxesRepository, TableStorage, TenantsRepository } from '../storage';
import type { AdminDependencies } from './admin-dependencies';
import { createConnectionTester } from './connection-test';
import type { AppOnlyClientCredential, AppOnlyTokenSource } from './connection-test';

/** MSAL wants the private key and the SHA-256 thumbprint; the group stores one PEM bundle. */
function certificateMaterial(credential: Extract<AppOnlyClientCredential, { kind: 'certificate' }>): AppCredentialMaterial {
  const pem = credential.pem.reveal();
  const certificateBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0] ?? '';
  const keyBlock = /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC )?PRIVATE KEY-----/.exec(pem)?.[0] ?? '';
  const thumbprintSha256 = new X509Certificate(certificateBlock).fingerprint256.replaceAll(':', '').toLowerCase();
  return { kind: 'certificate', privateKeyPem: new SecretString(keyBlock), thumbprintSha256, x5c: certificateBlock };
}

function appOnlyTokens(config: AppConfig): AppOnlyTokenSource {
  return {
    async acquire({ entraTenantId, clientId, credential }) {
      const material: AppCredentialMaterial = credential.kind === 'clientSecret' ? { kind: 'secret', secret: credential.clientSecret } : certificateMaterial(credential);
      // A connection test must prove the stored credential works now, not that a token was cached.
      const token = await acquireAppOnlyToken({ authorityHost: config.identity.authorityHost, tenantId: entraTenantId, clientId, credential: material }, { forceRefresh: true });
      return token.token;
    },
  };
}

/** Builds the admin API's dependencies from the app settings (the one composition root). */
export function createAdminDependencies(config: AppConfig): AdminDependencies {
  const credential = createAppCredential(config.identity);
  const storage = new TableStorage({ storage: config.storage, credential });
  const vault = createSecretStore(config.keyVault.url, credential, { environment: config.environment });
  return {
    environment: config.environment,
    defaultEwsUrl: config.ews.defaultUrl,
    authenticator: createAdminTokenValidator({ authorityHost: config.identity.authorityHost, tenantId: config.adminApi.tenantId, audience: config.adminApi.audience }),
    tenants: new TenantsRepository(storage),
    groups: new GroupsRepository(storage),
    mailboxes: new MailboxesRepository(storage),
    audit: new AuditRepository(storage),
    vault,
    connectionTester: createConnectionTester({
      environment: config.environment,
      defaultEwsUrl: config.ews.defaultUrl,
      readSecret: (name, version) => vault.getSecret(name, { version }),
      tokens: appOnlyTokens(config),
    }),
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
