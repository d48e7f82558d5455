/**
 * The identity provider's directory: what a seed describes and what the control API adds.
 * Shapes follow Entra's own vocabulary (app registration, service principal, app role
 * assignment, OAuth2 permission grant) so a reader who knows Entra knows what each field does.
 */

export type SignInAudience = 'AzureADMyOrg' | 'AzureADMultipleOrgs';

export interface TenantSeed {
  readonly id: string;
  readonly displayName: string;
  /** Verified domains; the first is the default. `<name>.onmicrosoft.com` is accepted in URLs too. */
  readonly domains: readonly string[];
  /** Whether users may consent to delegated permissions that need no admin (Entra's default: yes). */
  readonly allowUserConsent?: boolean;
}

export interface ClientSecretSeed {
  /** keyId of the password credential; generated when absent. */
  readonly keyId?: string;
  readonly value: string;
  readonly displayName?: string;
  /** ISO 8601; absent means it never expires (Entra caps at 2 years; the dev IdP does not). */
  readonly expiresAt?: string;
}

export interface ClientCertificateSeed {
  readonly keyId?: string;
  /** The public certificate (PEM). Its SHA-1 and SHA-256 thumbprints identify it in assertions. */
  readonly certificatePem: string;
  readonly expiresAt?: string;
}

export interface AppRoleDefinition {
  readonly value: string;
  readonly displayName?: string;
  /** 'User' roles are assigned to people (admin API roles); 'Application' roles are application permissions. */
  readonly allowedMemberTypes: readonly ('User' | 'Application')[];
}

export interface RequiredResourceAccess {
  /** The resource API by identifier URI (https://outlook.office365.com) or app id. */
  readonly resource: string;
  /** Application permissions (app roles of the resource), granted only by admin consent. */
  readonly applicationPermissions?: readonly string[];
  /** Delegated permissions (scopes of the resource). */
  readonly delegatedPermissions?: readonly string[];
}

export interface AppRegistrationSeed {
  readonly appId: string;
  readonly displayName: string;
  readonly homeTenantId: string;
  readonly signInAudience?: SignInAudience;
  readonly secrets?: readonly ClientSecretSeed[];
  readonly certificates?: readonly ClientCertificateSeed[];
  /** Exact redirect URIs; for http loopback hosts (localhost, 127.0.0.1) the port is ignored, as in Entra. */
  readonly redirectUris?: readonly string[];
  /**
   * Redirect URIs of the "Single-page application" platform: codes issued to them are redeemed
   * by the browser itself (cross-origin, with an Origin header, no client secret: a public client).
   */
  readonly spaRedirectUris?: readonly string[];
  /** Application ID URIs, when the app is itself an API (api://exchange-connector). */
  readonly identifierUris?: readonly string[];
  /**
   * The API's `api.requestedAccessTokenVersion` (manifest accessTokenAcceptedVersion). 2: access
   * tokens for it are v2.0 and their `aud` is the API's client id, whatever identifier URI the
   * client named in its scope — as Entra does. Absent: the audience is the resource as named.
   */
  readonly requestedAccessTokenVersion?: 1 | 2;
  readonly appRoles?: readonly AppRoleDefinition[];
  /** Delegated scopes the API exposes. */
  readonly exposedScopes?: readonly string[];
  readonly requiredResourceAccess?: readonly RequiredResourceAccess[];
}

export interface AppRoleAssignmentSeed {
  /** The resource app by identifier URI or app id (api://exchange-connector). */
  readonly resource: string;
  readonly roles: readonly string[];
}

/** Entra's interaction-required reasons: 50076 (MFA required), 50079 (MFA registration required). */
export type InteractionRequiredCode = 50076 | 50079;

export interface UserSeed {
  readonly objectId?: string;
  readonly tenantId: string;
  readonly userPrincipalName: string;
  readonly password: string;
  readonly displayName: string;
  /** May grant tenant-wide admin consent (Global/Cloud Application Administrator). */
  readonly isTenantAdmin?: boolean;
  readonly appRoleAssignments?: readonly AppRoleAssignmentSeed[];
  readonly interactionRequired?: InteractionRequiredCode;
}

