/**
 * Delegated (per-user) EWS tokens for mailboxes of delegated groups. The sync engine calls
 *
 *   const tokens = createDelegatedTokenProvider(deps);            // once per process
 *   const token = await tokens.acquireEwsToken({ tenantId, mailbox });   // or { tenantId, userObjectId }
 *   createMailboxClient(url, delegatedEwsCredential(tokens, { tenantId, mailbox }), { mailbox, access: 'delegated' })
 *
 * and catches ReauthenticationRequiredError (code 'ReauthenticationRequired'): the user must
 * sign in again. Before it is thrown the provider has already run the re-authentication hook
 * (shared/consent/reauthentication.ts: marks the user and mailbox needsReauthentication, which
 * pauses the mailbox's sync, and emails a new sign-in link when the tenant enabled it). Users
 * already marked are refused at once without asking Entra; a new sign-in clears the mark and
 * syncing resumes. Other Entra failures reject with EntraAuthError (see `transient`).
 *
 * Tokens come from MSAL's acquireTokenSilent with the user's cache from Key Vault: served from
 * the cache while valid, refreshed with the refresh token when near expiry.
 */
import { SecretString } from '../logging/secret-string';
import { refreshingBearerCredential } from '../ews/mailbox-client';
import type { EwsCredential } from '../ews/mailbox-client';
import { ConnectorApp, isClientSecretProblem } from './connector-app';
import { EntraAuthError, toEntraAuthError } from './entra-errors';
import type { EntraErrorCode } from './entra-errors';
import { UserTokenCacheStore } from './token-cache-store';

/** Which delegated user: by Entra object id, or by the mailbox an admin linked to the user. */
export type DelegatedUserRef =
  | { readonly tenantId: string; readonly userObjectId: string; readonly mailbox?: undefined }
  | { readonly tenantId: string; readonly mailbox: string; readonly userObjectId?: undefined };

export type ReauthenticationReason = 'NotSignedIn' | 'RefreshTokenInvalid' | 'InteractionRequired' | 'ConsentRevoked' | 'UserCredentialsInvalid' | 'AlreadyMarked';

