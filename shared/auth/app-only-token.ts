/**
 * App-only access tokens (OAuth client credentials) for a customer tenant, through MSAL's
 * ConfidentialClientApplication. One MSAL application per (authority, client id, credential
 * version) is kept, so its in-memory token cache answers repeated requests without a network call;
 * a new credential version (a rotated secret) gets a fresh application and cache.
 */
import { createHash } from 'node:crypto';
import { boundedNetworkClient } from './bounded-network-client';
import { fetchWithinStallTolerantTimeout } from '../http/stall-tolerant-timeout';
import type { ConfidentialClientApplication, Configuration, INetworkModule } from '@azure/msal-node';

// MSAL is required when the first application is made, not at start-up (cold start).
const msal = (): typeof import('@azure/msal-node') => require('@azure/msal-node') as typeof import('@azure/msal-node');
import { SecretString } from '../logging/secret-string';
import { refreshingBearerCredential } from '../ews/mailbox-client';
import type { EwsCredential } from '../ews/mailbox-client';
import { EntraAuthError, toEntraAuthError } from './entra-errors';

export const EWS_RESOURCE = 'https://outlook.office365.com';

export type AppCredentialMaterial =
  | { readonly kind: 'secret'; readonly secret: SecretString }
  | {
      readonly kind: 'certificate';
      /** PEM private key (-----BEGIN PRIVATE KEY-----). */
      readonly privateKeyPem: SecretString;
      /** Hex SHA-256 thumbprint of the certificate registered on the app. */
      readonly thumbprintSha256: string;
      /** Optional PEM certificate chain, sent as x5c (subject-name/issuer authentication). */
      readonly x5c?: string;
    };

export interface AppOnlyTokenOptions {
  /** https://login.microsoftonline.com in Azure; the local identity provider's URL in development. */
  readonly authorityHost: string;
  /** The customer's tenant id (a GUID or verified domain; not common/organizations). */
  readonly tenantId: string;
  readonly clientId: string;
  readonly credential: AppCredentialMaterial;
  /** Changes when the credential is rotated (e.g. the Key Vault secret version); default: derived from the credential. */
  readonly credentialVersion?: string;
  /** Resource whose /.default scope is requested. Default https://outlook.office365.com (EWS). */
  readonly resource?: string;
  /** MSAL network module override (proxies, tests). */
  readonly networkClient?: INetworkModule;
}

export interface AppOnlyAccessToken {
  readonly token: SecretString;
  readonly expiresOn: Date | undefined;
  /** True when MSAL answered from its cache without asking Entra. */
  readonly fromCache: boolean;
}

const MAX_CACHED_APPLICATIONS = 500;
// Insertion order doubles as least-recently-used order: a hit is deleted and re-inserted.
const applications = new Map<string, ConfidentialClientApplication>();

function authorityFor(options: AppOnlyTokenOptions): URL {
  let host: URL;
  try {
    host = new URL(options.authorityHost);
  } catch {
    throw new EntraAuthError('EntraError', `The authority host is not a valid URL.`);
  }
  if (host.protocol !== 'https:') throw new EntraAuthError('EntraError', 'The authority host must use https (MSAL refuses other schemes).');
  const tenant = options.tenantId.trim();
  if (!tenant || /^(common|organizations|consumers)$/i.test(tenant) || tenant.includes('/')) {
    throw new EntraAuthError('TenantNotFound', `App-only tokens need the customer's specific tenant id, not '${tenant}'.`);
  }
  return new URL(`${host.origin}${host.pathname.replace(/\/+$/, '')}/${encodeURIComponent(tenant)}`);
}

function credentialVersion(options: AppOnlyTokenOptions): string {
  if (options.credentialVersion) return options.credentialVersion;
  const material = options.credential.kind === 'secret' ? options.credential.secret.reveal() : options.credential.thumbprintSha256 + options.credential.privateKeyPem.reveal();
  // A digest, so the cache key never holds the secret itself.
  return createHash('sha256').update(material).digest('base64url').slice(0, 22);
}

/** MSAL wants bare hex; accept the colon-separated form certificate tools print. */
function hexThumbprint(thumbprint: string): string {
  const hex = thumbprint.replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new EntraAuthError('InvalidClientCertificate', 'The certificate thumbprint must be the SHA-256 thumbprint in hex (64 hex digits).');
  return hex;
}

