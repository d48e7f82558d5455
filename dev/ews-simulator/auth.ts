/**
 * Authentication for the EWS endpoint, pluggable per scheme. Each authenticator looks at the
 * Authorization header (and, for NTLM, the TCP connection) and says: not mine, authenticated
 * caller, challenge (401 with a token), or rejected (401/403 with headers).
 *
 * Exchange answers failed authentication with 401 and WWW-Authenticate listing what it accepts;
 * Exchange Online adds x-ms-diagnostics explaining Bearer failures.
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { EwsStore, Mailbox, ServiceAccount } from './model';
import { NtlmAuthenticator } from './ntlm';

export const EWS_AUDIENCE = 'https://outlook.office365.com';
/** Exchange Online's own first-party app id, used in its Bearer challenge. */
const EXCHANGE_APP_ID = '00000002-0000-0ff1-ce00-000000000000';

export type AuthScheme = 'Basic' | 'NTLM' | 'Bearer' | 'Negotiate';

/** Who is calling, once authenticated. */
export interface Caller {
  readonly scheme: AuthScheme;
  readonly organisationId: string;
  /** 'account' = a sign-in account (mailbox user or service account); 'app' = app-only token. */
  readonly kind: 'account' | 'app';
  /** UPN for accounts, application id for apps; the throttling budget key. */
  readonly principal: string;
  /** The caller's own mailbox (primary SMTP), if it has one. */
  readonly mailbox?: string;
  readonly appId?: string;
  readonly roles?: readonly string[];
  readonly scopes?: readonly string[];
}

export type AuthOutcome =
  | { readonly kind: 'none' }
  | { readonly kind: 'authenticated'; readonly caller: Caller }
  | { readonly kind: 'challenge'; readonly wwwAuthenticate: readonly string[] }
  | { readonly kind: 'rejected'; readonly status: 401 | 403; readonly wwwAuthenticate?: readonly string[]; readonly diagnostics?: string; readonly reason: string };

export interface AuthRequest {
  readonly authorization: string | undefined;
  /** Identifies the TCP connection (NTLM is connection-oriented). */
  readonly connection: object;
  readonly host: string;
}

export interface Authenticator {
  readonly scheme: AuthScheme;
  /** WWW-Authenticate values offered in a bare 401. */
  offered(host: string): string[];
  authenticate(request: AuthRequest): Promise<AuthOutcome> | AuthOutcome;
}

/** A sign-in account found by name: a mailbox user or a service account. */
export interface Account {
  readonly organisationId: string;
  readonly userPrincipalName: string;
  readonly mailbox?: Mailbox;
  readonly password?: string;
  readonly passwordExpired: boolean;
  readonly enabled: boolean;
}

/** Finds an account by UPN, SMTP address, or DOMAIN\user (NetBIOS name = first label of a domain). */
export function findAccount(store: EwsStore, name: string, domainHint = ''): Account | undefined {
  let login = name.trim().toLowerCase();
  let domain = domainHint.trim().toLowerCase();
  const slash = login.indexOf('\\');
  if (slash >= 0) {
    domain = login.slice(0, slash);
    login = login.slice(slash + 1);
  }
  const candidates = login.includes('@')
    ? [login]
    : store
        .organisations()
        .filter((org) => !domain || org.id.toLowerCase() === domain || org.domains.some((d) => d === domain || d.split('.')[0] === domain))
        .flatMap((org) => org.domains.map((d) => `${login}@${d}`));
  for (const candidate of candidates) {
    const account = store.getServiceAccount(candidate);
    if (account) return fromServiceAccount(account);
    const mailbox = store.getMailbox(candidate);
    if (mailbox) return fromMailbox(mailbox);
  }
  return undefined;
}

function fromServiceAccount(account: ServiceAccount): Account {
  return { organisationId: account.organisationId, userPrincipalName: account.userPrincipalName, ...passwordOf(account), passwordExpired: account.passwordExpired, enabled: account.enabled };
}

function fromMailbox(mailbox: Mailbox): Account {
  return { organisationId: mailbox.organisationId, userPrincipalName: mailbox.userPrincipalName, mailbox, ...passwordOf(mailbox), passwordExpired: mailbox.passwordExpired, enabled: mailbox.enabled };
}

function passwordOf(holder: { password?: string }): { password?: string } {
  return holder.password !== undefined ? { password: holder.password } : {};
}

