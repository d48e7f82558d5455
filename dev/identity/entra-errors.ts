import { randomUUID } from 'node:crypto';

/** OAuth error kinds Entra puts in `error`. */
export type OAuthErrorKind =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'invalid_scope'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'interaction_required'
  | 'consent_required'
  | 'access_denied'
  | 'invalid_tenant'
  | 'invalid_resource'
  | 'temporarily_unavailable';

/**
 * An error the token endpoint answers the way Entra does: the AADSTS code leads the
 * description and repeats in error_codes. `suberror` is what Entra adds for some
 * invalid_grant cases (e.g. basic_action, consent_required) so clients can react.
 */
export class EntraProtocolError extends Error {
  constructor(
    readonly error: OAuthErrorKind,
    readonly aadstsCode: number,
    readonly description: string,
    readonly status: number = error === 'invalid_client' ? 401 : 400,
    readonly suberror?: string,
  ) {
    super(`AADSTS${aadstsCode}: ${description}`);
    this.name = 'EntraProtocolError';
  }

  /** The JSON body Entra returns. */
  toResponseBody(): Record<string, unknown> {
    const traceId = randomUUID();
    const correlationId = randomUUID();
    const timestamp = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
    return {
      error: this.error,
      error_description: `AADSTS${this.aadstsCode}: ${this.description}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
      error_codes: [this.aadstsCode],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${this.aadstsCode}`,
      ...(this.suberror ? { suberror: this.suberror } : {}),
    };
  }
}

