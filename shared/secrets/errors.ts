/**
 * Typed failures of the secret store. Each carries a stable `code` callers branch on, the secret
 * name (never a value), and for vault answers the HTTP status and Key Vault's own error code.
 * The SDK's RestError is deliberately not kept as `cause`: it holds the request, whose body can
 * be a secret value.
 */
export type SecretStoreErrorCode =
  | 'SecretNotFound'
  | 'SecretDisabled'
  | 'SecretNameConflict'
  | 'SecretAccessDenied'
  | 'SecretStoreAuthenticationFailed'
  | 'SecretRequestRejected'
  | 'SecretStoreUnavailable'
  | 'InvalidSecretName';

export interface SecretStoreErrorDetails {
  readonly secretName?: string;
  /** HTTP status Key Vault answered, when it answered. */
  readonly statusCode?: number;
  /** Key Vault's `error.code` (and inner code after a slash), e.g. "Forbidden/SecretDisabled". */
  readonly serviceCode?: string;
}

export class SecretStoreError extends Error {
  readonly secretName?: string;
  readonly statusCode?: number;
  readonly serviceCode?: string;

  constructor(
    readonly code: SecretStoreErrorCode,
    message: string,
    details: SecretStoreErrorDetails = {},
  ) {
    super(message);
    this.name = 'SecretStoreError';
    this.secretName = details.secretName;
    this.statusCode = details.statusCode;
    this.serviceCode = details.serviceCode;
  }
}

/** No such secret, or no such version, or the secret is soft-deleted. */
export class SecretNotFoundError extends SecretStoreError {
  constructor(message: string, details: SecretStoreErrorDetails) {
    super('SecretNotFound', message, details);
    this.name = 'SecretNotFoundError';
  }
}

/** The version exists but is disabled, so Key Vault refuses to return its value. */
export class SecretDisabledError extends SecretStoreError {
  constructor(message: string, details: SecretStoreErrorDetails) {
    super('SecretDisabled', message, details);
    this.name = 'SecretDisabledError';
  }
}

/** The name belongs to a soft-deleted secret (recover or purge it first), or recovery would overwrite a live one. */
export class SecretNameConflictError extends SecretStoreError {
  constructor(message: string, details: SecretStoreErrorDetails) {
    super('SecretNameConflict', message, details);
    this.name = 'SecretNameConflictError';
  }
}

/** Key Vault refused the app's identity (401/403 other than a disabled secret), or the identity could not get a token. */
export class SecretAccessDeniedError extends SecretStoreError {
  constructor(code: 'SecretAccessDenied' | 'SecretStoreAuthenticationFailed', message: string, details: SecretStoreErrorDetails) {
    super(code, message, details);
    this.name = 'SecretAccessDeniedError';
  }
}

/** Key Vault was unreachable, throttled (after the SDK's retries) or failing. Worth retrying later. */
export class SecretStoreUnavailableError extends SecretStoreError {
  constructor(message: string, details: SecretStoreErrorDetails) {
    super('SecretStoreUnavailable', message, details);
    this.name = 'SecretStoreUnavailableError';
  }
}

/** A name that Key Vault would reject (1-127 characters of 0-9, a-z, A-Z and '-'). */
export class InvalidSecretNameError extends SecretStoreError {
  constructor(message: string, secretName?: string) {
    super('InvalidSecretName', message, { secretName });
    this.name = 'InvalidSecretNameError';
  }
}