function accountCaller(scheme: AuthScheme, account: Account): Caller {
  return {
    scheme,
    organisationId: account.organisationId,
    kind: 'account',
    principal: account.userPrincipalName,
    ...(account.mailbox ? { mailbox: account.mailbox.smtpAddress } : {}),
  };
}

/** Basic authentication against mailbox and service-account passwords. */
export class BasicAuthenticator implements Authenticator {
  readonly scheme = 'Basic' as const;
  constructor(private readonly store: EwsStore) {}

  offered(host: string): string[] {
    return [`Basic realm="${host}"`];
  }

  authenticate(request: AuthRequest): AuthOutcome {
    const match = /^\s*Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(request.authorization ?? '');
    if (!match) return { kind: 'none' };
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return { kind: 'rejected', status: 401, reason: 'malformed Basic credentials' };
    const account = findAccount(this.store, decoded.slice(0, colon));
    return checkPassword(this.store, 'Basic', account, decoded.slice(colon + 1));
  }
}

function checkPassword(store: EwsStore, scheme: 'Basic', account: Account | undefined, password: string): AuthOutcome {
  if (!account || account.password === undefined || account.password !== password) return { kind: 'rejected', status: 401, reason: 'unknown user or bad password' };
  const org = store.getOrganisation(account.organisationId);
  if (!org?.authentication.basic) return { kind: 'rejected', status: 401, reason: 'Basic authentication is disabled for the organisation' };
  if (!account.enabled) return { kind: 'rejected', status: 401, reason: 'account disabled' };
  if (account.passwordExpired) return { kind: 'rejected', status: 401, reason: 'password expired', diagnostics: '2000006;reason="The user password has expired.";error_category="password_expired"' };
  return { kind: 'authenticated', caller: accountCaller(scheme, account) };
}

/** NTLM (and Negotiate carrying NTLM), connection-oriented, via ntlm.ts. */
export class NtlmSchemeAuthenticator implements Authenticator {
  readonly scheme = 'NTLM' as const;
  private readonly ntlm: NtlmAuthenticator;

  constructor(private readonly store: EwsStore) {
    this.ntlm = new NtlmAuthenticator({
      identity: { targetName: 'EXCHANGE', dnsDomain: 'exchange.local', computerName: 'EXCH01' },
      lookupPassword: (user, domain) => {
        const account = findAccount(store, user, domain);
        return account && account.enabled && !account.passwordExpired && store.getOrganisation(account.organisationId)?.authentication.ntlm ? account.password : undefined;
      },
    });
  }

  offered(): string[] {
    return [...this.ntlm.offeredSchemes];
  }

  authenticate(request: AuthRequest): AuthOutcome {
    const header = request.authorization;
    const isNtlm = header !== undefined && /^\s*(NTLM|Negotiate)\s/i.test(header);
    if (header !== undefined && !isNtlm) return { kind: 'none' };
    const step = this.ntlm.authenticate(request.connection, header);
    switch (step.kind) {
      case 'unauthenticated':
        return { kind: 'none' };
      case 'challenge':
        return { kind: 'challenge', wwwAuthenticate: [step.wwwAuthenticate] };
      case 'rejected':
        return { kind: 'rejected', status: 401, wwwAuthenticate: step.wwwAuthenticate, reason: `NTLM: ${step.reason}` };
      case 'authenticated': {
        const account = findAccount(this.store, step.user, step.domain);
        if (!account) return { kind: 'rejected', status: 401, reason: 'NTLM user vanished' };
        return { kind: 'authenticated', caller: accountCaller('NTLM', account) };
      }
    }
  }
}

export interface BearerOptions {
  /** The JWKS URL of the token issuer for a tenant, e.g. https://localhost:8444/{tid}/discovery/v2.0/keys. */
  readonly jwksUri: (tenantId: string) => string;
}

/** Signing keys per tenant, fetched from the issuer's JWKS once and cached (shared with the Graph simulator). */
export class TenantKeySets {
  private readonly keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

  constructor(private readonly jwksUri: (tenantId: string) => string) {}

  get(tenantId: string): ReturnType<typeof createRemoteJWKSet> {
    let keys = this.keySets.get(tenantId);
    if (!keys) {
      keys = createRemoteJWKSet(new URL(this.jwksUri(tenantId)), { cooldownDuration: 1000 });
      this.keySets.set(tenantId, keys);
    }
    return keys;
  }
}

/** OAuth Bearer tokens (RS256, aud https://outlook.office365.com, tid = organisation's tenant). */
export class BearerAuthenticator implements Authenticator {
  readonly scheme = 'Bearer' as const;
  private readonly keys: TenantKeySets;

