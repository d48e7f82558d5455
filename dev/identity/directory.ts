import { X509Certificate, createHash, randomBytes, randomUUID, scryptSync, timingSafeEqual } from 'node:crypto';
import { FIRST_PARTY_APIS } from './first-party-apps';
import type {
  AppRegistrationSeed,
  ClientCertificateSeed,
  ClientSecretSeed,
  ConsentSeed,
  DirectoryState,
  IdentitySeed,
  InteractionRequiredCode,
  StoredApp,
  StoredCertificate,
  StoredConsent,
  StoredRefreshToken,
  StoredSecret,
  StoredTenant,
  StoredUser,
  TenantSeed,
  UserSeed,
} from './model';

/** A control-API or seed request that names something that does not exist or already exists. */
export class DirectoryError extends Error {
  constructor(
    readonly code: 'NotFound' | 'Conflict' | 'Invalid',
    message: string,
  ) {
    super(message);
    this.name = 'DirectoryError';
  }
}

export type TenantSegment = { readonly kind: 'tenant'; readonly tenant: StoredTenant } | { readonly kind: 'multi'; readonly name: 'common' | 'organizations' };

export type SecretCheck = { readonly kind: 'valid'; readonly keyId: string } | { readonly kind: 'expired'; readonly keyId: string } | { readonly kind: 'invalid' };

export const nowInSeconds = (): number => Math.floor(Date.now() / 1000);

function hashSecret(value: string, salt: string): string {
  // Low scrypt cost: this guards a dev store, and tests hash many secrets.
  return scryptSync(value, salt, 32, { N: 1024 }).toString('base64');
}

