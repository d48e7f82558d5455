import { z } from 'zod';
import type { IdentityProviderContext } from './context';
import { DirectoryError } from './directory';
import { jsonResult, type HttpResult } from './http-kit';
import type { AppRegistrationSeed, InteractionRequiredCode, TenantSeed, UserSeed } from './model';
import { accessTokenAudience } from './tokens';
import type { AccessTokenRequest } from './tokens';

export interface UserAccessTokenRequest {
  /** UPN or object id of a seeded user; oid, name, upn and their app roles on the resource come from the directory. */
  readonly user: string;
  readonly audience: string;
  readonly scp?: string;
  /** Overrides the roles the directory assigns. */
  readonly roles?: readonly string[];
  readonly appId?: string;
  readonly expiresInSeconds?: number;
  readonly extraClaims?: Readonly<Record<string, unknown>>;
}

/** What tests and the local stack change at run time; also served as JSON under /_control/. */
export interface IdentityControl {
  addTenant(seed: TenantSeed): void;
  addApp(seed: AppRegistrationSeed): void;
  addSecret(appId: string, options?: { value?: string; expiresAt?: string; displayName?: string }): { keyId: string; value: string; expiresAt?: string };
  expireSecret(appId: string, keyId: string): void;
  removeSecret(appId: string, keyId: string): void;
  addCertificate(appId: string, certificate: { certificatePem: string; expiresAt?: string }): { keyId: string; thumbprintSha1: string; thumbprintSha256: string };
  addRedirectUri(appId: string, redirectUri: string): void;
  /** A redirect URI of the "Single-page application" platform (public client, cross-origin redemption). */
  addSpaRedirectUri(appId: string, redirectUri: string): void;
  addUser(seed: UserSeed): { objectId: string };
  /** Changes the password and voids the user's refresh tokens (AADSTS50173). */
  setPassword(user: string, password: string): void;
  /** Refresh-token redemptions fail with AADSTS50076/50079 until the user signs in interactively. */
  setInteractionRequired(user: string, code: InteractionRequiredCode | undefined): void;
  /** Marks the user's refresh tokens revoked (optionally one client's); returns how many. */
  revokeRefreshTokens(user: string, clientAppId?: string): number;
  /** Ages the user's refresh tokens past their lifetime (AADSTS700082). */
  expireRefreshTokens(user: string): void;
  assignAppRoles(user: string, resource: string, roles: readonly string[]): void;
  grantAdminConsent(tenantId: string, clientAppId: string): void;
  grantUserConsent(tenantId: string, clientAppId: string, user: string, scopes: readonly string[]): void;
  revokeConsent(tenantId: string, clientAppId: string): void;
  /** Mints an access token with exactly the given claims, signed by the IdP's key. */
  issueAccessToken(request: AccessTokenRequest): string;
  /** Mints a delegated access token for a directory user, with their app roles on the resource. */
  issueUserAccessToken(request: UserAccessTokenRequest): string;
}

export function createIdentityControl(ctx: IdentityProviderContext): IdentityControl {
  const { directory, minter } = ctx;
  return {
    addTenant: (seed) => void directory.addTenant(seed),
    addApp: (seed) => void directory.addApp(seed),
    addSecret: (appId, options) => directory.addSecret(appId, options),
    expireSecret: (appId, keyId) => directory.expireSecret(appId, keyId),
    removeSecret: (appId, keyId) => directory.removeSecret(appId, keyId),
    addCertificate: (appId, certificate) => directory.addCertificate(appId, certificate),
    addRedirectUri: (appId, redirectUri) => directory.addRedirectUri(appId, redirectUri),
    addSpaRedirectUri: (appId, redirectUri) => directory.addSpaRedirectUri(appId, redirectUri),
    addUser: (seed) => ({ objectId: directory.addUser(seed).objectId }),
    setPassword: (user, password) => directory.setPassword(user, password),
    setInteractionRequired: (user, code) => directory.setInteractionRequired(user, code),
    revokeRefreshTokens: (user, clientAppId) => directory.revokeRefreshTokens(user, clientAppId),
    expireRefreshTokens: (user) => directory.expireRefreshTokens(user),
    assignAppRoles: (user, resource, roles) => directory.assignAppRoles(user, resource, roles),
    grantAdminConsent: (tenantId, clientAppId) => directory.grantAdminConsent(tenantId, clientAppId),
    grantUserConsent: (tenantId, clientAppId, user, scopes) => directory.grantUserConsent(tenantId, clientAppId, directory.user(user).objectId, scopes),
    revokeConsent: (tenantId, clientAppId) => directory.revokeConsent(tenantId, clientAppId),
    issueAccessToken: (request) => minter.mint(request),
    issueUserAccessToken: (request) => {
      const user = directory.user(request.user);
      const resource = directory.findResource(request.audience);
      const roles = request.roles ?? (resource ? (user.appRoleAssignments[resource.appId] ?? []) : []);
      return minter.mint({
        tenantId: user.tenantId,
        audience: accessTokenAudience(resource, request.audience),
        oid: user.objectId,
        upn: user.userPrincipalName,
        name: user.displayName,
        scp: request.scp ?? 'user_impersonation',
        roles,
        appId: request.appId,
        expiresInSeconds: request.expiresInSeconds,
        extraClaims: request.extraClaims,
      });
    },
  };
}