  constructor(
    private readonly store: EwsStore,
    options: BearerOptions,
  ) {
    this.keys = new TenantKeySets(options.jwksUri);
  }

  offered(): string[] {
    return [
      `Bearer client_id="${EXCHANGE_APP_ID}", trusted_issuers="00000001-0000-0000-c000-000000000000@*", token_types="app_asserted_user_v1 service_asserted_app_v1", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"`,
    ];
  }

  async authenticate(request: AuthRequest): Promise<AuthOutcome> {
    const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(request.authorization ?? '');
    if (!match) return { kind: 'none' };
    const token = match[1]!;
    const unverifiedTenant = tenantOf(token);
    if (!unverifiedTenant) return this.reject('2000001;reason="The token is malformed.";error_category="invalid_token"', 'malformed token');
    const org = this.store.organisationForTenant(unverifiedTenant);
    if (!org || !org.authentication.oauth) return this.reject('2000007;reason="The token tenant is not known to this organization.";error_category="invalid_tenant"', 'unknown tenant');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys.get(unverifiedTenant), { audience: EWS_AUDIENCE, algorithms: ['RS256'], clockTolerance: 300 }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) return this.reject('2000003;reason="The token has expired.";error_category="invalid_lifetime"', 'expired');
      if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'aud') return this.reject('2000001;reason="The audience claim value is invalid.";error_category="invalid_resource"', 'bad audience');
      return this.reject('2000001;reason="The token has invalid signature.";error_category="invalid_signature"', error instanceof Error ? error.message : 'verification failed');
    }
    const roles = Array.isArray(payload.roles) ? payload.roles.map(String) : [];
    const scopes = typeof payload.scp === 'string' ? payload.scp.split(' ').filter(Boolean) : [];
    const appId = String(payload.appid ?? payload.azp ?? '');
    if (scopes.length > 0) {
      if (!scopes.includes('EWS.AccessAsUser.All')) return this.reject('2000008;reason="The token contains not enough scope to make this call.";error_category="invalid_grant"', 'missing scope');
      const name = String(payload.upn ?? payload.preferred_username ?? payload.unique_name ?? '');
      const mailbox = (name && this.store.getMailbox(name)) || this.mailboxByObjectId(org.id, String(payload.oid ?? ''));
      if (!mailbox || mailbox.organisationId !== org.id) return this.reject('2000008;reason="The user specified by the user-context in the token does not exist.";error_category="invalid_user"', 'unknown user');
      if (!mailbox.enabled) return { kind: 'rejected', status: 403, reason: 'account disabled' };
      return {
        kind: 'authenticated',
        caller: { scheme: 'Bearer', organisationId: org.id, kind: 'account', principal: mailbox.userPrincipalName, mailbox: mailbox.smtpAddress, appId, scopes, roles },
      };
    }
    if (!roles.includes('full_access_as_app')) return this.reject('2000008;reason="The token contains no permissions, or permissions can not be understood.";error_category="invalid_grant"', 'missing role');
    return { kind: 'authenticated', caller: { scheme: 'Bearer', organisationId: org.id, kind: 'app', principal: appId, appId, roles, scopes } };
  }

  private mailboxByObjectId(organisationId: string, oid: string): Mailbox | undefined {
    if (!oid) return undefined;
    return this.store.mailboxes(organisationId).find((m) => m.entraObjectId === oid.toLowerCase());
  }


  private reject(diagnostics: string, reason: string): AuthOutcome {
    return { kind: 'rejected', status: 401, wwwAuthenticate: [...this.offered(), ], diagnostics, reason };
  }
}

/** The `tid` claim of a JWT before verification (to pick the tenant's keys), lower case. */
export function tenantOf(token: string): string | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { tid?: unknown };
    return typeof payload.tid === 'string' ? payload.tid.toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs the authenticators in order: the first that recognises the header decides. Without any
 * recognised header the answer is a 401 offering every scheme.
 */
export async function authenticate(authenticators: readonly Authenticator[], request: AuthRequest): Promise<AuthOutcome & { offered: string[] }> {
  // Kerberos and NTLM both offer Negotiate; IIS lists each scheme once.
  const offered = [...new Set(authenticators.flatMap((a) => a.offered(request.host)))];
  for (const authenticator of authenticators) {
    const outcome = await authenticator.authenticate(request);
    if (outcome.kind !== 'none') return { ...outcome, offered };
  }
  return { kind: 'none', offered };
}
