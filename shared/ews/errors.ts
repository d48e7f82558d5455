/**
 * Typed EWS failures. Every failure that leaves shared/ews is one of these classes, each
 * carrying a stable `code` (Exchange's response code name where Exchange gave one) so callers
 * branch on names, never on message text. The classification itself lives in error-classifier.ts.
 */

/** Exchange response codes the product reacts to by name; any other Exchange code passes through as a string. */
export type KnownEwsResponseCode =
  | 'ErrorAccessDenied'
  | 'ErrorAccountDisabled'
  | 'ErrorBatchProcessingStopped'
  | 'ErrorConnectionFailed'
  | 'ErrorExceededConnectionCount'
  | 'ErrorImpersonateUserDenied'
  | 'ErrorImpersonationDenied'
  | 'ErrorInternalServerError'
  | 'ErrorInternalServerTransientError'
  | 'ErrorInvalidIdMalformed'
  | 'ErrorInvalidSyncStateData'
  | 'ErrorItemNotFound'
  | 'ErrorFolderNotFound'
  | 'ErrorMailboxMoveInProgress'
  | 'ErrorMailboxStoreUnavailable'
  | 'ErrorNonExistentMailbox'
  | 'ErrorPasswordExpired'
  | 'ErrorSchemaValidation'
  | 'ErrorServerBusy'
  | 'ErrorSyncFolderNotFound'
  | 'ErrorTimeoutExpired'
  | 'ErrorTooManyObjectsOpened';

// `string & {}` keeps editor completion for the known names while accepting any other code.
export type EwsResponseCode = KnownEwsResponseCode | (string & {});

/** What kind of failure it was; the throttling policy decides on this first. */
export type EwsErrorKind =
  | 'response'
  | 'authentication'
  | 'throttled'
  | 'unavailable'
  | 'disabled'
  | 'tls'
  | 'endpointNotFound'
  | 'protocol'
  | 'configuration';

export interface EwsErrorOptions {
  readonly httpStatus?: number;
  readonly cause?: unknown;
}

/** Base of every EWS failure. `code` is stable and machine-readable; `message` is for people. */
export abstract class EwsError extends Error {
  abstract readonly kind: EwsErrorKind;
  readonly code: string;
  readonly httpStatus: number | undefined;

  protected constructor(code: string, message: string, options: EwsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.httpStatus = options.httpStatus;
  }
}

/** Exchange answered with a response code (a SOAP fault or an error response message) for the whole request. */
export class EwsResponseError extends EwsError {
  readonly kind = 'response' as const;
  declare readonly code: EwsResponseCode;
  /** Name/value pairs from Exchange's MessageXml, when it sent any. */
  readonly details: Readonly<Record<string, string>>;

  constructor(code: EwsResponseCode, message: string, details: Readonly<Record<string, string>> = {}, options: EwsErrorOptions = {}) {
    super(code, message, options);
    this.details = details;
  }
}

/** 401: credentials missing, wrong or not accepted for this mailbox. `schemes` are the WWW-Authenticate schemes the server offers. */
export class EwsAuthenticationError extends EwsError {
  readonly kind = 'authentication' as const;
  readonly schemes: readonly string[];
  /** Exchange's x-ms-diagnostics header (reason text for bearer failures), when present. */
  readonly diagnostics: string | undefined;

  constructor(message: string, schemes: readonly string[], diagnostics?: string, options: EwsErrorOptions = {}) {
    super('Unauthorized', message, { httpStatus: 401, ...options });
    this.schemes = schemes;
    this.diagnostics = diagnostics;
  }
}

/**
 * The credential could not produce what the request needs, before anything reached Exchange: a
 * Kerberos KDC refused the service account's key, or knows no such SPN. `code` is the credential
 * source's own (InvalidCredentials, UnknownServicePrincipal, UnknownPrincipal, ClockSkew,
 * InvalidKeytab, KerberosUnavailable, ...); someone must act, so it is never retried.
 */
