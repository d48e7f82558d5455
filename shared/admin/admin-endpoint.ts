import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { HttpProblem, problemResponse, validationProblem } from '../http/problem';
import type { FieldProblem } from '../http/problem';
import { invocationLogger } from '../logging';
import type { Logger } from '../logging';
import { StorageError } from '../storage';
import type { AdminDependencies } from './admin-dependencies';
import { fieldProblemsOf } from './field-problems';
import { groupNotFound } from './group-service';
import { mailboxNotFound } from './mailbox-service';
import type { AdminPrincipal } from './principal';
import { tenantNotFound } from './principal';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Requests larger than this are refused with 413 before parsing (bulk import raises it). */
export const DEFAULT_MAX_BODY_BYTES = 256 * 1024;

export interface OperationInput<Q, B> {
  readonly principal: AdminPrincipal;
  readonly params: Readonly<Record<RouteParam, string>>;
  readonly query: Q;
  readonly body: B;
  /** The If-Match header, when sent: the ETag the caller last read. */
  readonly ifMatch: string | undefined;
  readonly deps: AdminDependencies;
  readonly log: Logger;
}

export interface OperationResult {
  readonly status: number;
  readonly body?: unknown;
  readonly etag?: string;
  /** For 201: path under /api of the created resource. */
  readonly location?: string;
}

export interface ResponseDescription {
  readonly description: string;
  readonly schema?: z.ZodType;
}

/** What the OpenAPI document needs to know about an operation. */
export interface OperationDescription {
  readonly operationId: string;
  readonly method: HttpMethod;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  readonly maxBodyBytes: number;
  readonly responses: Readonly<Record<number, ResponseDescription>>;
  /** Anonymous operations skip the bearer token check (only the OpenAPI document). */
  readonly anonymous: boolean;
}

export interface AdminOperation {
  readonly description: OperationDescription;
  run(request: HttpRequest, context: RunContext): Promise<OperationResult>;
}

export interface RunContext {
  readonly principal: AdminPrincipal;
  readonly params: Readonly<Record<RouteParam, string>>;
  readonly deps: AdminDependencies;
  readonly log: Logger;
}

export interface OperationSpec<Q, B> extends Omit<OperationDescription, 'query' | 'body' | 'maxBodyBytes' | 'anonymous'> {
  readonly query?: z.ZodType<Q>;
  readonly body?: z.ZodType<B>;
  readonly maxBodyBytes?: number;
  /**
   * The rules that span fields, run on the raw body when the schema already failed, so one
   * answer names every field at fault (the handler runs them again on the parsed body).
   */
  readonly crossFieldProblems?: (raw: unknown, context: RunContext) => Promise<readonly FieldProblem[]> | readonly FieldProblem[];
  handle(input: OperationInput<Q, B>): Promise<OperationResult>;
}

/** Declares one operation: its schemas (validated here, and published in OpenAPI) and its handler. */
export function operation<Q = undefined, B = undefined>(spec: OperationSpec<Q, B>): AdminOperation {
  const maxBodyBytes = spec.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const { handle, crossFieldProblems, ...described } = spec;
  return {
    description: { ...described, maxBodyBytes, anonymous: false },
    async run(request, context) {
      const query = spec.query ? parseQuery(spec.query, request.query) : (undefined as Q);
      const body = spec.body ? await parseBody(spec.body, request, maxBodyBytes, async (raw) => (await crossFieldProblems?.(raw, context)) ?? []) : (undefined as B);
      const ifMatch = request.headers.get('if-match') ?? undefined;
      return handle({ ...context, query, body, ifMatch });
    },
  };
}

// ---- Route parameters --------------------------------------------------------------------

export type RouteParam = 'tenantId' | 'groupId' | 'mailbox' | 'deadLetterId' | 'operationId';

const PARAM_RULES: Record<RouteParam, { schema: z.ZodType<string>; notFound: () => HttpProblem }> = {
  tenantId: { schema: z.uuid(), notFound: tenantNotFound },
  groupId: { schema: z.uuid(), notFound: groupNotFound },
  mailbox: { schema: z.email().max(320), notFound: mailboxNotFound },
  // Dead letters (shared/storage/dead-letter-repository.ts): newest-first row keys.
  // Write-API operations (shared/write): ids the connector hands out.
  operationId: { schema: z.uuid(), notFound: () => new HttpProblem(404, 'OperationNotFound', 'Operation not found', 'No write operation with this ID exists for the mailbox.') },
  deadLetterId: { schema: z.string().regex(/^\d{16}_[0-9a-z]{1,16}$/i), notFound: () => new HttpProblem(404, 'DeadLetterNotFound', 'Dead letter not found', 'No dead letter with this ID exists in the tenant.') },
};