// ---- HTTP form of the control API --------------------------------------------------

const stringList = z.array(z.string());
const tenantSchema = z.object({ id: z.string(), displayName: z.string(), domains: stringList, allowUserConsent: z.boolean().optional() });
const appSchema = z.object({
  appId: z.string(),
  displayName: z.string(),
  homeTenantId: z.string(),
  signInAudience: z.enum(['AzureADMyOrg', 'AzureADMultipleOrgs']).optional(),
  secrets: z.array(z.object({ keyId: z.string().optional(), value: z.string(), displayName: z.string().optional(), expiresAt: z.string().optional() })).optional(),
  certificates: z.array(z.object({ keyId: z.string().optional(), certificatePem: z.string(), expiresAt: z.string().optional() })).optional(),
  redirectUris: stringList.optional(),
  identifierUris: stringList.optional(),
  appRoles: z.array(z.object({ value: z.string(), displayName: z.string().optional(), allowedMemberTypes: z.array(z.enum(['User', 'Application'])) })).optional(),
  exposedScopes: stringList.optional(),
  requiredResourceAccess: z.array(z.object({ resource: z.string(), applicationPermissions: stringList.optional(), delegatedPermissions: stringList.optional() })).optional(),
});
const interactionCode = z.union([z.literal(50076), z.literal(50079)]);
const userSchema = z.object({
  objectId: z.string().optional(),
  tenantId: z.string(),
  userPrincipalName: z.string(),
  password: z.string(),
  displayName: z.string(),
  isTenantAdmin: z.boolean().optional(),
  appRoleAssignments: z.array(z.object({ resource: z.string(), roles: stringList })).optional(),
  interactionRequired: interactionCode.optional(),
});
const tokenSchema = z.object({
  tenantId: z.string(),
  audience: z.string(),
  roles: stringList.optional(),
  scp: z.string().optional(),
  oid: z.string().optional(),
  upn: z.string().optional(),
  name: z.string().optional(),
  appId: z.string().optional(),
  expiresInSeconds: z.number().int().optional(),
  extraClaims: z.record(z.string(), z.unknown()).optional(),
});
const userTokenSchema = z.object({
  audience: z.string(),
  scp: z.string().optional(),
  roles: stringList.optional(),
  appId: z.string().optional(),
  expiresInSeconds: z.number().int().optional(),
  extraClaims: z.record(z.string(), z.unknown()).optional(),
});

type Route = { method: string; pattern: RegExp; run: (match: string[], body: unknown) => unknown };

