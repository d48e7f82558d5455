import type { JWTPayload } from 'jose';
import { fetchWithinStallTolerantTimeout } from '../http/stall-tolerant-timeout';
import { jose, remoteKeySet, type RemoteKeySet } from './remote-key-set';

/** Roles the admin API app registration defines (app roles on api://exchange-connector). */
export const ADMIN_ROLES = {
  /** Every connector tenant. */
  admin: 'Connector.Admin',
  /** Connector tenants listed per role value `Connector.TenantAdmin.<tenantId>` or in the `connector_tenants` claim. */
  tenantAdmin: 'Connector.TenantAdmin',
} as const;

const TENANT_ADMIN_ROLE_PREFIX = `${ADMIN_ROLES.tenantAdmin}.`;

export interface AdminPrincipal {
  readonly objectId: string;
  readonly name: string;
  readonly roles: readonly string[];
  readonly scope: { readonly kind: 'all' } | { readonly kind: 'tenant'; readonly tenantIds: readonly string[] };
}

export type AdminTokenErrorCode = 'Unauthorized' | 'Forbidden' | 'AuthorityUnavailable';

/**
 * Why a caller is turned away. `reason` is safe to show to the caller (it never echoes the
 * token); `status` is the HTTP status to answer: 401 (with WWW-Authenticate: Bearer), 403, or
 * 503 when the authority's keys cannot be fetched.
 */
export class AdminTokenError extends Error {
  readonly status: 401 | 403 | 503;
  constructor(
    readonly code: AdminTokenErrorCode,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'AdminTokenError';
    this.status = code === 'Unauthorized' ? 401 : code === 'Forbidden' ? 403 : 503;
  }
}

export interface AdminTokenValidatorSettings {
  /** AZURE_AUTHORITY_HOST, e.g. https://login.microsoftonline.com. */
  readonly authorityHost: string;
  /** ADMIN_API_TENANT_ID: the tenant issuing admin tokens. */
  readonly tenantId: string;
  /** ADMIN_API_AUDIENCE: the application ID URI (api://exchange-connector) or client id. */
  readonly audience: string;
  /** Other accepted audiences, e.g. the API app's client id (v2.0 tokens carry the client id as aud). */
  readonly alternateAudiences?: readonly string[];
}

export interface AdminTokenValidatorOptions {
  /** Allowed clock difference for exp/nbf. Default 120 s. */
  readonly clockToleranceInSeconds?: number;
  /** How long fetched signing keys are trusted before a refetch. Default 1 h. */
  readonly keyCacheMaxAgeInMs?: number;
  /** Minimum time between key refetches triggered by an unknown `kid`. Default 30 s. */
  readonly keyRefetchCooldownInMs?: number;
  /** Timeout for discovery and key requests. Default 5 s. */
  readonly requestTimeoutInMs?: number;
}

export interface AdminTokenValidator {
  /** Resolves the caller or rejects with AdminTokenError. */
  validate(authorizationHeader?: string): Promise<AdminPrincipal>;
}

type KeySet = RemoteKeySet;

function bearerToken(authorizationHeader: string | undefined): string {
  const match = /^Bearer[ ]+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(authorizationHeader ?? '');
  if (!match) throw new AdminTokenError('Unauthorized', authorizationHeader ? 'The Authorization header is not a Bearer token.' : 'A Bearer token is required.');
  return match[1]!;
}