/** The user must sign in again; `message` is safe to show to admins and the user. */
export class ReauthenticationRequiredError extends Error {
  readonly code = 'ReauthenticationRequired' as const;
  constructor(
    readonly reason: ReauthenticationReason,
    message: string,
    readonly tenantId: string,
    readonly userObjectId: string | undefined,
    readonly mailbox: string | undefined,
    options: { readonly cause?: unknown; readonly aadsts?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ReauthenticationRequiredError';
    this.aadsts = options.aadsts;
  }
  readonly aadsts: number | undefined;
}

/** What the provider needs to know about a delegated user (DelegatedUsersRepository provides it). */
export interface DelegatedUserIdentity {
  readonly tenantId: string;
  readonly userObjectId: string;
  readonly entraTenantId: string;
  /** MSAL's account key: `${oid}.${tid}`. */
  readonly homeAccountId: string;
  readonly status: 'active' | 'needsReauthentication';
  readonly lastError?: { readonly code: string; readonly message: string };
  readonly link?: { readonly groupId: string; readonly mailbox: string };
}

export interface DelegatedUserDirectory {
  findByObjectId(tenantId: string, userObjectId: string): Promise<DelegatedUserIdentity | undefined>;
  findByMailbox(tenantId: string, mailbox: string): Promise<DelegatedUserIdentity | undefined>;
}

export interface ReauthenticationEvent {
  readonly tenantId: string;
  readonly userObjectId: string | undefined;
  readonly mailbox: string | undefined;
  readonly reason: ReauthenticationReason;
  readonly message: string;
}

export interface DelegatedTokenProviderDependencies {
  readonly connectorApp: ConnectorApp;
  readonly tokenCaches: UserTokenCacheStore;
  readonly users: DelegatedUserDirectory;
  /** Marks the user and mailbox, pauses sync, may email the user. Failures here are reported through `onHookError` only. */
  readonly onReauthenticationRequired?: (event: ReauthenticationEvent) => Promise<void>;
  readonly onHookError?: (error: unknown) => void;
  readonly now?: () => number;
}

export interface DelegatedEwsToken {
  readonly token: SecretString;
  readonly expiresOn: Date | undefined;
  readonly userObjectId: string;
}

export interface DelegatedTokenProvider {
  /** A current EWS token for the user; ReauthenticationRequiredError when only a new sign-in helps. */
  acquireEwsToken(user: DelegatedUserRef, options?: { readonly forceRefresh?: boolean }): Promise<SecretString>;
  acquireEwsTokenWithDetails(user: DelegatedUserRef, options?: { readonly forceRefresh?: boolean }): Promise<DelegatedEwsToken>;
  /**
   * A current Microsoft Graph token for the user (`${resource}/.default`: the Graph permissions
   * the user consented to), from the same refresh token as the EWS one (Entra refresh tokens are
   * good for every resource the user consented to). Optional so test doubles need not provide it.
   */
  acquireGraphToken?(user: DelegatedUserRef, options?: { readonly forceRefresh?: boolean; readonly resource?: string }): Promise<SecretString>;
  /** Forgets tokens held in memory for a user (after a new sign-in or deletion). */
  forget(tenantId: string, userObjectId: string): void;
}

const REAUTH_OAUTH_ERRORS = new Set(['invalid_grant', 'interaction_required', 'consent_required', 'login_required', 'no_tokens_found', 'no_account_found', 'refresh_token_expired', 'bad_token']);
const REAUTH_REASONS: Partial<Record<EntraErrorCode, ReauthenticationReason>> = {
  RefreshTokenInvalid: 'RefreshTokenInvalid',
  InteractionRequired: 'InteractionRequired',
  InvalidUserCredentials: 'UserCredentialsInvalid',
  AppNotFoundOrNotConsented: 'ConsentRevoked',
};
/** MSAL renews tokens this close to expiry; the in-memory copy follows the same rule. */
const RENEW_BEFORE_EXPIRY_IN_MS = 5 * 60_000;

function reauthenticationReasonOf(error: EntraAuthError): ReauthenticationReason | undefined {
  if (isClientSecretProblem(error)) return undefined;
  const mapped = REAUTH_REASONS[error.code];
  if (mapped && (error.oauthError === undefined || REAUTH_OAUTH_ERRORS.has(error.oauthError))) return mapped;
  if (error.oauthError !== undefined && REAUTH_OAUTH_ERRORS.has(error.oauthError)) return error.oauthError === 'no_tokens_found' || error.oauthError === 'no_account_found' ? 'NotSignedIn' : 'RefreshTokenInvalid';
  return undefined;
}

function describeRef(user: DelegatedUserRef): string {
  return user.mailbox !== undefined ? `mailbox ${user.mailbox}` : `user ${user.userObjectId}`;
}

export function createDelegatedTokenProvider(deps: DelegatedTokenProviderDependencies): DelegatedTokenProvider {
  const now = deps.now ?? Date.now;
  const memo = new Map<string, { token: SecretString; expiresOn: Date | undefined }>();
  const memoKey = (tenantId: string, userObjectId: string): string => `${tenantId.toLowerCase()}|${userObjectId.toLowerCase()}`;
  const forgetUser = (tenantId: string, userObjectId: string): void => {
    const prefix = `${memoKey(tenantId, userObjectId)}|`;
    for (const key of [...memo.keys()]) if (key.startsWith(prefix)) memo.delete(key);
  };

  async function fail(user: DelegatedUserRef, identity: DelegatedUserIdentity | undefined, reason: ReauthenticationReason, message: string, cause?: EntraAuthError): Promise<never> {
    const userObjectId = identity?.userObjectId ?? user.userObjectId;
    const mailbox = identity?.link?.mailbox ?? user.mailbox;
    if (userObjectId) forgetUser(user.tenantId, userObjectId);
    if (reason !== 'AlreadyMarked' && deps.onReauthenticationRequired) {
      try {
        await deps.onReauthenticationRequired({ tenantId: user.tenantId, userObjectId, mailbox, reason, message });
      } catch (hookError: unknown) {
        deps.onHookError?.(hookError);
      }
    }
    throw new ReauthenticationRequiredError(reason, message, user.tenantId, userObjectId, mailbox, { ...(cause ? { cause, ...(cause.aadsts !== undefined ? { aadsts: cause.aadsts } : {}) } : {}) });
  }

  async function resolve(user: DelegatedUserRef): Promise<DelegatedUserIdentity | undefined> {
    return user.mailbox !== undefined ? deps.users.findByMailbox(user.tenantId, user.mailbox.toLowerCase()) : deps.users.findByObjectId(user.tenantId, user.userObjectId);
  }

  async function silent(identity: DelegatedUserIdentity, forceRefresh: boolean, reloadSecret: boolean, scope: string): Promise<{ token: SecretString; expiresOn: Date | undefined } | 'no-cache'> {
    const plugin = deps.tokenCaches.plugin({ tenantId: identity.tenantId, userObjectId: identity.userObjectId });
    const application = await deps.connectorApp.application(identity.entraTenantId, plugin, { reloadSecret });
    const accounts = await application.getTokenCache().getAllAccounts();
    const account = accounts.find((candidate) => candidate.homeAccountId.toLowerCase() === identity.homeAccountId.toLowerCase());
    if (!plugin.loaded() || !account) return 'no-cache';
    const result = await application.acquireTokenSilent({ account, scopes: [scope], forceRefresh });
    if (!result?.accessToken) throw new EntraAuthError('EntraError', 'Entra returned no access token.');
    return { token: new SecretString(result.accessToken), expiresOn: result.expiresOn ?? undefined };
  }

  async function acquireEwsTokenWithDetails(user: DelegatedUserRef, options: { readonly forceRefresh?: boolean } = {}, scope: string = deps.connectorApp.ewsDelegatedScope): Promise<DelegatedEwsToken> {
    const identity = await resolve(user);
    if (!identity) {
      return fail(user, undefined, 'NotSignedIn', `No user has signed in for ${describeRef(user)}: invite the user and have them sign in.`);
    }
    if (identity.status === 'needsReauthentication') {
      return fail(user, identity, 'AlreadyMarked', identity.lastError?.message ?? 'The user must sign in again.');
    }
    // One memo entry per user and scope: an EWS token must never answer for Graph or the other way round.
    const key = `${memoKey(identity.tenantId, identity.userObjectId)}|${scope}`;
    const held = memo.get(key);
    if (!options.forceRefresh && held?.expiresOn && held.expiresOn.getTime() - now() > RENEW_BEFORE_EXPIRY_IN_MS) {
      return { token: held.token, expiresOn: held.expiresOn, userObjectId: identity.userObjectId };
    }
    const context = { tenantId: identity.entraTenantId, clientId: deps.connectorApp.clientId };
    let outcome: Awaited<ReturnType<typeof silent>>;
    try {
      try {
        outcome = await silent(identity, options.forceRefresh ?? false, false, scope);
      } catch (first: unknown) {
        const entra = toEntraAuthError(first, context);
        // A rotated connector secret: the old one may be gone; read Key Vault again and retry once.
        if (!isClientSecretProblem(entra)) throw entra;
        outcome = await silent(identity, options.forceRefresh ?? false, true, scope);
      }
    } catch (error: unknown) {
      const entra = toEntraAuthError(error, context);
      const reason = reauthenticationReasonOf(entra);
      if (reason) return fail(user, identity, reason, entra.message, entra);
      throw entra;
    }
    if (outcome === 'no-cache') {
      return fail(user, identity, 'NotSignedIn', `No stored sign-in was found for ${describeRef(user)}: the user must sign in again.`);
    }
    memo.set(key, outcome);
    return { ...outcome, userObjectId: identity.userObjectId };
  }

  return {
    acquireEwsTokenWithDetails,
    acquireEwsToken: async (user, options) => (await acquireEwsTokenWithDetails(user, options)).token,
    acquireGraphToken: async (user, options) => (await acquireEwsTokenWithDetails(user, options, `${(options?.resource ?? 'https://graph.microsoft.com').replace(/\/+$/, '')}/.default`)).token,
    forget: forgetUser,
  };
}

/** Bearer credential for createMailboxClient (access 'delegated'): after a 401 the next token is refreshed. */
export function delegatedEwsCredential(provider: DelegatedTokenProvider, user: DelegatedUserRef): EwsCredential {
  return refreshingBearerCredential(({ forceRefresh }) => provider.acquireEwsToken(user, { forceRefresh }));
}
