import { createHash } from 'node:crypto';
import { authenticateClient, type AuthenticatedClient } from './client-authentication';
import type { AuthorizationCode, IdentityProviderContext } from './context';
import { nowInSeconds, sha256Base64, type TenantSegment } from './directory';
import { entraErrors } from './entra-errors';
import { GRAPH_APP_ID, OIDC_SCOPES } from './first-party-apps';
import type { StoredApp, StoredUser } from './model';
import { parseScopeRequest, requestedDelegatedScopes, type ScopeRequest } from './scopes';
import { accessTokenAudience, clientInfo, newOpaqueToken, type ClientAuthMethod } from './tokens';

export type TokenResponse = Record<string, string | number>;

export interface TokenRequest {
  readonly segment: TenantSegment;
  /** The tenant as it appears in the URL path. */
  readonly tenantPath: string;
  readonly form: URLSearchParams;
  readonly authorizationHeader: string | undefined;
  /** The browser's Origin header: present on cross-origin (SPA) redemptions only. */
  readonly origin?: string | undefined;
}

/** "https://outlook.office365.com/EWS.AccessAsUser.All"; Graph scopes stay bare as Entra prints them. */
export function qualifiedScope(resource: StoredApp, audience: string, value: string): string {
  return resource.appId === GRAPH_APP_ID || OIDC_SCOPES.has(value) ? value : `${audience}/${value}`;
}

function tenantNameOf(request: TokenRequest): string {
  return request.segment.kind === 'tenant' ? request.segment.tenant.id : request.tenantPath;
}

function authenticate(ctx: IdentityProviderContext, request: TokenRequest): AuthenticatedClient {
  const tenant = request.segment.kind === 'tenant' ? request.segment.tenant : undefined;
  const base = ctx.authorityUrl();
  const audiences = [`${base}/${request.tenantPath}/oauth2/v2.0/token`, `${base}/${request.tenantPath}/oauth2/token`, ...(tenant ? [`${base}/${tenant.id}/oauth2/v2.0/token`, `${base}/${tenant.id}/v2.0`, `${base}/${tenant.id}/oauth2/token`] : [])];
  return authenticateClient(ctx.directory, { form: request.form, authorizationHeader: request.authorizationHeader, tenant, tenantName: tenantNameOf(request), acceptedAssertionAudiences: audiences });
}

/** POST /{tenant}/oauth2/v2.0/token (and the v1 /oauth2/token with `resource`). */
export function handleTokenRequest(ctx: IdentityProviderContext, request: TokenRequest): TokenResponse {
  const grantType = request.form.get('grant_type');
  switch (grantType) {
    case 'client_credentials':
      return clientCredentials(ctx, request);
    case 'authorization_code':
      return authorizationCode(ctx, request);
    case 'refresh_token':
      return refreshToken(ctx, request);
    case null:
      throw entraErrors.missingParameter('grant_type');
    default:
      throw entraErrors.unsupportedGrantType(grantType);
  }
}

function clientCredentials(ctx: IdentityProviderContext, request: TokenRequest): TokenResponse {
  if (request.segment.kind !== 'tenant') throw entraErrors.tenantRequiredForAppOnly(request.tenantPath);
  const tenant = request.segment.tenant;
  const client = authenticate(ctx, request);
  const v1Resource = request.form.get('resource');
  const scope = request.form.get('scope') ?? (v1Resource ? `${v1Resource.replace(/\/+$/, '')}/.default` : null);
  const scopeRequest = parseScopeRequest(ctx.directory, scope ?? undefined, tenant.id);
  if (!scopeRequest.isDefault || scopeRequest.oidc.length > 0) throw entraErrors.clientCredentialsNeedDefault(scope ?? '');
  // Entra's real behaviour: without granted application permissions the token is still issued, without `roles`;
  // the resource (Exchange) then refuses it. Only a missing service principal fails here (AADSTS700016, above).
  const roles = ctx.directory.grantedApplicationPermissions(tenant.id, client.app.appId, scopeRequest.resource.appId);
  const accessToken = ctx.minter.appOnlyAccessToken({ tenantId: tenant.id, client: client.app, audience: accessTokenAudience(scopeRequest.resource, scopeRequest.audience), roles, authMethod: client.method });
  const lifetime = ctx.minter.accessTokenLifetimeInSeconds;
  return { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: accessToken };
}