/**
 * IDs in the path are checked before anything else touches them; a malformed ID cannot name
 * anything, so it answers 404 exactly as an unknown one does.
 */
function parseParams(names: readonly RouteParam[], raw: Readonly<Record<string, string>>): Record<RouteParam, string> {
  const params = {} as Record<RouteParam, string>;
  for (const name of names) {
    const rule = PARAM_RULES[name];
    let value = raw[name] ?? '';
    // Hosts differ in whether they decode %XX in route values; an SMTP address never needs it.
    if (name === 'mailbox' && /%[0-9a-f]{2}/i.test(value)) {
      try {
        value = decodeURIComponent(value);
      } catch {
        throw rule.notFound();
      }
    }
    const parsed = rule.schema.safeParse(value);
    if (!parsed.success) throw rule.notFound();
    params[name] = parsed.data.toLowerCase();
  }
  return params;
}

// ---- Query and body ----------------------------------------------------------------------

function parseQuery<Q>(schema: z.ZodType<Q>, query: URLSearchParams): Q {
  const raw: Record<string, string> = {};
  for (const [key, value] of query) raw[key] = value;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw validationProblem(fieldProblemsOf(parsed.error));
  return parsed.data;
}

function isJsonContentType(value: string | null): boolean {
  if (!value) return false;
  const mediaType = value.split(';')[0]?.trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType);
}

function payloadTooLarge(maxBodyBytes: number): HttpProblem {
  return new HttpProblem(413, 'PayloadTooLarge', 'Request body too large', `The body may be at most ${maxBodyBytes} bytes.`);
}

async function parseBody<B>(schema: z.ZodType<B>, request: HttpRequest, maxBodyBytes: number, crossFieldProblems: (raw: unknown) => Promise<readonly FieldProblem[]>): Promise<B> {
  const declaredLength = Number(request.headers.get('content-length') ?? '0');
  if (Number.isFinite(declaredLength) && declaredLength > maxBodyBytes) throw payloadTooLarge(maxBodyBytes);
  const bytes = Buffer.from(await request.arrayBuffer());
  if (bytes.length > maxBodyBytes) throw payloadTooLarge(maxBodyBytes);
  if (bytes.length === 0) throw validationProblem([{ pointer: '', detail: 'a JSON body is required' }]);
  if (!isJsonContentType(request.headers.get('content-type'))) {
    throw new HttpProblem(415, 'UnsupportedMediaType', 'Unsupported media type', 'Send the body as application/json.');
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new HttpProblem(400, 'InvalidJson', 'The body is not valid JSON', 'Send a UTF-8 encoded JSON document.', [{ pointer: '', detail: 'is not valid JSON' }]);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw validationProblem(withoutOverlaps(fieldProblemsOf(parsed.error), await crossFieldProblems(json)));
  return parsed.data;
}

/** Cross-field problems about a field the schema already faulted (or inside it) would say the same twice. */
function withoutOverlaps(schemaProblems: readonly FieldProblem[], more: readonly FieldProblem[]): FieldProblem[] {
  const related = (a: string, b: string) => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
  return [...schemaProblems, ...more.filter((extra) => !schemaProblems.some((known) => related(known.pointer, extra.pointer)))];
}

// ---- Errors --------------------------------------------------------------------------------

/** Errors from the token validator carry `code` Unauthorized or Forbidden and a reason safe to show. */
function authenticationProblem(error: unknown): HttpProblem | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  const reason = error instanceof Error ? error.message : undefined;
  if (code === 'Unauthorized') return new HttpProblem(401, 'Unauthorized', 'Authentication required', reason ?? 'Send an Entra access token for the admin API as a Bearer token.');
  if (code === 'AuthorityUnavailable') return new HttpProblem(503, 'AuthorityUnavailable', 'Token validation unavailable', 'The token issuer\'s signing keys could not be fetched; try again shortly.');
  if (code === 'Forbidden') return new HttpProblem(403, 'Forbidden', 'Admin role required', reason ?? 'The token has no Connector.Admin or Connector.TenantAdmin role.');
  return undefined;
}