export class EwsCredentialError extends EwsError {
  readonly kind = 'authentication' as const;

  constructor(code: string, message: string) {
    super(code, message);
  }
}

/**
 * Exchange asked us to slow down: ErrorServerBusy (with BackOffMilliseconds), ErrorExceededConnectionCount,
 * HTTP 429 (Retry-After) or HTTP 503. `retryAfterInMs` is what the server asked for, when it said.
 */
export class EwsThrottledError extends EwsError {
  readonly kind = 'throttled' as const;
  readonly retryAfterInMs: number | undefined;

  constructor(code: 'ErrorServerBusy' | 'ErrorExceededConnectionCount' | 'TooManyRequests' | 'ServiceUnavailable', message: string, retryAfterInMs: number | undefined, options: EwsErrorOptions = {}) {
    super(code, message, options);
    this.retryAfterInMs = retryAfterInMs;
  }
}

export type EwsUnavailableCode = 'ServerError' | 'ConnectionRefused' | 'ConnectionReset' | 'Timeout' | 'DnsTemporaryFailure' | 'NetworkError';

/** The server could not be reached or failed (5xx, reset, refused, timeout): worth retrying later. */
export class EwsUnavailableError extends EwsError {
  readonly kind = 'unavailable' as const;
  declare readonly code: EwsUnavailableCode;

  constructor(code: EwsUnavailableCode, message: string, options: EwsErrorOptions = {}) {
    super(code, message, options);
  }
}

/** EWS is switched off or blocked for this organisation or application (HTTP 403 from the EWS endpoint). */
export class EwsDisabledError extends EwsError {
  readonly kind = 'disabled' as const;

  constructor(message: string, options: EwsErrorOptions = {}) {
    super('EwsDisabled', message, options);
  }
}

/** The TLS handshake failed: untrusted or expired certificate, name mismatch. Never retried automatically. */
export class EwsTlsError extends EwsError {
  readonly kind = 'tls' as const;

  constructor(tlsCode: string, message: string, options: EwsErrorOptions = {}) {
    super(tlsCode, message, options);
  }
}

/** The EWS URL does not lead to an EWS endpoint: the host is unknown (DNS) or the path answers 404. */
export class EwsEndpointNotFoundError extends EwsError {
  readonly kind = 'endpointNotFound' as const;

  constructor(code: 'HostNotFound' | 'NotFound', message: string, options: EwsErrorOptions = {}) {
    super(code, message, options);
  }
}

/**
 * ProtocolError: unexpected status or unreadable answer. The others are the transport guard's refusals
 * (shared/http/outbound-guard.ts): ResponseTooLarge, UnexpectedContentType, XmlDtdRefused, MalformedResponse.
 */
export type EwsProtocolCode = 'ProtocolError' | 'ResponseTooLarge' | 'UnexpectedContentType' | 'XmlDtdRefused' | 'MalformedResponse' | 'TooManyRedirects' | 'RedirectLoop';

/** The server's answer could not be understood (not SOAP, unexpected status, unparseable XML, too large). */
export class EwsProtocolError extends EwsError {
  readonly kind = 'protocol' as const;
  declare readonly code: EwsProtocolCode;

  constructor(message: string, options: EwsErrorOptions & { readonly code?: EwsProtocolCode } = {}) {
    super(options.code ?? 'ProtocolError', message, options);
  }
}

export type EwsConfigurationCode = 'InsecureEndpoint' | 'InvalidEndpoint' | 'InvalidArgument' | 'UnsupportedAccess' | 'TargetAddressNotAllowed';

/** The call was never sent because our own settings or arguments are wrong. */
export class EwsConfigurationError extends EwsError {
  readonly kind = 'configuration' as const;
  declare readonly code: EwsConfigurationCode;

  constructor(code: EwsConfigurationCode, message: string) {
    super(code, message);
  }
}

export function isEwsError(value: unknown): value is EwsError {
  return value instanceof EwsError;
}