function stringClaim(payload: JWTPayload, name: string): string | undefined {
  const value = payload[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function listClaim(payload: JWTPayload, name: string): string[] {
  const value = payload[name];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  return [];
}

/** Maps jose's verdicts to reasons a caller may see. */
function unauthorizedFrom(error: unknown): AdminTokenError {
  if (error instanceof jose().errors.JWTExpired) return new AdminTokenError('Unauthorized', 'The token has expired.');
  if (error instanceof jose().errors.JWTClaimValidationFailed) {
    const reasons: Record<string, string> = {
      aud: 'The token is not for this API (audience mismatch).',
      iss: 'The token was not issued by the admin tenant (issuer mismatch).',
      nbf: 'The token is not valid yet.',
      tid: 'The token was not issued by the admin tenant.',
    };
    return new AdminTokenError('Unauthorized', reasons[error.claim] ?? `The token's ${error.claim} claim is not acceptable.`);
  }
  if (error instanceof jose().errors.JOSEAlgNotAllowed) return new AdminTokenError('Unauthorized', 'The token must be signed with RS256.');
  if (error instanceof jose().errors.JWSSignatureVerificationFailed) return new AdminTokenError('Unauthorized', 'The token signature is invalid.');
  if (error instanceof jose().errors.JWKSNoMatchingKey) return new AdminTokenError('Unauthorized', "The token's signing key is not one of the authority's keys.");
  if (error instanceof jose().errors.JWKSTimeout) return new AdminTokenError('AuthorityUnavailable', "The authority's signing keys could not be fetched in time.");
  if (error instanceof jose().errors.JOSEError) return new AdminTokenError('Unauthorized', 'The token is malformed.');
  return new AdminTokenError('AuthorityUnavailable', "The authority's signing keys could not be fetched.");
}

/** Connector.Admin -> all tenants; Connector.TenantAdmin(.<id>) -> the listed tenants; else Forbidden. */
export function principalFromClaims(payload: JWTPayload): AdminPrincipal {
  const roles = listClaim(payload, 'roles');
  const objectId = stringClaim(payload, 'oid') ?? stringClaim(payload, 'sub') ?? '';
  const name = stringClaim(payload, 'name') ?? stringClaim(payload, 'preferred_username') ?? stringClaim(payload, 'upn') ?? stringClaim(payload, 'app_displayname') ?? stringClaim(payload, 'appid') ?? objectId;
  if (roles.includes(ADMIN_ROLES.admin)) return { objectId, name, roles, scope: { kind: 'all' } };
  const fromRoleValues = roles.filter((r) => r.startsWith(TENANT_ADMIN_ROLE_PREFIX)).map((r) => r.slice(TENANT_ADMIN_ROLE_PREFIX.length));
  const fromClaim = roles.includes(ADMIN_ROLES.tenantAdmin) ? listClaim(payload, 'connector_tenants') : [];
  const tenantIds = [...new Set([...fromRoleValues, ...fromClaim].filter(Boolean))];
  if (tenantIds.length > 0) return { objectId, name, roles, scope: { kind: 'tenant', tenantIds } };
  if (roles.includes(ADMIN_ROLES.tenantAdmin) || fromRoleValues.length > 0) {
    throw new AdminTokenError('Forbidden', 'The Connector.TenantAdmin role is assigned, but no connector tenant is assigned to this caller.');
  }
  throw new AdminTokenError('Forbidden', 'The caller has no admin role (Connector.Admin or Connector.TenantAdmin) for this API.');
}

/**
 * Validates admin bearer tokens: RS256 only, signature against the authority's JWKS (found
 * through the tenant's OpenID configuration, fetched over https and cached), issuer
 * `${authorityHost}/${tenantId}/v2.0`, audience, exp/nbf with a small clock tolerance.
 */
export function createAdminTokenValidator(settings: AdminTokenValidatorSettings, options: AdminTokenValidatorOptions = {}): AdminTokenValidator {
  const authorityHost = settings.authorityHost.replace(/\/+$/, '');
  const tenantId = settings.tenantId.toLowerCase();
  const issuer = `${authorityHost}/${tenantId}/v2.0`;
  const audiences = [settings.audience, ...(settings.alternateAudiences ?? [])];
  const timeoutInMs = options.requestTimeoutInMs ?? 5000;
  let keySet: Promise<KeySet> | undefined;

  async function discoverKeySet(): Promise<KeySet> {
    const configurationUrl = `${issuer}/.well-known/openid-configuration`;
    if (!configurationUrl.startsWith('https://')) throw new AdminTokenError('AuthorityUnavailable', 'The authority host must be https.');
    let jwksUri: unknown;
    try {
      const response = await fetchWithinStallTolerantTimeout(configurationUrl, {}, timeoutInMs);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      jwksUri = ((await response.json()) as { jwks_uri?: unknown }).jwks_uri;
    } catch {
      throw new AdminTokenError('AuthorityUnavailable', "The authority's OpenID configuration could not be fetched.");
    }
    if (typeof jwksUri !== 'string' || !jwksUri.startsWith('https://')) throw new AdminTokenError('AuthorityUnavailable', "The authority's jwks_uri is missing or not https.");
    return remoteKeySet(jwksUri, timeoutInMs, {
      cacheMaxAge: options.keyCacheMaxAgeInMs ?? 3600_000,
      cooldownDuration: options.keyRefetchCooldownInMs ?? 30_000,
    });
  }

  function keys(): Promise<KeySet> {
    keySet ??= discoverKeySet().catch((error: unknown) => {
      keySet = undefined; // try discovery again on the next request
      throw error;
    });
    return keySet;
  }

  return {
    async validate(authorizationHeader?: string): Promise<AdminPrincipal> {
      const token = bearerToken(authorizationHeader);
      const jwks = await keys();
      let payload: JWTPayload;
      try {
        ({ payload } = await jose().jwtVerify(token, jwks, {
          issuer,
          audience: audiences,
          algorithms: ['RS256'],
          clockTolerance: options.clockToleranceInSeconds ?? 120,
          requiredClaims: ['exp', 'iss', 'aud'],
        }));
      } catch (error) {
        throw unauthorizedFrom(error);
      }
      if (typeof payload.tid !== 'string' || payload.tid.toLowerCase() !== tenantId) throw new AdminTokenError('Unauthorized', 'The token was not issued by the admin tenant.');
      return principalFromClaims(payload);
    },
  };
}