function matchesHash(value: string, salt: string, hash: string): boolean {
  const expected = Buffer.from(hash, 'base64');
  const actual = Buffer.from(hashSecret(value, salt), 'base64');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

export function sha256Base64(value: string): string {
  return createHash('sha256').update(value).digest('base64');
}

function storedSecret(seed: ClientSecretSeed): StoredSecret {
  const salt = randomBytes(12).toString('base64');
  return { keyId: seed.keyId ?? randomUUID(), displayName: seed.displayName, hash: hashSecret(seed.value, salt), salt, hint: seed.value.slice(0, 3), expiresAt: seed.expiresAt };
}

function storedCertificate(seed: ClientCertificateSeed): StoredCertificate {
  const cert = new X509Certificate(seed.certificatePem);
  return {
    keyId: seed.keyId ?? randomUUID(),
    certificatePem: cert.toString(),
    thumbprintSha1: Buffer.from(cert.fingerprint.replace(/:/g, ''), 'hex').toString('base64url'),
    thumbprintSha256: Buffer.from(cert.fingerprint256.replace(/:/g, ''), 'hex').toString('base64url'),
    expiresAt: seed.expiresAt ?? new Date(cert.validTo).toISOString(),
  };
}

function storedApp(seed: AppRegistrationSeed, firstParty: boolean): StoredApp {
  return {
    appId: seed.appId.toLowerCase(),
    displayName: seed.displayName,
    homeTenantId: seed.homeTenantId,
    signInAudience: seed.signInAudience ?? 'AzureADMyOrg',
    secrets: (seed.secrets ?? []).map(storedSecret),
    certificates: (seed.certificates ?? []).map(storedCertificate),
    redirectUris: [...(seed.redirectUris ?? [])],
    spaRedirectUris: [...(seed.spaRedirectUris ?? [])],
    identifierUris: [...(seed.identifierUris ?? [])],
    ...(seed.requestedAccessTokenVersion ? { requestedAccessTokenVersion: seed.requestedAccessTokenVersion } : {}),
    appRoles: [...(seed.appRoles ?? [])],
    exposedScopes: [...(seed.exposedScopes ?? [])],
    requiredResourceAccess: [...(seed.requiredResourceAccess ?? [])],
    firstParty,
  };
}

function isExpired(expiresAt: string | undefined, now = Date.now()): boolean {
  return expiresAt !== undefined && Date.parse(expiresAt) <= now;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Entra's redirect URI match: exact, except that http loopback URIs match on any port (RFC 8252). */
export function redirectUriMatches(registered: string, requested: string): boolean {
  if (registered === requested) return true;
  let a: URL;
  let b: URL;
  try {
    a = new URL(registered);
    b = new URL(requested);
  } catch {
    return false;
  }
  return a.protocol === 'http:' && b.protocol === 'http:' && LOOPBACK_HOSTS.has(a.hostname) && a.hostname === b.hostname && a.pathname === b.pathname && a.search === b.search;
}

/**
 * The IdP's directory: tenants, app registrations, users, consents and refresh tokens, in
 * memory, with `onChange` called after each change (the server persists from there).
 */
export class Directory {
  readonly #state: DirectoryState;
  readonly #firstParty: StoredApp[] = FIRST_PARTY_APIS.map((seed) => storedApp(seed, true));
  onChange: () => void = () => {};

  constructor(state: DirectoryState) {
    this.#state = state;
  }

  static empty(): Directory {
    return new Directory({ tenants: [], apps: [], users: [], consents: [], refreshTokens: [] });
  }

  static fromSeed(seed: IdentitySeed): Directory {
    const directory = Directory.empty();
    directory.applySeed(seed);
    return directory;
  }

  applySeed(seed: IdentitySeed): void {
    for (const tenant of seed.tenants) this.addTenant(tenant);
    for (const app of seed.apps) this.addApp(app);
    for (const user of seed.users) this.addUser(user);
    for (const consent of seed.consents ?? []) this.applyConsent(consent);
  }

  snapshot(): DirectoryState {
    return structuredClone(this.#state);
  }

  #changed(): void {
    this.onChange();
  }

  // ---- tenants ----------------------------------------------------------------------

  addTenant(seed: TenantSeed): StoredTenant {
    if (this.#state.tenants.some((t) => t.id === seed.id.toLowerCase())) throw new DirectoryError('Conflict', `Tenant ${seed.id} exists.`);
    const tenant: StoredTenant = { id: seed.id.toLowerCase(), displayName: seed.displayName, domains: seed.domains.map((d) => d.toLowerCase()), allowUserConsent: seed.allowUserConsent ?? true };
    this.#state.tenants.push(tenant);
    this.#changed();
    return tenant;
  }

  tenants(): readonly StoredTenant[] {
    return this.#state.tenants;
  }

  /** A tenant as URLs name it: id, verified domain, <domain-label>.onmicrosoft.com, or common/organizations. */
  resolveTenantSegment(segment: string): TenantSegment | undefined {
    const name = segment.toLowerCase();
    if (name === 'common' || name === 'organizations') return { kind: 'multi', name };
    const tenant = this.#state.tenants.find((t) => t.id === name || t.domains.includes(name) || t.domains.some((d) => `${d.split('.')[0]}.onmicrosoft.com` === name));
    return tenant ? { kind: 'tenant', tenant } : undefined;
  }

  tenant(id: string): StoredTenant {
    const tenant = this.#state.tenants.find((t) => t.id === id.toLowerCase());
    if (!tenant) throw new DirectoryError('NotFound', `Tenant ${id} not found.`);
    return tenant;
  }

  // ---- apps -------------------------------------------------------------------------

  addApp(seed: AppRegistrationSeed): StoredApp {
    this.tenant(seed.homeTenantId);
    if (this.findApp(seed.appId)) throw new DirectoryError('Conflict', `App ${seed.appId} exists.`);
    const app = storedApp(seed, false);
    this.#state.apps.push(app);
    this.#changed();
    return app;
  }

  findApp(appId: string): StoredApp | undefined {
    const id = appId.toLowerCase();
    return this.#state.apps.find((a) => a.appId === id) ?? this.#firstParty.find((a) => a.appId === id);
  }

  app(appId: string): StoredApp {
    const app = this.findApp(appId);
    if (!app) throw new DirectoryError('NotFound', `App ${appId} not found.`);
    return app;
  }

  /** A resource API by identifier URI (with or without trailing slash) or app id. */
  findResource(identifier: string): StoredApp | undefined {
    const wanted = identifier.replace(/\/+$/, '').toLowerCase();
    const all = [...this.#state.apps, ...this.#firstParty];
    return all.find((a) => a.appId === wanted || a.identifierUris.some((u) => u.replace(/\/+$/, '').toLowerCase() === wanted));
  }

  /** Whether the app has a service principal in the tenant: its home, a first-party API, or consented there. */
  appPresentInTenant(app: StoredApp, tenantId: string): boolean {
    if (app.firstParty || app.homeTenantId === tenantId) return true;
    if (app.signInAudience !== 'AzureADMultipleOrgs') return false;
    return this.#state.consents.some((c) => c.tenantId === tenantId && c.clientAppId === app.appId);
  }

  addSecret(appId: string, options: { value?: string; expiresAt?: string; displayName?: string } = {}): { keyId: string; value: string; expiresAt?: string } {
    const app = this.#ownApp(appId);
    const value = options.value ?? `dev~${randomBytes(24).toString('base64url')}`;
    const secret = storedSecret({ value, expiresAt: options.expiresAt, displayName: options.displayName });
    app.secrets.push(secret);
    this.#changed();
    return { keyId: secret.keyId, value, expiresAt: secret.expiresAt };
  }

  /** Sets a secret's end date to now (or the given date): it then fails with AADSTS7000222. */
  expireSecret(appId: string, keyId: string, at = new Date(Date.now() - 1000).toISOString()): void {
    const secret = this.#ownApp(appId).secrets.find((s) => s.keyId === keyId);
    if (!secret) throw new DirectoryError('NotFound', `Secret ${keyId} not found on app ${appId}.`);
    secret.expiresAt = at;
    this.#changed();
  }

  removeSecret(appId: string, keyId: string): void {
    const app = this.#ownApp(appId);
    const before = app.secrets.length;
    app.secrets = app.secrets.filter((s) => s.keyId !== keyId);
    if (app.secrets.length === before) throw new DirectoryError('NotFound', `Secret ${keyId} not found on app ${appId}.`);
    this.#changed();
  }

  addCertificate(appId: string, seed: ClientCertificateSeed): { keyId: string; thumbprintSha1: string; thumbprintSha256: string } {
    const cert = storedCertificate(seed);
    this.#ownApp(appId).certificates.push(cert);
    this.#changed();
    return { keyId: cert.keyId, thumbprintSha1: cert.thumbprintSha1, thumbprintSha256: cert.thumbprintSha256 };
  }

  addRedirectUri(appId: string, redirectUri: string): void {
    const app = this.#ownApp(appId);
    if (!app.redirectUris.includes(redirectUri)) app.redirectUris.push(redirectUri);
    this.#changed();
  }

  #ownApp(appId: string): StoredApp {
    const app = this.#state.apps.find((a) => a.appId === appId.toLowerCase());
    if (!app) throw new DirectoryError('NotFound', `App ${appId} not found.`);
    return app;
  }

  checkSecret(app: StoredApp, value: string): SecretCheck {
    const match = app.secrets.find((s) => matchesHash(value, s.salt, s.hash));
    if (!match) return { kind: 'invalid' };
    return isExpired(match.expiresAt) ? { kind: 'expired', keyId: match.keyId } : { kind: 'valid', keyId: match.keyId };
  }

  findCertificate(app: StoredApp, thumbprint: { sha1?: string; sha256?: string }): StoredCertificate | undefined {
    return app.certificates.find((c) => (thumbprint.sha256 !== undefined && c.thumbprintSha256 === thumbprint.sha256) || (thumbprint.sha1 !== undefined && c.thumbprintSha1 === thumbprint.sha1));
  }

  isRedirectUriRegistered(app: StoredApp, redirectUri: string): boolean {
    return app.redirectUris.some((registered) => redirectUriMatches(registered, redirectUri)) || this.isSpaRedirectUri(app, redirectUri);
  }

  /** A redirect URI of the SPA platform: its codes are redeemed by the browser as a public client. */
  isSpaRedirectUri(app: StoredApp, redirectUri: string): boolean {
    return (app.spaRedirectUris ?? []).some((registered) => redirectUriMatches(registered, redirectUri));
  }

  addSpaRedirectUri(appId: string, redirectUri: string): void {
    const app = this.#ownApp(appId);
    app.spaRedirectUris ??= [];
    if (!app.spaRedirectUris.includes(redirectUri)) app.spaRedirectUris.push(redirectUri);
    this.#changed();
  }

  // ---- users ------------------------------------------------------------------------

  addUser(seed: UserSeed): StoredUser {
    const tenant = this.tenant(seed.tenantId);
    const upn = seed.userPrincipalName.toLowerCase();
    if (this.#state.users.some((u) => u.userPrincipalName === upn)) throw new DirectoryError('Conflict', `User ${upn} exists.`);
    const salt = randomBytes(12).toString('base64');
    const assignments: Record<string, string[]> = {};
    for (const assignment of seed.appRoleAssignments ?? []) {
      const resource = this.findResource(assignment.resource);
      if (!resource) throw new DirectoryError('Invalid', `Role assignment for unknown resource ${assignment.resource}.`);
      assignments[resource.appId] = [...new Set([...(assignments[resource.appId] ?? []), ...assignment.roles])];
    }
    const user: StoredUser = {
      objectId: (seed.objectId ?? randomUUID()).toLowerCase(),
      tenantId: tenant.id,
      userPrincipalName: upn,
      displayName: seed.displayName,
      passwordHash: hashSecret(seed.password, salt),
      passwordSalt: salt,
      isTenantAdmin: seed.isTenantAdmin ?? false,
      appRoleAssignments: assignments,
      interactionRequired: seed.interactionRequired,
      tokensValidFromMs: 0,
    };
    this.#state.users.push(user);
    this.#changed();
    return user;
  }

  /** A user by UPN or object id. */
  findUser(upnOrObjectId: string): StoredUser | undefined {
    const key = upnOrObjectId.toLowerCase();
    return this.#state.users.find((u) => u.userPrincipalName === key || u.objectId === key);
  }

  user(upnOrObjectId: string): StoredUser {
    const user = this.findUser(upnOrObjectId);
    if (!user) throw new DirectoryError('NotFound', `User ${upnOrObjectId} not found.`);
    return user;
  }

  checkPassword(user: StoredUser, password: string): boolean {
    return matchesHash(password, user.passwordSalt, user.passwordHash);
  }

  /** A password change voids every refresh token issued before it, as in Entra. */
  setPassword(upnOrObjectId: string, password: string): void {
    const user = this.user(upnOrObjectId);
    user.passwordSalt = randomBytes(12).toString('base64');
    user.passwordHash = hashSecret(password, user.passwordSalt);
    user.tokensValidFromMs = Date.now() + 1;
    this.#changed();
  }

  /** Like Revoke-MgUserSignInSession: refresh tokens issued until now stop working. */
  revokeSignInSessions(upnOrObjectId: string): void {
    this.user(upnOrObjectId).tokensValidFromMs = Date.now() + 1;
    this.#changed();
  }

  setInteractionRequired(upnOrObjectId: string, code: InteractionRequiredCode | undefined): void {
    this.user(upnOrObjectId).interactionRequired = code;
    this.#changed();
  }

  assignAppRoles(upnOrObjectId: string, resourceIdentifier: string, roles: readonly string[]): void {
    const user = this.user(upnOrObjectId);
    const resource = this.findResource(resourceIdentifier);
    if (!resource) throw new DirectoryError('NotFound', `Resource ${resourceIdentifier} not found.`);
    user.appRoleAssignments[resource.appId] = [...new Set([...(user.appRoleAssignments[resource.appId] ?? []), ...roles])];
    this.#changed();
  }

  // ---- consents ---------------------------------------------------------------------

  applyConsent(seed: ConsentSeed): void {
    if (seed.kind === 'admin') {
      this.grantAdminConsent(seed.tenantId, seed.clientAppId);
      return;
    }
    const user = this.user(seed.userPrincipalName);
    this.grantUserConsent(seed.tenantId, seed.clientAppId, user.objectId, seed.scopes);
  }

  #consent(tenantId: string, clientAppId: string): StoredConsent {
    const existing = this.#state.consents.find((c) => c.tenantId === tenantId && c.clientAppId === clientAppId);
    if (existing) return existing;
    const created: StoredConsent = { tenantId, clientAppId, applicationPermissions: {}, allPrincipalsScopes: {}, userScopes: {} };
    this.#state.consents.push(created);
    return created;
  }

  /** Tenant-wide consent to everything the app's registration requires (what /adminconsent grants). */
  grantAdminConsent(tenantId: string, clientAppId: string): void {
    const tenant = this.tenant(tenantId);
    const app = this.app(clientAppId);
    const consent = this.#consent(tenant.id, app.appId);
    for (const access of app.requiredResourceAccess) {
      const resource = this.findResource(access.resource);
      if (!resource) throw new DirectoryError('Invalid', `App ${app.appId} requires unknown resource ${access.resource}.`);
      mergeInto(consent.applicationPermissions, resource.appId, access.applicationPermissions ?? []);
      mergeInto(consent.allPrincipalsScopes, resource.appId, access.delegatedPermissions ?? []);
    }
    this.#changed();
  }

  /** One user's consent to resource-qualified scopes ("https://outlook.office365.com/EWS.AccessAsUser.All"). */
  grantUserConsent(tenantId: string, clientAppId: string, userObjectId: string, scopes: readonly string[]): void {
    const consent = this.#consent(this.tenant(tenantId).id, this.app(clientAppId).appId);
    const byResource = (consent.userScopes[userObjectId] ??= {});
    for (const scope of scopes) {
      const cut = scope.lastIndexOf('/');
      const resource = cut > 0 ? this.findResource(scope.slice(0, cut)) : this.findResource('https://graph.microsoft.com');
      if (!resource) throw new DirectoryError('Invalid', `Unknown resource in scope ${scope}.`);
      mergeInto(byResource, resource.appId, [cut > 0 ? scope.slice(cut + 1) : scope]);
    }
    this.#changed();
  }

  /** Removes the app's service principal grants from the tenant (like deleting the enterprise app). */
  revokeConsent(tenantId: string, clientAppId: string): void {
    const before = this.#state.consents.length;
    this.#state.consents = this.#state.consents.filter((c) => !(c.tenantId === tenantId.toLowerCase() && c.clientAppId === clientAppId.toLowerCase()));
    if (this.#state.consents.length === before) throw new DirectoryError('NotFound', `No consent for app ${clientAppId} in tenant ${tenantId}.`);
    this.#changed();
  }

  grantedApplicationPermissions(tenantId: string, clientAppId: string, resourceAppId: string): string[] {
    return [...(this.#state.consents.find((c) => c.tenantId === tenantId && c.clientAppId === clientAppId)?.applicationPermissions[resourceAppId] ?? [])];
  }

  /** Delegated scopes of a resource that a user may use through a client: tenant-wide grants plus their own. */
  grantedDelegatedScopes(tenantId: string, clientAppId: string, userObjectId: string, resourceAppId: string): Set<string> {
    const consent = this.#state.consents.find((c) => c.tenantId === tenantId && c.clientAppId === clientAppId);
    return new Set([...(consent?.allPrincipalsScopes[resourceAppId] ?? []), ...(consent?.userScopes[userObjectId]?.[resourceAppId] ?? [])]);
  }

  hasAdminConsent(tenantId: string, clientAppId: string): boolean {
    const consent = this.#state.consents.find((c) => c.tenantId === tenantId && c.clientAppId === clientAppId);
    return !!consent && (Object.keys(consent.allPrincipalsScopes).length > 0 || Object.keys(consent.applicationPermissions).length > 0);
  }

  // ---- refresh tokens ---------------------------------------------------------------

  storeRefreshToken(token: StoredRefreshToken): void {
    const now = nowInSeconds();
    this.#state.refreshTokens = this.#state.refreshTokens.filter((t) => t.expiresAt > now);
    this.#state.refreshTokens.push(token);
    this.#changed();
  }

  findRefreshToken(rawToken: string): StoredRefreshToken | undefined {
    const hash = sha256Base64(rawToken);
    return this.#state.refreshTokens.find((t) => t.hash === hash);
  }

  /** Revokes refresh tokens of a user (optionally only those of one client). Returns how many. */
  revokeRefreshTokens(upnOrObjectId: string, clientAppId?: string): number {
    const user = this.user(upnOrObjectId);
    let count = 0;
    for (const token of this.#state.refreshTokens) {
      if (token.userObjectId === user.objectId && (!clientAppId || token.clientAppId === clientAppId.toLowerCase()) && !token.revoked) {
        token.revoked = true;
        count++;
      }
    }
    this.#changed();
    return count;
  }

  /** Ages every refresh token of a user past its lifetime (AADSTS700082 on next use). */
  expireRefreshTokens(upnOrObjectId: string): void {
    const user = this.user(upnOrObjectId);
    for (const token of this.#state.refreshTokens) if (token.userObjectId === user.objectId) token.expiresAt = nowInSeconds() - 1;
    this.#changed();
  }

}

function mergeInto(target: Record<string, string[]>, key: string, values: readonly string[]): void {
  if (values.length === 0 && target[key]) return;
  target[key] = [...new Set([...(target[key] ?? []), ...values])];
}
