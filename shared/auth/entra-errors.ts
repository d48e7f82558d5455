/**
 * Entra ID (AADSTS) failures as typed errors with a message an administrator can act on.
 * MSAL reports Entra's answer as AuthError/ServerError: `errorCode` is the OAuth error
 * (invalid_client, invalid_grant, ...), `errorNo` the first of Entra's error_codes, and the
 * `AADSTS<n>:` prefix of `errorMessage` names the precise reason. We map by that number.
 */

export type EntraErrorCode =
  | 'InvalidClientSecret'
  | 'ClientSecretExpired'
  | 'MissingClientCredential'
  | 'InvalidClientCertificate'
  | 'AppNotFoundOrNotConsented'
  | 'AppDisabled'
  | 'ResourceNotFound'
  | 'TenantNotFound'
  | 'InvalidScope'
  | 'InteractionRequired'
  | 'RefreshTokenInvalid'
  | 'InvalidUserCredentials'
  | 'EntraUnavailable'
  | 'EntraError';

export interface EntraErrorContext {
  readonly tenantId?: string;
  readonly clientId?: string;
}

export class EntraAuthError extends Error {
  readonly code: EntraErrorCode;
  /** Entra's AADSTS number, when it sent one. */
  readonly aadsts: number | undefined;
  /** The OAuth error (invalid_client, invalid_grant, ...) or MSAL's client error code. */
  readonly oauthError: string | undefined;
  /** True when trying again later may work without anyone changing anything. */
  readonly transient: boolean;

