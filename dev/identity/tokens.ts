import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { SigningKey } from './jwt';
import type { StoredApp, StoredUser } from './model';
import { nowInSeconds } from './directory';

/** What `issueAccessToken` mints directly (control API and tests): any claims a real token could carry. */
export interface AccessTokenRequest {
  readonly tenantId: string;
  /** The `aud` claim, e.g. https://outlook.office365.com or api://exchange-connector. */
  readonly audience: string;
  readonly roles?: readonly string[];
  /** Space-separated delegated scopes; present means a user (delegated) token. */
  readonly scp?: string;
  readonly oid?: string;
  readonly upn?: string;
  readonly name?: string;
  /** The client application (appid/azp). */
  readonly appId?: string;
  readonly expiresInSeconds?: number;
  /** Extra claims (e.g. connector_tenants), merged last. */
  readonly extraClaims?: Readonly<Record<string, unknown>>;
}

/** Entra's built-in role template ids (the same in every tenant). */
export const GLOBAL_ADMINISTRATOR_ROLE = '62e90394-69f5-4237-9190-012177145e10';
export const DEFAULT_USER_ROLE = 'b79fbf4d-3ef9-4689-8143-76b194e85509';

export type ClientAuthMethod = 'none' | 'secret' | 'certificate';

const ACR: Record<ClientAuthMethod, string> = { none: '0', secret: '1', certificate: '2' };

/**
 * The `aud` Entra puts in an access token for `resource` requested as `requested`: the API's client
 * id when the API accepts v2.0 tokens (requestedAccessTokenVersion 2), else the resource as named.
 */
export function accessTokenAudience(resource: Pick<StoredApp, 'appId' | 'requestedAccessTokenVersion'> | undefined, requested: string): string {
  return resource?.requestedAccessTokenVersion === 2 ? resource.appId : requested;
}

/** A stable id derived from parts (service principal object ids, pairwise subjects). */
export function derivedId(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('|')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function pairwiseSubject(...parts: string[]): string {
  return createHash('sha256').update(parts.join('|')).digest('base64url').slice(0, 43);
}

/** Mints Entra-shaped v2.0 JWTs signed with the IdP's key. */
export class TokenMinter {
  constructor(
    private readonly key: SigningKey,
    private readonly authorityUrl: () => string,
    readonly accessTokenLifetimeInSeconds: number,
  ) {}

  issuer(tenantId: string): string {
    return `${this.authorityUrl()}/${tenantId}/v2.0`;
  }

  #common(tenantId: string, lifetimeInSeconds: number): Record<string, unknown> {
    const now = nowInSeconds();
    return {
      iss: this.issuer(tenantId),
      iat: now,
      nbf: now,
      exp: now + lifetimeInSeconds,
      tid: tenantId,
      aio: randomBytes(24).toString('base64url'),
      rh: `0.${randomBytes(16).toString('base64url')}.`,
      uti: randomBytes(16).toString('base64url'),
      ver: '2.0',
    };
  }

  /** Raw mint: used by the control API and by the grants below. */
  mint(request: AccessTokenRequest): string {
    const lifetime = request.expiresInSeconds ?? this.accessTokenLifetimeInSeconds;
    const claims: Record<string, unknown> = { aud: request.audience, ...this.#common(request.tenantId, lifetime) };
    if (lifetime <= 0) {
      // An already-expired token for tests: keep nbf/iat before exp, as a real old token would be.
      claims.iat = claims.nbf = (claims.exp as number) - 3600;
    }
    const appId = request.appId ?? derivedId('dev-client', request.tenantId);
    Object.assign(claims, { appid: appId, azp: appId, appidacr: '1', azpacr: '1' });
    const delegated = request.scp !== undefined || request.upn !== undefined;
    const oid = request.oid ?? derivedId('principal', request.tenantId, request.upn ?? appId);
    Object.assign(claims, { oid, sub: pairwiseSubject(oid, appId), idtyp: delegated ? 'user' : 'app' });
    if (request.scp !== undefined) claims.scp = request.scp;
    if (request.roles && request.roles.length > 0) claims.roles = [...request.roles];
    if (request.upn !== undefined) Object.assign(claims, { upn: request.upn, unique_name: request.upn, preferred_username: request.upn });
    if (request.name !== undefined) claims.name = request.name;
    Object.assign(claims, request.extraClaims ?? {});
    return this.key.signJwt(claims);
  }

  /** App-only token (client credentials): roles = application permissions consented in the tenant. */
  appOnlyAccessToken(params: { tenantId: string; client: StoredApp; audience: string; roles: readonly string[]; authMethod: ClientAuthMethod }): string {
    const spObjectId = derivedId('service-principal', params.tenantId, params.client.appId);
    return this.key.signJwt({
      aud: params.audience,
      ...this.#common(params.tenantId, this.accessTokenLifetimeInSeconds),
      app_displayname: params.client.displayName,
      appid: params.client.appId,
      appidacr: ACR[params.authMethod],
      azp: params.client.appId,
      azpacr: ACR[params.authMethod],
      idp: this.issuer(params.tenantId).replace(/\/v2\.0$/, '/'),
      idtyp: 'app',
      oid: spObjectId,
      sub: spObjectId,
      ...(params.roles.length > 0 ? { roles: [...params.roles] } : {}),
    });
  }

  /** Delegated token: scp = granted scopes, roles = the user's app role assignments on the resource. */
  delegatedAccessToken(params: { user: StoredUser; client: StoredApp; audience: string; scopes: readonly string[]; roles: readonly string[]; authMethod: ClientAuthMethod }): string {
    const { user, client } = params;
    return this.key.signJwt({
      aud: params.audience,
      ...this.#common(user.tenantId, this.accessTokenLifetimeInSeconds),
      acr: '1',
      amr: ['pwd'],
      app_displayname: client.displayName,
      appid: client.appId,
      appidacr: ACR[params.authMethod],
      azp: client.appId,
      azpacr: ACR[params.authMethod],
      idtyp: 'user',
      name: user.displayName,
      oid: user.objectId,
      preferred_username: user.userPrincipalName,
      scp: params.scopes.join(' '),
      ...(params.roles.length > 0 ? { roles: [...params.roles] } : {}),
      sub: pairwiseSubject(user.objectId, client.appId, params.audience),
      unique_name: user.userPrincipalName,
      upn: user.userPrincipalName,
    });
  }

  idToken(params: { user: StoredUser; client: StoredApp; nonce?: string }): string {
    const { user, client } = params;
    const claims: Record<string, unknown> = {
      aud: client.appId,
      ...this.#common(user.tenantId, 3600),
      name: user.displayName,
      oid: user.objectId,
      preferred_username: user.userPrincipalName,
      sub: pairwiseSubject(user.objectId, client.appId),
      // Directory roles (role template ids), as Entra emits them for apps whose registration asks
      // for them (groupMembershipClaims DirectoryRole): every member holds the default user role.
      wids: user.isTenantAdmin ? [GLOBAL_ADMINISTRATOR_ROLE, DEFAULT_USER_ROLE] : [DEFAULT_USER_ROLE],
    };
    delete claims.aio;
    if (params.nonce) claims.nonce = params.nonce;
    return this.key.signJwt(claims);
  }
}

/** `client_info` as Entra returns it when a client sends client_info=1 (MSAL uses it as the account key). */
export function clientInfo(user: StoredUser): string {
  return Buffer.from(JSON.stringify({ uid: user.objectId, utid: user.tenantId })).toString('base64url');
}

export function newOpaqueToken(prefix: string): string {
  return `${prefix}.${randomUUID()}.${randomBytes(32).toString('base64url')}`;
}
