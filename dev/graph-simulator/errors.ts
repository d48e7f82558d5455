/**
 * Graph's errors: a typed exception carrying the HTTP status and Graph error code, and the JSON
 * body Graph sends ({"error":{"code","message","innerError":{date, request-id, client-request-id}}}).
 */

export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra response headers (Retry-After for 429/503). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'GraphError';
  }
}

export interface GraphErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly innerError: { readonly date: string; readonly 'request-id': string; readonly 'client-request-id': string };
  };
}

export function graphErrorBody(error: GraphError, requestId: string, clientRequestId: string, now: Date): GraphErrorBody {
  return {
    error: {
      code: error.code,
      message: error.message,
      innerError: { date: now.toISOString().replace(/\.\d{3}Z$/, ''), 'request-id': requestId, 'client-request-id': clientRequestId },
    },
  };
}

/** The errors the simulator answers with, one place each (names as Graph spells them). */
export const graphErrors = {
  noToken: () => new GraphError(401, 'InvalidAuthenticationToken', 'Access token is empty.'),
  badToken: (detail: string) => new GraphError(401, 'InvalidAuthenticationToken', detail),
  accessDenied: (detail = 'Access is denied. Check credentials and try again.') => new GraphError(403, 'ErrorAccessDenied', detail),
  invalidUser: (user: string) => new GraphError(404, 'ErrorInvalidUser', `The requested user '${user}' is invalid.`),
  restDisabled: () => new GraphError(404, 'MailboxNotEnabledForRESTAPI', 'The mailbox is either inactive, soft-deleted, or is hosted on-premise.'),
  itemNotFound: () => new GraphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.'),
  folderNotFound: () => new GraphError(404, 'ErrorItemNotFound', 'The specified folder could not be found in the store.'),
  invalidId: () => new GraphError(400, 'ErrorInvalidIdMalformed', 'Id is malformed.'),
  noRoute: (method: string, path: string) => new GraphError(400, 'BadRequest', `Resource not found for the segment '${path.split('/').filter(Boolean).pop() ?? ''}' (${method}).`),
  methodNotAllowed: () => new GraphError(405, 'Request_BadRequest', 'The HTTP method is not allowed on this resource.'),
  badRequest: (detail: string, code = 'BadRequest') => new GraphError(400, code, detail),
  syncStateNotFound: () => new GraphError(410, 'SyncStateNotFound', 'The sync state generation is not found. The delta token is expired or not valid; start a full synchronization.'),
  mailboxConcurrency: (retryAfterInSeconds: number) =>
    new GraphError(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', { 'retry-after': String(retryAfterInSeconds) }),
  requestLimit: (retryAfterInSeconds: number) =>
    new GraphError(429, 'ApplicationThrottled', 'Application is over its RequestLimit (10,000 requests per 10 minutes for this mailbox).', { 'retry-after': String(retryAfterInSeconds) }),
  throttled: (retryAfterInSeconds: number) => new GraphError(429, 'TooManyRequests', 'Too many requests.', { 'retry-after': String(retryAfterInSeconds) }),
  serviceUnavailable: (retryAfterInSeconds?: number) =>
    new GraphError(503, 'ServiceNotAvailable', 'The service is temporarily unavailable. Try again later.', retryAfterInSeconds !== undefined ? { 'retry-after': String(retryAfterInSeconds) } : {}),
  gatewayTimeout: () => new GraphError(504, 'UnknownError', 'The gateway timed out waiting for the mailbox server.'),
  internal: () => new GraphError(500, 'InternalServerError', 'An internal server error occurred.'),
} as const;