/** The AADSTS catalogue the dev IdP uses, one place, worded after Entra's messages. */
export const entraErrors = {
  tenantNotFound: (tenant: string) =>
    new EntraProtocolError('invalid_tenant', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`),
  tenantRequiredForAppOnly: (tenant: string) =>
    new EntraProtocolError('invalid_request', 900023, `Specified tenant identifier '${tenant}' is neither a valid DNS name, nor a valid external domain. Client credentials need a specific tenant.`),
  missingParameter: (name: string) =>
    new EntraProtocolError('invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`),
  missingClientCredential: () =>
    new EntraProtocolError('invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."),
  unsupportedGrantType: (grantType: string) =>
    new EntraProtocolError('unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grantType}'.`),
  appNotFoundInDirectory: (appId: string, tenantName: string) =>
    new EntraProtocolError(
      'unauthorized_client',
      700016,
      `Application with identifier '${appId}' was not found in the directory '${tenantName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    ),
  invalidClientSecret: (appId: string) =>
    new EntraProtocolError('invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${appId}'.`),
  expiredClientSecret: (appId: string, keyId: string) =>
    new EntraProtocolError('invalid_client', 7000222, `The provided client secret keys for app '${appId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds. (keyId ${keyId})`),
  assertionMalformed: (detail: string) =>
    new EntraProtocolError('invalid_client', 50027, `JWT token is invalid or malformed. ${detail}`),
  assertionCertificateUnknown: (thumbprint: string, appId: string) =>
    new EntraProtocolError('invalid_client', 700027, `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${appId}'.]`),
  assertionSignatureInvalid: () =>
    new EntraProtocolError('invalid_client', 700027, 'Client assertion failed signature validation.'),
  assertionAudienceInvalid: (audience: string) =>
    new EntraProtocolError('invalid_client', 700212, `The audience '${audience}' of the client assertion is not the token endpoint of this tenant.`),
  assertionIssuerInvalid: () =>
    new EntraProtocolError('invalid_client', 50105, 'The client assertion must carry iss and sub equal to the client id.'),
  assertionExpired: () =>
    new EntraProtocolError('invalid_client', 700024, 'Client assertion is not within its valid time range.'),
  certificateExpired: (appId: string) =>
    new EntraProtocolError('invalid_client', 7000274, `The certificate used to sign the client assertion for app '${appId}' has expired.`),
  invalidScope: (scope: string, detail = '') =>
    new EntraProtocolError('invalid_scope', 70011, `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.${detail ? ' ' + detail : ''}`),
  clientCredentialsNeedDefault: (scope: string) =>
    new EntraProtocolError('invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`),
  resourceNotFound: (resource: string, tenantName: string) =>
    new EntraProtocolError('invalid_resource', 500011, `The resource principal named ${resource} was not found in the tenant named ${tenantName}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`),
  codeInvalid: () =>
    new EntraProtocolError('invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid. (The authorization code is not recognised.)'),
  codeExpired: () =>
    new EntraProtocolError('invalid_grant', 70008, 'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.'),
  spaRedemptionNeedsOrigin: () =>
    new EntraProtocolError('invalid_request', 9002327, "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests."),
  crossOriginRedemptionNotSpa: () =>
    new EntraProtocolError('invalid_request', 9002326, "Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type."),
  codeRedeemed: () =>
    new EntraProtocolError('invalid_grant', 54005, 'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.'),
  codeClientMismatch: () =>
    new EntraProtocolError('invalid_grant', 70000, 'Provided grant is invalid or malformed. The code was issued to a different client.'),
  redirectUriMismatch: (redirectUri: string) =>
    new EntraProtocolError('invalid_grant', 500112, `The reply address '${redirectUri}' does not match the reply address that was used when the authorization code was requested.`),
  pkceVerifierMismatch: () =>
    new EntraProtocolError('invalid_grant', 501481, 'The Code_Verifier does not match the code_challenge supplied in the authorization request.'),
  pkceVerifierMissing: () =>
    new EntraProtocolError('invalid_request', 501491, "The request body must contain the following parameter: 'code_verifier'. (The authorization request carried a code_challenge.)"),
  refreshTokenInvalid: () =>
    new EntraProtocolError('invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid. (The refresh token is not recognised.)'),
  refreshTokenExpired: () =>
    new EntraProtocolError('invalid_grant', 700082, 'The refresh token has expired due to inactivity. The token was issued on a date more than the allowed maximum inactive time ago.'),
  refreshTokenRevoked: (issuedAtMs: number, validFromMs: number) =>
    new EntraProtocolError(
      'invalid_grant',
      50173,
      `The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '${new Date(issuedAtMs).toISOString()}' and the TokensValidFrom date (before which tokens are not valid) for this user is '${new Date(validFromMs).toISOString()}'.`,
    ),
  refreshTokenClientMismatch: () =>
    new EntraProtocolError('invalid_grant', 70000, 'Provided grant is invalid or malformed. The refresh token was issued to a different client.'),
  consentRequired: (appId: string, appName: string) =>
    new EntraProtocolError(
      'invalid_grant',
      65001,
      `The user or administrator has not consented to use the application with ID '${appId}' named '${appName}'. Send an interactive authorization request for this user and resource.`,
      400,
      'consent_required',
    ),
  interactionRequired: (code: 50076 | 50079) =>
    new EntraProtocolError(
      'invalid_grant',
      code,
      code === 50076
        ? 'Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource.'
        : 'Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access the resource.',
      400,
      'basic_action',
    ),
  invalidCredentials: () =>
    new EntraProtocolError('invalid_grant', 50126, 'Error validating credentials due to invalid username or password.'),
  userNotFound: (upn: string, tenantName: string) =>
    new EntraProtocolError('invalid_grant', 50034, `The user account ${upn} does not exist in the ${tenantName} directory. To sign into this application, the account must be added to the directory.`),
  redirectUriNotRegistered: (redirectUri: string, appId: string) =>
    new EntraProtocolError('invalid_request', 50011, `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${appId}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.`),
  userDeclinedConsent: () =>
    new EntraProtocolError('access_denied', 65004, 'User declined to consent to access the app.'),
  adminApprovalRequired: (appName: string) =>
    new EntraProtocolError('access_denied', 90094, `The grant requires admin permission. ${appName} needs permission to access resources in your organization that only an admin can grant.`),
} satisfies Record<string, (...args: never[]) => EntraProtocolError>;