function msalConfiguration(options: AppOnlyTokenOptions, authority: URL): Configuration {
  const credential = options.credential;
  return {
    auth: {
      clientId: options.clientId,
      authority: authority.href,
      // Listing the host as known skips Entra's instance discovery, so the same code works against the local IdP.
      knownAuthorities: [authority.host],
      ...(credential.kind === 'secret'
        ? { clientSecret: credential.secret.reveal() }
        : {
            clientCertificate: {
              thumbprintSha256: hexThumbprint(credential.thumbprintSha256),
              privateKey: credential.privateKeyPem.reveal(),
              ...(credential.x5c ? { x5c: credential.x5c } : {}),
            },
          }),
    },
    system: {
      loggerOptions: { piiLoggingEnabled: false, loggerCallback: () => undefined },
      // Every Entra call bounded in time and size (MSAL's own client has no POST timeout).
      networkClient: options.networkClient ?? boundedNetworkClient,
    },
  };
}

function applicationFor(options: AppOnlyTokenOptions): ConfidentialClientApplication {
  const authority = authorityFor(options);
  const key = `${authority.href}|${options.clientId}|${credentialVersion(options)}`;
  let application = applications.get(key);
  if (application) {
    applications.delete(key);
  } else {
    application = new (msal().ConfidentialClientApplication)(msalConfiguration(options, authority));
    if (applications.size >= MAX_CACHED_APPLICATIONS) applications.delete(applications.keys().next().value!);
  }
  applications.set(key, application);
  return application;
}

/**
 * A token for `${resource}/.default` in the customer's tenant. Served from MSAL's cache while valid
 * unless `forceRefresh`. Entra failures reject with EntraAuthError (e.g. code InvalidClientSecret).
 */
export async function acquireAppOnlyToken(options: AppOnlyTokenOptions, request: { readonly forceRefresh?: boolean } = {}): Promise<AppOnlyAccessToken> {
  const application = applicationFor(options);
  const resource = (options.resource ?? EWS_RESOURCE).replace(/\/+$/, '');
  try {
    const result = await application.acquireTokenByClientCredential({ scopes: [`${resource}/.default`], ...(request.forceRefresh ? { skipCache: true } : {}) });
    if (!result?.accessToken) throw new EntraAuthError('EntraError', 'Entra returned no access token.');
    return { token: new SecretString(result.accessToken), expiresOn: result.expiresOn ?? undefined, fromCache: result.fromCache };
  } catch (error: unknown) {
    const context = { tenantId: options.tenantId, clientId: options.clientId };
    if (fieldOf(error, 'errorCode') === 'endpoints_resolution_error') throw await explainEndpointResolution(authorityFor(options), error, context);
    throw toEntraAuthError(error, context);
  }
}

function fieldOf(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

/**
 * MSAL reports any failure to read the tenant's OpenID configuration as endpoints_resolution_error,
 * dropping Entra's answer. Asking once more ourselves tells "tenant not found" (AADSTS90002) from an outage.
 */
async function explainEndpointResolution(authority: URL, msalError: unknown, context: { tenantId: string; clientId: string }): Promise<EntraAuthError> {
  try {
    const response = await fetchWithinStallTolerantTimeout(`${authority.href}/v2.0/.well-known/openid-configuration`, {}, 10_000);
    const body: unknown = await response.json().catch(() => undefined);
    const codes = fieldOf(body, 'error_codes');
    if (!response.ok && Array.isArray(codes) && codes.length > 0) {
      return toEntraAuthError({ errorCode: fieldOf(body, 'error'), errorNo: String(codes[0]), errorMessage: fieldOf(body, 'error_description'), status: response.status }, context);
    }
  } catch {
    // Unreachable: fall through to MSAL's own classification (EntraUnavailable).
  }
  return toEntraAuthError(msalError, context);
}

/**
 * The bearer credential for createMailboxClient with app-only access: tokens come from the cache;
 * after a 401 from Exchange the next token is fetched fresh from Entra.
 */
export function appOnlyEwsCredential(options: AppOnlyTokenOptions): EwsCredential {
  return refreshingBearerCredential(async ({ forceRefresh }) => (await acquireAppOnlyToken(options, { forceRefresh })).token);
}

/** Forgets every cached MSAL application and token (tests; or after a credential was revoked). */
export function clearAppOnlyTokenCache(): void {
  applications.clear();
}