function storageProblem(error: StorageError): HttpProblem {
  switch (error.code) {
    case 'NotFound':
      return new HttpProblem(404, 'NotFound', 'Not found', 'The resource does not exist (it may have just been deleted).');
    case 'Conflict':
      return new HttpProblem(409, 'Conflict', 'Conflict', error.message);
    case 'PreconditionFailed':
      return new HttpProblem(412, 'PreconditionFailed', 'The resource has changed', 'Fetch the resource again and reapply your change.');
    case 'InvalidContinuationToken':
      return validationProblem([{ pointer: '/continuationToken', detail: 'is not a token this API handed out' }]);
  }
}

function secretStoreProblem(error: unknown): HttpProblem | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('Secret')) return undefined;
  return new HttpProblem(503, 'SecretStoreUnavailable', 'Key Vault is not available', 'The credential could not be stored in Key Vault right now; try again. Nothing was changed.');
}

// ---- The Functions handler -----------------------------------------------------------------

export interface AdminRoute {
  /** Function name (unique in the app). */
  readonly name: string;
  /** Route template under the host's prefix, e.g. admin/tenants/{tenantId}. */
  readonly route: string;
  readonly params: readonly RouteParam[];
  readonly operations: readonly AdminOperation[];
}

function json(result: OperationResult, requestUrl: string): HttpResponseInit {
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (result.etag) headers.etag = result.etag;
  if (result.location) headers.location = new URL(result.location, requestUrl).href;
  if (result.body === undefined) return { status: result.status, headers };
  return { status: result.status, headers: { ...headers, 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(result.body) };
}

/**
 * One Functions handler per route, dispatching on the method. Order: bearer token first (so
 * anonymous callers learn nothing), then route IDs, query and body; every failure becomes
 * an RFC 9457 problem. Unexpected errors are logged (redacted) and answered with a bare 500.
 */
export function adminHttpHandler(route: AdminRoute, dependencies: () => Promise<AdminDependencies>): HttpHandler {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const instance = new URL(request.url).pathname;
    const log = invocationLogger(context);
    const op = route.operations.find((candidate) => candidate.description.method === request.method.toUpperCase());
    try {
      if (!op) {
        const allow = route.operations.map((candidate) => candidate.description.method).join(', ');
        return problemResponse(new HttpProblem(405, 'MethodNotAllowed', 'Method not allowed', `Use ${allow}.`), instance, { allow });
      }
      const deps = await dependencies();
      let principal: AdminPrincipal;
      try {
        principal = await deps.authenticator.validate(request.headers.get('authorization') ?? undefined);
      } catch (error) {
        const problem = authenticationProblem(error);
        if (!problem) throw error;
        // RFC 6750: no error code when no token was sent at all.
        const sentToken = request.headers.has('authorization');
        const challenge: Record<string, string> =
          problem.status === 401 ? { 'www-authenticate': `Bearer realm="exchange-connector"${sentToken ? ', error="invalid_token"' : ''}` } : {};
        log.info('admin request refused', { method: request.method, route: route.route, status: problem.status });
        return problemResponse(problem, instance, challenge);
      }
      const params = parseParams(route.params, request.params);
      const scoped = log.with({ tenantId: params.tenantId, groupId: params.groupId, actor: principal.objectId });
      const result = await op.run(request, { principal, params, deps, log: scoped });
      // One line per call: changes at info, reads at debug (a console polling the API stays quiet).
      const line = { method: request.method, route: route.route, status: result.status };
      if (request.method === 'GET') scoped.debug('admin request', line);
      else scoped.info('admin request', line);
      return json(result, request.url);
    } catch (error) {
      const problem =
        error instanceof HttpProblem ? error : error instanceof StorageError ? storageProblem(error) : secretStoreProblem(error);
      if (problem) {
        if (problem.status === 503) log.warn('admin request failed on a dependency', { route: route.route, error });
        return problemResponse(problem, instance);
      }
      log.error('admin request failed', { method: request.method, route: route.route, error });
      return problemResponse(new HttpProblem(500, 'InternalError', 'Internal error', 'The request failed unexpectedly; it has been logged.'), instance);
    }
  };
}