export type ConsentSeed =
  /** Admin consent: every permission the app requires, for every user of the tenant, plus application permissions. */
  | { readonly kind: 'admin'; readonly tenantId: string; readonly clientAppId: string }
  /** One user's consent to some delegated scopes ("https://outlook.office365.com/EWS.AccessAsUser.All"). */
  | { readonly kind: 'user'; readonly tenantId: string; readonly clientAppId: string; readonly userPrincipalName: string; readonly scopes: readonly string[] };

export interface IdentitySeed {
  readonly tenants: readonly TenantSeed[];
  readonly apps: readonly AppRegistrationSeed[];
  readonly users: readonly UserSeed[];
  readonly consents?: readonly ConsentSeed[];
}

// ---- stored state -------------------------------------------------------------------

export interface StoredSecret {
  keyId: string;
  displayName?: string;
  /** scrypt hash; the value itself is never kept. */
  hash: string;
  salt: string;
  hint: string;
  expiresAt?: string;
}

export interface StoredCertificate {
  keyId: string;
  certificatePem: string;
  thumbprintSha1: string;
  thumbprintSha256: string;
  expiresAt?: string;
}

export interface StoredApp {
  appId: string;
  displayName: string;
  homeTenantId: string;
  signInAudience: SignInAudience;
  secrets: StoredSecret[];
  certificates: StoredCertificate[];
  redirectUris: string[];
  /** Absent in state persisted before SPA support: read through Directory.isSpaRedirectUri. */
  spaRedirectUris?: string[];
  identifierUris: string[];
  requestedAccessTokenVersion?: 1 | 2;
  appRoles: AppRoleDefinition[];
  exposedScopes: string[];
  requiredResourceAccess: RequiredResourceAccess[];
  /** Built-in Microsoft APIs (Exchange Online, Key Vault, Graph): present in every tenant. */
  firstParty: boolean;
}

export interface StoredUser {
  objectId: string;
  tenantId: string;
  userPrincipalName: string;
  displayName: string;
  passwordHash: string;
  passwordSalt: string;
  isTenantAdmin: boolean;
  /** resource app id -> role values. */
  appRoleAssignments: Record<string, string[]>;
  interactionRequired?: InteractionRequiredCode;
  /** Like Entra's refreshTokensValidFromDateTime: refresh tokens issued earlier are void (epoch ms). */
  tokensValidFromMs: number;
}

/** Consents of one client app in one tenant: service principal + grants. */
export interface StoredConsent {
  tenantId: string;
  clientAppId: string;
  /** resource app id -> application permissions (app role assignments to the service principal). */
  applicationPermissions: Record<string, string[]>;
  /** resource app id -> delegated scopes granted for all principals (admin consent). */
  allPrincipalsScopes: Record<string, string[]>;
  /** user object id -> resource app id -> delegated scopes granted by that user. */
  userScopes: Record<string, Record<string, string[]>>;
}

export interface StoredRefreshToken {
  /** sha256 of the token; the token itself is only in the client's hands. */
  hash: string;
  clientAppId: string;
  tenantId: string;
  userObjectId: string;
  /** Scopes as granted, resource-qualified ("https://outlook.office365.com/EWS.AccessAsUser.All", "openid", ...). */
  scopes: string[];
  issuedAtMs: number;
  /** Epoch seconds. */
  expiresAt: number;
  revoked: boolean;
}

export interface StoredTenant {
  id: string;
  displayName: string;
  domains: string[];
  allowUserConsent: boolean;
}

export interface DirectoryState {
  tenants: StoredTenant[];
  apps: StoredApp[];
  users: StoredUser[];
  consents: StoredConsent[];
  refreshTokens: StoredRefreshToken[];
}
