/**
 * Typed Microsoft Graph failures. Every failure leaving shared/graph is a GraphServiceError whose
 * `kind` the retry policy and the mailbox source branch on; `code` is Graph's own error code
 * (ErrorItemNotFound, MailboxNotEnabledForRESTAPI, ...) so callers match names, never message text.
 */

export type GraphErrorKind =
  /** 429 (ApplicationThrottled, MailboxConcurrency, ...): slow down, Retry-After says how long. */
  | 'throttled'
  /** 503 / 504 / 500 / network failure / our own timeout: passing trouble. */
  | 'unavailable'
  /** 401 InvalidAuthenticationToken (after one refreshed token). */
  | 'authentication'
  /** 403 ErrorAccessDenied / Authorization_RequestDenied: role missing or outside the app's RBAC scope. */
  | 'accessDenied'
  /** 404 ErrorItemNotFound and friends: an item or folder is gone. */
  | 'notFound'
  /** 404 ErrorInvalidUser / MailboxNotFound / ResourceNotFound on the user. */
  | 'mailboxNotFound'
  /** 404 MailboxNotEnabledForRESTAPI: the mailbox is on-premises or not licensed for Exchange Online. */
  | 'restDisabled'
  /** 410 SyncStateNotFound / resyncRequired, or 400 on a damaged delta token: start the delta over. */
  | 'syncStateInvalid'
  /** A response that is not what Graph documents (hostile or broken server), or a link to a foreign host. */
  | 'protocol'
  /** Our own settings are wrong (endpoint, credential). */
  | 'configuration'
  | 'badRequest'
  | 'unknown';

export interface GraphErrorDetails {
  readonly statusCode?: number | undefined;
  readonly retryAfterInMs?: number | undefined;
  readonly requestId?: string | undefined;
  readonly cause?: unknown;
}

export class GraphServiceError extends Error {
  readonly kind: GraphErrorKind;
  /** Graph's error code, or ours (Timeout, NetworkError, ForeignLink, MalformedResponse). */
  readonly code: string;
  readonly statusCode: number | undefined;
  /** From Retry-After (seconds or an HTTP date), when the server named a delay. */
  readonly retryAfterInMs: number | undefined;
  /** Graph's request-id: quote it to Microsoft support. */
  readonly requestId: string | undefined;

  constructor(kind: GraphErrorKind, code: string, message: string, details: GraphErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'GraphServiceError';
    this.kind = kind;
    this.code = code;
    this.statusCode = details.statusCode;
    this.retryAfterInMs = details.retryAfterInMs;
    this.requestId = details.requestId;
  }
}

/** Graph codes whose meaning does not follow from the status alone. */
const CODE_KINDS: Readonly<Record<string, GraphErrorKind>> = {
  MailboxNotEnabledForRESTAPI: 'restDisabled',
  MailboxNotSupportedForRESTAPI: 'restDisabled',
  ErrorInvalidUser: 'mailboxNotFound',
  MailboxNotFound: 'mailboxNotFound',
  ErrorNonExistentMailbox: 'mailboxNotFound',
  Request_ResourceNotFound: 'mailboxNotFound',
  ErrorItemNotFound: 'notFound',
  ErrorFolderNotFound: 'notFound',
  ResourceNotFound: 'notFound',
  SyncStateNotFound: 'syncStateInvalid',
  SyncStateInvalid: 'syncStateInvalid',
  resyncRequired: 'syncStateInvalid',
  InvalidAuthenticationToken: 'authentication',
  ErrorAccessDenied: 'accessDenied',
  Authorization_RequestDenied: 'accessDenied',
  AccessDenied: 'accessDenied',
  ErrorMailboxStoreUnavailable: 'unavailable',
  ErrorMailboxMoveInProgress: 'unavailable',
  ErrorInternalServerTransientError: 'unavailable',
  ApplicationThrottled: 'throttled',
  MailboxConcurrency: 'throttled',
  TooManyRequests: 'throttled',
};

function kindOfStatus(status: number): GraphErrorKind {
  if (status === 429) return 'throttled';
  if (status === 500 || status === 502 || status === 503 || status === 504) return 'unavailable';
  if (status === 401) return 'authentication';
  if (status === 403) return 'accessDenied';
  if (status === 404) return 'notFound';
  if (status === 410) return 'syncStateInvalid';
  if (status === 400 || status === 405 || status === 409 || status === 412 || status === 413 || status === 422) return 'badRequest';
  return 'unknown';
}

/** Retry-After as seconds or an HTTP date; undefined when absent or nonsense. Capped at one day (a hostile server cannot park a job forever). */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  let delayInMs: number | undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) delayInMs = Math.round(Number(trimmed) * 1000);
  else {
    const at = Date.parse(trimmed);
    if (Number.isFinite(at)) delayInMs = Math.max(0, at - now);
  }
  return delayInMs === undefined ? undefined : Math.min(delayInMs, 86_400_000);
}

interface GraphErrorBody {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly innerError?: { readonly code?: unknown } | undefined;
}

/** The error object of a Graph error body ({"error":{"code","message",...}}), tolerating junk. */
function errorObject(body: unknown): GraphErrorBody | undefined {
  if (typeof body === 'string') {
    try {
      return errorObject(JSON.parse(body) as unknown);
    } catch {
      return undefined;
    }
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const inner = (body as { error?: unknown }).error;
  return typeof inner === 'object' && inner !== null ? (inner as GraphErrorBody) : undefined;
}

/** Keeps server text short and printable: it ends up in mailbox status messages. */
function cleanText(value: unknown, fallback: string): string {
  if (typeof value !== 'string' || value.length === 0) return fallback;
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, 300);
}

/** Maps a Graph error response (status, body, headers) to a GraphServiceError by code name, then by status. */
export function graphErrorFromResponse(status: number, body: unknown, headers: { get(name: string): string | null } | undefined): GraphServiceError {
  const error = errorObject(body);
  const rawCode = typeof error?.code === 'string' && /^[A-Za-z0-9_.-]{1,80}$/.test(error.code) ? error.code : undefined;
  const innerCode = typeof error?.innerError?.code === 'string' ? error.innerError.code : undefined;
  const code = rawCode ?? `Http${status}`;
  let kind = CODE_KINDS[code] ?? (innerCode ? CODE_KINDS[innerCode] : undefined) ?? kindOfStatus(status);
  // A 429 or 503 always means "later", whatever the code says; a 410 always means "start over".
  if (status === 429) kind = 'throttled';
  else if (status === 503 || status === 504) kind = 'unavailable';
  else if (status === 410) kind = 'syncStateInvalid';
  const requestId = headers?.get('request-id') ?? undefined;
  return new GraphServiceError(kind, code, `Graph ${status} ${code}: ${cleanText(error?.message, 'no message')}`, {
    statusCode: status,
    retryAfterInMs: parseRetryAfter(headers?.get('retry-after')),
    ...(requestId ? { requestId: requestId.slice(0, 80) } : {}),
  });
}
