import type { TokenCredential } from '@azure/identity';

// @azure/identity (with MSAL: ~150 modules) is required when the first credential is made, not at start-up (cold start).
const identityLibrary = (): typeof import('@azure/identity') => require('@azure/identity') as typeof import('@azure/identity');
import type { AppConfig } from '../config';

/** Entra's own authority hosts (public and national clouds); any other host is a private/local authority. */
const ENTRA_AUTHORITY_HOSTS: ReadonlySet<string> = new Set([
  'login.microsoftonline.com',
  'login.microsoft.com',
  'login.windows.net',
  'login.microsoftonline.us',
  'login.partner.microsoftonline.cn',
  'login.chinacloudapi.cn',
]);

export function isEntraAuthorityHost(authorityHost: string): boolean {
  try {
    return ENTRA_AUTHORITY_HOSTS.has(new URL(authorityHost).hostname.toLowerCase());
  } catch {
    return false;
  }
}

/**
 * The app's own identity for Azure SDK clients (SecretClient, TableClient, QueueClient).
 * In Azure: the user-assigned managed identity (AZURE_CLIENT_ID). Locally: a service
 * principal with a client secret against the local identity provider; instance discovery
 * is off there because it would ask the public cloud about a host it does not know.
 */
export function createAppCredential(identity: AppConfig['identity']): TokenCredential {
  if (identity.clientSecret) {
    if (!identity.tenantId) throw new Error('AZURE_TENANT_ID is required when AZURE_CLIENT_SECRET is set.');
    return new (identityLibrary().ClientSecretCredential)(identity.tenantId, identity.clientId, identity.clientSecret.reveal(), {
      authorityHost: identity.authorityHost,
      disableInstanceDiscovery: !isEntraAuthorityHost(identity.authorityHost),
    });
  }
  return new (identityLibrary().ManagedIdentityCredential)({ clientId: identity.clientId });
}