  constructor(code: EntraErrorCode, message: string, details: { aadsts?: number; oauthError?: string; transient?: boolean; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'EntraAuthError';
    this.code = code;
    this.aadsts = details.aadsts;
    this.oauthError = details.oauthError;
    this.transient = details.transient ?? false;
  }
}

const AADSTS_CODES: Readonly<Record<number, EntraErrorCode>> = {
  7000215: 'InvalidClientSecret',
  7000222: 'ClientSecretExpired',
  7000218: 'MissingClientCredential',
  700027: 'InvalidClientCertificate',
  700024: 'InvalidClientCertificate',
  7000274: 'InvalidClientCertificate',
  50027: 'InvalidClientCertificate',
  700212: 'InvalidClientCertificate',
  50105: 'InvalidClientCertificate',
  700016: 'AppNotFoundOrNotConsented',
  65001: 'AppNotFoundOrNotConsented',
  90094: 'AppNotFoundOrNotConsented',
  7000112: 'AppDisabled',
  500011: 'ResourceNotFound',
  90002: 'TenantNotFound',
  900023: 'TenantNotFound',
  90023: 'TenantNotFound',
  70011: 'InvalidScope',
  1002012: 'InvalidScope',
  50076: 'InteractionRequired',
  50079: 'InteractionRequired',
  50078: 'InteractionRequired',
  50158: 'InteractionRequired',
  53003: 'InteractionRequired',
  70008: 'RefreshTokenInvalid',
  700082: 'RefreshTokenInvalid',
  50173: 'RefreshTokenInvalid',
  54005: 'RefreshTokenInvalid',
  70000: 'RefreshTokenInvalid',
  50126: 'InvalidUserCredentials',
  50034: 'InvalidUserCredentials',
  50057: 'InvalidUserCredentials',
  50055: 'InvalidUserCredentials',
};

function describe(code: EntraErrorCode, context: EntraErrorContext): string {
  const app = context.clientId ? `app ${context.clientId}` : 'the app';
  const tenant = context.tenantId ? `tenant ${context.tenantId}` : 'the tenant';
  switch (code) {
    case 'InvalidClientSecret':
      return `Entra rejected the client secret of ${app}. Store the secret's Value (not its Secret ID), or create a new client secret and store it again.`;
    case 'ClientSecretExpired':
      return `The client secret of ${app} has expired. Create a new client secret in the app registration and store it again.`;
    case 'MissingClientCredential':
      return `No client secret or certificate was sent for ${app}. Configure one of them.`;
    case 'InvalidClientCertificate':
      return `Entra rejected the certificate credential of ${app}: the certificate is not registered on the app, has expired, or the private key does not match the thumbprint. Upload the certificate to the app registration or store the matching key.`;
    case 'AppNotFoundOrNotConsented':
      return `${app} is not available in ${tenant}: an administrator of that tenant must grant admin consent to it (or the tenant id is wrong).`;
    case 'AppDisabled':
      return `${app} is disabled in ${tenant}. An administrator of that tenant must enable it.`;
    case 'ResourceNotFound':
      return `The requested resource (e.g. Exchange Online) does not exist in ${tenant}, or ${app} was not consented for it.`;
    case 'TenantNotFound':
      return `${tenant} was not found in Entra ID. Check the tenant id or domain.`;
    case 'InvalidScope':
      return `The scope requested for ${app} is not valid (app-only tokens need '<resource>/.default').`;
    case 'InteractionRequired':
      return 'The user must sign in again interactively (multi-factor authentication or a conditional-access policy requires it).';
    case 'RefreshTokenInvalid':
      return "The user's sign-in has expired or was revoked (e.g. a password change). The user must sign in again.";
    case 'InvalidUserCredentials':
      return 'The user name or password was not accepted, or the account is disabled.';
    case 'EntraUnavailable':
      return 'Entra ID could not be reached or failed; try again later.';
    case 'EntraError':
      return `Entra ID refused the token request for ${app} in ${tenant}.`;
  }
}

function fieldOf(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

function stringField(value: unknown, name: string): string | undefined {
  const field = fieldOf(value, name);
  return typeof field === 'string' && field !== '' ? field : undefined;
}

/** The AADSTS number of an MSAL error: `errorNo`, else the `AADSTS<n>` in its message. */
export function aadstsNumber(error: unknown): number | undefined {
  const errorNo = fieldOf(error, 'errorNo');
  if ((typeof errorNo === 'string' || typeof errorNo === 'number') && /^\d+$/.test(String(errorNo))) return Number(errorNo);
  const text = `${stringField(error, 'errorMessage') ?? ''} ${stringField(error, 'message') ?? ''}`;
  const match = /AADSTS(\d+)/.exec(text);
  return match ? Number(match[1]) : undefined;
}

const TRANSIENT_CLIENT_ERRORS = new Set(['network_error', 'endpoints_resolution_error', 'openid_config_error', 'get_network_response_error', 'request_cannot_be_made']);

/** Maps what MSAL threw to an EntraAuthError with an actionable message. The original stays as `cause`. */
export function toEntraAuthError(error: unknown, context: EntraErrorContext = {}): EntraAuthError {
  if (error instanceof EntraAuthError) return error;
  const aadsts = aadstsNumber(error);
  const oauthError = stringField(error, 'errorCode');
  const status = fieldOf(error, 'status');
  const mapped = aadsts !== undefined ? AADSTS_CODES[aadsts] : undefined;
  const serverFailed = typeof status === 'number' && (status >= 500 || status === 429);
  let code: EntraErrorCode = mapped ?? 'EntraError';
  if (!mapped) {
    if (oauthError === 'interaction_required' || oauthError === 'consent_required' || oauthError === 'login_required') code = 'InteractionRequired';
    else if (serverFailed || (oauthError !== undefined && TRANSIENT_CLIENT_ERRORS.has(oauthError)) || oauthError === 'temporarily_unavailable') code = 'EntraUnavailable';
  }
  const reason = aadsts !== undefined ? ` (AADSTS${aadsts}${oauthError ? `, ${oauthError}` : ''})` : oauthError ? ` (${oauthError})` : '';
  return new EntraAuthError(code, describe(code, context) + reason, {
    ...(aadsts !== undefined ? { aadsts } : {}),
    ...(oauthError !== undefined ? { oauthError } : {}),
    transient: code === 'EntraUnavailable',
    cause: error,
  });
}