function presentsClientCredential(request: TokenRequest): boolean {
  return request.form.has('client_secret') || request.form.has('client_assertion') || (request.authorizationHeader?.startsWith('Basic ') ?? false);
}

/**
 * Entra's SPA rule: a code issued to a "Single-page application" redirect URI is redeemed by
 * the browser (an Origin header, no secret: PKCE protects it); any other code must not be
 * redeemed cross-origin.
 */
function codeClient(ctx: IdentityProviderContext, request: TokenRequest, code: AuthorizationCode): AuthenticatedClient {
  const app = ctx.directory.findApp(code.clientAppId);
  const isSpa = app !== undefined && ctx.directory.isSpaRedirectUri(app, code.redirectUri);
  if (!isSpa) {
    if (request.origin) throw entraErrors.crossOriginRedemptionNotSpa();
    return authenticate(ctx, request);
  }
  if (!request.origin) throw entraErrors.spaRedemptionNeedsOrigin();
  return publicSpaClient(ctx, request, code.clientAppId);
}

/** A public client: only its client_id, which must name an app with SPA redirect URIs. */
function publicSpaClient(ctx: IdentityProviderContext, request: TokenRequest, expectedAppId: string): AuthenticatedClient {
  const clientId = request.form.get('client_id');
  if (!clientId) throw entraErrors.missingParameter('client_id');
  const app = ctx.directory.findApp(clientId);
  if (!app || app.firstParty) throw entraErrors.appNotFoundInDirectory(clientId, tenantNameOf(request));
  if (app.appId !== expectedAppId.toLowerCase() || (app.spaRedirectUris ?? []).length === 0) throw entraErrors.crossOriginRedemptionNotSpa();
  return { app, method: 'none' };
}

function verifyPkce(code: AuthorizationCode, verifier: string | null): void {
  if (!code.codeChallenge) return;
  if (!verifier) throw entraErrors.pkceVerifierMissing();
  const computed = code.codeChallengeMethod === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
  if (computed !== code.codeChallenge) throw entraErrors.pkceVerifierMismatch();
}

function authorizationCode(ctx: IdentityProviderContext, request: TokenRequest): TokenResponse {
  const rawCode = request.form.get('code');
  if (!rawCode) throw entraErrors.missingParameter('code');
  const code = ctx.codes.get(rawCode);
  if (!code || (request.segment.kind === 'tenant' && request.segment.tenant.id !== code.tenantId)) throw entraErrors.codeInvalid();
  const client = codeClient(ctx, request, code);
  if (client.app.appId !== code.clientAppId) throw entraErrors.codeClientMismatch();
  if (code.redeemed) throw entraErrors.codeRedeemed();
  if (code.expiresAt <= nowInSeconds()) throw entraErrors.codeExpired();
  const redirectUri = request.form.get('redirect_uri');
  if (redirectUri !== code.redirectUri) throw entraErrors.redirectUriMismatch(redirectUri ?? '');
  verifyPkce(code, request.form.get('code_verifier'));
  code.redeemed = true;
  const user = ctx.directory.user(code.userObjectId);
  const resource = ctx.directory.app(code.resourceAppId);
  return delegatedResponse(ctx, { user, client: client.app, method: client.method, resource, audience: code.audience, scopes: code.scopes, nonce: code.nonce, wantsClientInfo: request.form.get('client_info') === '1' });
}