function controlRoutes(control: IdentityControl): Route[] {
  const ok = { ok: true };
  return [
    { method: 'POST', pattern: /^\/_control\/tenants$/, run: (_m, b) => (control.addTenant(tenantSchema.parse(b)), ok) },
    { method: 'POST', pattern: /^\/_control\/apps$/, run: (_m, b) => (control.addApp(appSchema.parse(b)), ok) },
    { method: 'POST', pattern: /^\/_control\/apps\/([^/]+)\/secrets$/, run: (m, b) => control.addSecret(m[1]!, z.object({ value: z.string().optional(), expiresAt: z.string().optional(), displayName: z.string().optional() }).parse(b ?? {})) },
    { method: 'POST', pattern: /^\/_control\/apps\/([^/]+)\/secrets\/([^/]+)\/expire$/, run: (m) => (control.expireSecret(m[1]!, m[2]!), ok) },
    { method: 'DELETE', pattern: /^\/_control\/apps\/([^/]+)\/secrets\/([^/]+)$/, run: (m) => (control.removeSecret(m[1]!, m[2]!), ok) },
    { method: 'POST', pattern: /^\/_control\/apps\/([^/]+)\/certificates$/, run: (m, b) => control.addCertificate(m[1]!, z.object({ certificatePem: z.string(), expiresAt: z.string().optional() }).parse(b)) },
    { method: 'POST', pattern: /^\/_control\/apps\/([^/]+)\/redirect-uris$/, run: (m, b) => (control.addRedirectUri(m[1]!, z.object({ redirectUri: z.string() }).parse(b).redirectUri), ok) },
    { method: 'POST', pattern: /^\/_control\/users$/, run: (_m, b) => control.addUser(userSchema.parse(b)) },
    { method: 'POST', pattern: /^\/_control\/users\/([^/]+)\/password$/, run: (m, b) => (control.setPassword(m[1]!, z.object({ password: z.string() }).parse(b).password), ok) },
    { method: 'POST', pattern: /^\/_control\/users\/([^/]+)\/interaction-required$/, run: (m, b) => (control.setInteractionRequired(m[1]!, z.object({ code: interactionCode.nullable() }).parse(b).code ?? undefined), ok) },
    { method: 'POST', pattern: /^\/_control\/users\/([^/]+)\/refresh-tokens\/revoke$/, run: (m, b) => ({ revoked: control.revokeRefreshTokens(m[1]!, z.object({ clientAppId: z.string().optional() }).parse(b ?? {}).clientAppId) }) },
    { method: 'POST', pattern: /^\/_control\/users\/([^/]+)\/refresh-tokens\/expire$/, run: (m) => (control.expireRefreshTokens(m[1]!), ok) },
    { method: 'POST', pattern: /^\/_control\/users\/([^/]+)\/app-roles$/, run: (m, b) => { const r = z.object({ resource: z.string(), roles: stringList }).parse(b); control.assignAppRoles(m[1]!, r.resource, r.roles); return ok; } },
    { method: 'POST', pattern: /^\/_control\/users\/([^/]+)\/tokens$/, run: (m, b) => ({ access_token: control.issueUserAccessToken({ user: m[1]!, ...userTokenSchema.parse(b) }) }) },
    { method: 'POST', pattern: /^\/_control\/tenants\/([^/]+)\/consents\/([^/]+)$/, run: (m) => (control.grantAdminConsent(m[1]!, m[2]!), ok) },
    { method: 'POST', pattern: /^\/_control\/tenants\/([^/]+)\/consents\/([^/]+)\/users\/([^/]+)$/, run: (m, b) => (control.grantUserConsent(m[1]!, m[2]!, m[3]!, z.object({ scopes: stringList }).parse(b).scopes), ok) },
    { method: 'DELETE', pattern: /^\/_control\/tenants\/([^/]+)\/consents\/([^/]+)$/, run: (m) => (control.revokeConsent(m[1]!, m[2]!), ok) },
    { method: 'POST', pattern: /^\/_control\/tokens$/, run: (_m, b) => ({ access_token: control.issueAccessToken(tokenSchema.parse(b)) }) },
  ];
}

/** Serves /_control/...: JSON in, JSON out; 404 for unknown names, 409 for duplicates, 400 for bad input. */
export function handleControlRequest(control: IdentityControl, method: string, path: string, rawBody: string): HttpResult {
  const route = controlRoutes(control).find((r) => r.method === method && r.pattern.test(path));
  if (!route) return jsonResult(404, { error: 'not_found', message: `No control operation ${method} ${path}.` });
  try {
    const body: unknown = rawBody.trim() ? JSON.parse(rawBody) : undefined;
    const match = path.match(route.pattern)!.map((part) => decodeURIComponent(part));
    return jsonResult(200, route.run(match, body));
  } catch (error) {
    if (error instanceof DirectoryError) return jsonResult(error.code === 'NotFound' ? 404 : error.code === 'Conflict' ? 409 : 400, { error: error.code, message: error.message });
    if (error instanceof z.ZodError || error instanceof SyntaxError) return jsonResult(400, { error: 'invalid_request', message: error.message });
    throw error;
  }
}