function refreshToken(ctx: IdentityProviderContext, request: TokenRequest): TokenResponse {
  const raw = request.form.get('refresh_token');
  if (!raw) throw entraErrors.missingParameter('refresh_token');
  const stored = ctx.directory.findRefreshToken(raw);
  if (!stored || (request.segment.kind === 'tenant' && request.segment.tenant.id !== stored.tenantId)) throw entraErrors.refreshTokenInvalid();
  const client = presentsClientCredential(request) || !request.origin ? authenticate(ctx, request) : publicSpaClient(ctx, request, stored.clientAppId);
  if (client.app.appId !== stored.clientAppId) throw entraErrors.refreshTokenClientMismatch();
  const user = ctx.directory.findUser(stored.userObjectId);
  if (!user) throw entraErrors.refreshTokenInvalid();
  if (stored.revoked || stored.issuedAtMs < user.tokensValidFromMs) throw entraErrors.refreshTokenRevoked(stored.issuedAtMs, Math.max(user.tokensValidFromMs, stored.issuedAtMs + 1));
  if (stored.expiresAt <= nowInSeconds()) throw entraErrors.refreshTokenExpired();
  if (user.interactionRequired) throw entraErrors.interactionRequired(user.interactionRequired);
  // A refresh token is good for any resource the user consented to (Entra's multi-resource refresh tokens).
  const scopeRequest = parseScopeRequest(ctx.directory, request.form.get('scope') ?? stored.scopes.join(' '), user.tenantId);
  const scopes = consentedScopes(ctx, user, client.app, scopeRequest);
  return delegatedResponse(ctx, { user, client: client.app, method: client.method, resource: scopeRequest.resource, audience: scopeRequest.audience, scopes, wantsClientInfo: request.form.get('client_info') === '1' });
}

/** The scopes to put in a delegated token, or AADSTS65001 when the user has not (or no longer) consented. */
export function consentedScopes(ctx: IdentityProviderContext, user: StoredUser, client: StoredApp, scopeRequest: ScopeRequest): string[] {
  const granted = ctx.directory.grantedDelegatedScopes(user.tenantId, client.appId, user.objectId, scopeRequest.resource.appId);
  const wanted = requestedDelegatedScopes(scopeRequest, client, ctx.directory);
  const isGraphSignInOnly = scopeRequest.resource.appId === GRAPH_APP_ID && wanted.every((s) => s === 'User.Read');
  if (!isGraphSignInOnly && (wanted.length === 0 || wanted.some((s) => !granted.has(s)))) throw entraErrors.consentRequired(client.appId, client.displayName);
  const values = scopeRequest.isDefault ? [...granted] : wanted;
  return [...values.map((v) => qualifiedScope(scopeRequest.resource, scopeRequest.audience, v)), ...scopeRequest.oidc];
}

interface DelegatedGrant {
  readonly user: StoredUser;
  readonly client: StoredApp;
  readonly method: ClientAuthMethod;
  readonly resource: StoredApp;
  readonly audience: string;
  readonly scopes: readonly string[];
  readonly nonce?: string;
  readonly wantsClientInfo: boolean;
}

function delegatedResponse(ctx: IdentityProviderContext, grant: DelegatedGrant): TokenResponse {
  const resourceScopes = grant.scopes.filter((s) => !OIDC_SCOPES.has(s));
  const shortValues = resourceScopes.map((s) => s.slice(s.lastIndexOf('/') + 1));
  const roles = grant.user.appRoleAssignments[grant.resource.appId] ?? [];
  const accessToken = ctx.minter.delegatedAccessToken({ user: grant.user, client: grant.client, audience: accessTokenAudience(grant.resource, grant.audience), scopes: shortValues, roles, authMethod: grant.method });
  const lifetime = ctx.minter.accessTokenLifetimeInSeconds;
  const response: TokenResponse = { token_type: 'Bearer', scope: resourceScopes.join(' '), expires_in: lifetime, ext_expires_in: lifetime, access_token: accessToken };
  if (grant.scopes.includes('offline_access')) {
    const refresh = newOpaqueToken('1.dev-rt');
    const now = nowInSeconds();
    ctx.directory.storeRefreshToken({
      hash: sha256Base64(refresh),
      clientAppId: grant.client.appId,
      tenantId: grant.user.tenantId,
      userObjectId: grant.user.objectId,
      scopes: [...grant.scopes],
      issuedAtMs: Date.now(),
      expiresAt: now + ctx.refreshTokenLifetimeInSeconds,
      revoked: false,
    });
    response.refresh_token = refresh;
  }
  if (grant.scopes.includes('openid')) response.id_token = ctx.minter.idToken({ user: grant.user, client: grant.client, nonce: grant.nonce });
  if (grant.wantsClientInfo) response.client_info = clientInfo(grant.user);
  return response;
}
