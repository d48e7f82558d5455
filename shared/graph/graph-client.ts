/**
 * A Microsoft Graph client bound to one mailbox, over @microsoft/microsoft-graph-client with our
 * own middleware chain instead of the SDK's default one:
 *
 *   guard + auth  → refuses any URL outside the configured Graph endpoint (a hostile nextLink or
 *                   deltaLink never receives our token), adds the bearer token, and after a 401
 *                   asks once for a fresh token;
 *   transport     → fetch with a timeout on every call (AbortSignal), a client-request-id per call.
 *
 * The SDK's RetryHandler is left out on purpose: it sleeps through 429s inside the function. Retry
 * decisions live in retry-policy.ts and long waits go back to the queue. Failures are
 * GraphServiceError, mapped by Graph's error code name (errors.ts).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type * as GraphSdk from '@microsoft/microsoft-graph-client';

// The Graph SDK is required when the first Graph client is made, not at start-up (cold start, docs/sync.md).
const graphSdk = (): typeof GraphSdk => require('@microsoft/microsoft-graph-client') as typeof GraphSdk;
import type { Context, Middleware } from '@microsoft/microsoft-graph-client';
import type { SecretString } from '../logging/secret-string';
import { GraphServiceError, graphErrorFromResponse } from './errors';
import { SpanKind, withSpan } from '../telemetry/tracing';

/** Where Graph tokens come from (app-only or a delegated user's), refreshed on demand after a 401. */
export type GraphTokenSource = (options: { readonly forceRefresh: boolean }) => Promise<SecretString>;

export interface GraphClientOptions {
  /** Per HTTP call, including reading the body. Default 30,000 ms. */
  readonly timeoutInMs?: number;
  /** Ask for immutable ids (Prefer: IdType="ImmutableId"): ids survive moves between folders. Default true. */
  readonly immutableIds?: boolean;
  /** Injectable fetch (tests with recorded responses). */
  readonly fetch?: typeof fetch;
}

/** One page of a Graph collection or delta query. */
export interface GraphPage<T> {
  readonly value: readonly T[];
  readonly nextLink: string | undefined;
  readonly deltaLink: string | undefined;
}

export interface BatchRequest {
  readonly id: string;
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Relative to the version root, e.g. /users/a@b/messages/ID. */
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  readonly dependsOn?: readonly string[];
}

export interface BatchResponse {
  readonly id: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

/** Graph allows at most 20 requests per JSON batch. */
export const MAX_BATCH_REQUESTS = 20;
/**
 * Exchange Online runs at most 4 requests per app and mailbox at once (MailboxConcurrency); the
 * requests of one batch run in parallel, so a batch against one mailbox carries at most 4 (more
 * would only earn 429s). dependsOn chains are not used for this: one failed request (a 404)
 * would fail every request after it with 424.
 */
export const MAILBOX_CONCURRENCY = 4;
const API_VERSION = 'v1.0';
const FOREIGN_LINK = 'GraphForeignLink';

/**
 * The SDK wraps whatever a middleware throws into a GraphError, losing its type. Token failures
 * (ReauthenticationRequired, Entra errors) must reach the caller as they are, so the middleware
 * parks them here, per call, and the call wrapper rethrows the original.
 */
const tokenFailures = new AsyncLocalStorage<{ error?: unknown }>();

async function tokenFrom(tokens: GraphTokenSource, forceRefresh: boolean): Promise<SecretString> {
  try {
    return await tokens({ forceRefresh });
  } catch (error) {
    const holder = tokenFailures.getStore();
    if (holder) holder.error = error;
    throw error;
  }
}

class ForeignLinkError extends Error {
  constructor(url: string) {
    // Only the origin is named: the rest of a link may carry tokens.
    super(`Refused a Graph link outside the configured endpoint (${safeOrigin(url)})`);
    this.name = FOREIGN_LINK;
  }
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'not a URL';
  }
}

function requestUrl(request: Context['request']): string {
  return typeof request === 'string' ? request : (request as { url: string }).url;
}

function setHeader(context: Context, name: string, value: string): void {
  const options = (context.options ??= {});
  const headers = new Headers(options.headers as ConstructorParameters<typeof Headers>[0]);
  headers.set(name, value);
  options.headers = Object.fromEntries(headers.entries());
}

/** Adds the token only for the configured endpoint; retries once with a fresh token after a 401. */
class GuardAndAuthMiddleware implements Middleware {
  #next: Middleware | undefined;
  constructor(
    private readonly origin: string,
    private readonly tokens: GraphTokenSource,
  ) {}
  setNext(next: Middleware): void {
    this.#next = next;
  }
  async execute(context: Context): Promise<void> {
    const url = requestUrl(context.request);
    if (!url.startsWith(`${this.origin}/${API_VERSION}/`)) throw new ForeignLinkError(url);
    setHeader(context, 'authorization', `Bearer ${(await tokenFrom(this.tokens, false)).reveal()}`);
    await this.#next!.execute(context);
    if (context.response?.status === 401) {
      await context.response.body?.cancel().catch(() => undefined);
      setHeader(context, 'authorization', `Bearer ${(await tokenFrom(this.tokens, true)).reveal()}`);
      await this.#next!.execute(context);
    }
  }
}

/** The last link of the chain: fetch with a deadline. */
class TransportMiddleware implements Middleware {
  constructor(
    private readonly timeoutInMs: number,
    private readonly fetchImpl: typeof fetch,
  ) {}
  async execute(context: Context): Promise<void> {
    setHeader(context, 'client-request-id', randomUUID());
    const url = requestUrl(context.request);
    const method = (context.options?.method ?? 'GET').toUpperCase();
    const route = graphRouteOf(url);
    // One client span per Graph call, named by its route template (ids left out: spans are searched by name).
    await withSpan(`Graph ${method} ${route}`, { kind: SpanKind.CLIENT, attributes: { 'rpc.system': 'graph', 'http.request.method': method, 'url.template': route, 'server.address': new URL(url).hostname } }, async (span) => {
      await this.#send(context, url);
      if (context.response) span.setAttribute('http.response.status_code', context.response.status);
    });
  }

  async #send(context: Context, url: string): Promise<void> {
    const response = await this.fetchImpl(url, { ...(context.options as RequestInit), redirect: 'manual', signal: AbortSignal.timeout(this.timeoutInMs) });
    // A redirect could carry the token elsewhere on the next hop; Graph does not redirect these calls.
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel().catch(() => undefined);
      throw new ForeignLinkError(response.headers.get('location') ?? url);
    }
    // An accepted write (sendMail: 202) has no body, whatever its content-type says; the SDK would try to parse one.
    if (response.ok && (response.status === 202 || response.status === 204 || response.headers.get('content-length') === '0')) {
      const text = await response.text();
      if (text.length === 0) {
        context.response = new Response(null, { status: 204, headers: { 'request-id': response.headers.get('request-id') ?? '' } });
        return;
      }
      context.response = new Response(text, { status: response.status, headers: response.headers });
      return;
    }
    context.response = response;
  }
}

/**
 * The request's path as a low-cardinality template: `/v1.0/users/{id}/mailFolders/{id}/messages/delta`.
 * Words stay (resource names, well-known folders); anything else (ids, addresses) becomes {id}.
 */
export function graphRouteOf(url: string): string {
  const path = new URL(url).pathname;
  return path
    .split('/')
    .map((segment) => (segment === '' || /^(v\d+\.\d+|[A-Za-z$]{1,40})$/.test(segment) ? segment : '{id}'))
    .join('/');
}

/** The GraphError the SDK built (or the error it wrapped) as our typed error. */
export function toGraphServiceError(error: unknown): GraphServiceError {
  if (error instanceof GraphServiceError) return error;
  if (error instanceof graphSdk().GraphError) {
    const code = typeof error.code === 'string' ? error.code : '';
    if (code === FOREIGN_LINK) return new GraphServiceError('protocol', 'ForeignLink', error.message, { cause: error });
    if (code === 'TimeoutError' || code === 'AbortError') return new GraphServiceError('unavailable', 'Timeout', 'Graph did not answer in time', { cause: error });
    if (error.statusCode > 0) {
      const body: unknown = typeof error.body === 'string' ? `{"error":${error.body}}` : error.body;
      const mapped = graphErrorFromResponse(error.statusCode, body, error.headers);
      return new GraphServiceError(mapped.kind, mapped.code, mapped.message, { statusCode: mapped.statusCode, retryAfterInMs: mapped.retryAfterInMs, requestId: mapped.requestId ?? error.requestId ?? undefined, cause: error });
    }
    if (code === 'SyntaxError') return new GraphServiceError('protocol', 'MalformedResponse', 'Graph answered with a body that is not JSON', { cause: error });
    return new GraphServiceError('unavailable', 'NetworkError', `Graph could not be reached: ${error.message}`, { cause: error });
  }
  return new GraphServiceError('unknown', 'Unknown', error instanceof Error ? error.message : String(error), { cause: error });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A page as Graph documents it; anything else is a protocol error (a hostile or broken server). */
export function toGraphPage<T>(body: unknown): GraphPage<T> {
  if (!isObject(body) || !Array.isArray(body.value)) throw new GraphServiceError('protocol', 'MalformedResponse', 'Graph returned a collection page without a value array');
  const link = (name: string): string | undefined => {
    const value = body[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw new GraphServiceError('protocol', 'MalformedResponse', `Graph returned a non-string ${name}`);
    return value;
  };
  const page = { value: body.value as T[], nextLink: link('@odata.nextLink'), deltaLink: link('@odata.deltaLink') };
  if (page.nextLink !== undefined && page.deltaLink !== undefined) throw new GraphServiceError('protocol', 'MalformedResponse', 'Graph returned both a nextLink and a deltaLink');
  return page;
}

export interface GraphMailbox {
  /** Primary SMTP address (or user id) the client works on. */
  readonly mailbox: string;
  /** /users/{mailbox}, URL-encoded. */
  readonly userPath: string;
  /** The configured endpoint's origin, e.g. https://graph.microsoft.com. */
  readonly origin: string;
  get<T>(pathOrLink: string, headers?: Readonly<Record<string, string>>): Promise<T>;
  post<T>(path: string, body: unknown, headers?: Readonly<Record<string, string>>): Promise<T>;
  patch<T>(path: string, body: unknown, headers?: Readonly<Record<string, string>>): Promise<T>;
  delete(path: string, headers?: Readonly<Record<string, string>>): Promise<void>;
  /** One page of a collection or delta query (path or a nextLink/deltaLink Graph returned). */
  page<T>(pathOrLink: string, headers?: Readonly<Record<string, string>>): Promise<GraphPage<T>>;
  /** Every page of a collection, following nextLinks. */
  pages<T>(path: string, headers?: Readonly<Record<string, string>>): AsyncIterableIterator<GraphPage<T>>;
  /** One JSON batch (at most 20 requests); per-request failures are values in the responses. */
  batch(requests: readonly BatchRequest[]): Promise<BatchResponse[]>;
}

/** Endpoint origin without path; refuses anything but an absolute http(s) URL. */
export function graphOrigin(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new GraphServiceError('configuration', 'InvalidEndpoint', 'The Graph endpoint is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new GraphServiceError('configuration', 'InvalidEndpoint', 'The Graph endpoint must be an https URL');
  return url.origin;
}

/**
 * A client for one mailbox: `endpoint` is the configured Graph cloud endpoint (never an admin-supplied URL),
 * `tokens` the app-only or delegated token source.
 */
export function createGraphClient(endpoint: string, mailbox: string, tokens: GraphTokenSource, options: GraphClientOptions = {}): GraphMailbox {
  const origin = graphOrigin(endpoint);
  const client = graphSdk().Client.initWithMiddleware({
    baseUrl: origin,
    defaultVersion: API_VERSION,
    middleware: chain(new GuardAndAuthMiddleware(origin, tokens), new TransportMiddleware(options.timeoutInMs ?? 30_000, options.fetch ?? fetch)),
  });
  const preferIds = options.immutableIds === false ? [] : ['IdType="ImmutableId"'];
  const withPrefer = (headers: Readonly<Record<string, string>> | undefined): Record<string, string> => {
    const prefer = [...preferIds, ...(headers?.prefer ? [headers.prefer] : [])];
    const { prefer: _ignored, ...rest } = headers ?? {};
    void _ignored;
    return { ...rest, ...(prefer.length > 0 ? { prefer: prefer.join(', ') } : {}) };
  };
  const absolute = (pathOrLink: string): string => (/^https?:\/\//i.test(pathOrLink) ? pathOrLink : `${origin}/${API_VERSION}${pathOrLink.startsWith('/') ? '' : '/'}${pathOrLink}`);
  const call = async <T>(run: () => Promise<T>): Promise<T> => {
    const holder: { error?: unknown } = {};
    try {
      return await tokenFailures.run(holder, run);
    } catch (error) {
      if (holder.error !== undefined) throw holder.error;
      throw toGraphServiceError(error);
    }
  };
  const api = (pathOrLink: string, headers?: Readonly<Record<string, string>>) => {
    const url = absolute(pathOrLink);
    // Checked here too (not only in the middleware): the SDK rewrites URLs it cannot parse.
    if (!url.startsWith(`${origin}/${API_VERSION}/`)) throw new GraphServiceError('protocol', 'ForeignLink', `Refused a Graph link outside the configured endpoint (${safeOrigin(url)})`);
    // The SDK is given the path under the version root: it joins it to the configured origin itself (http or https).
    return client.api(url.slice(`${origin}/${API_VERSION}`.length)).headers(withPrefer(headers));
  };
  const self: GraphMailbox = {
    mailbox,
    userPath: `/users/${encodeURIComponent(mailbox)}`,
    origin,
    get: (pathOrLink, headers) => call(() => api(pathOrLink, headers).get()),
    post: (path, body, headers) => call(() => api(path, headers).post(body)),
    patch: (path, body, headers) => call(() => api(path, headers).patch(body)),
    delete: (path, headers) => call(async () => void (await api(path, headers).delete())),
    async page<T>(pathOrLink: string, headers?: Readonly<Record<string, string>>): Promise<GraphPage<T>> {
      return toGraphPage<T>(await self.get<unknown>(pathOrLink, headers));
    },
    async *pages<T>(path: string, headers?: Readonly<Record<string, string>>): AsyncIterableIterator<GraphPage<T>> {
      let link: string | undefined = path;
      while (link !== undefined) {
        const page: GraphPage<T> = await self.page<T>(link, headers);
        yield page;
        link = page.nextLink;
      }
    },
    async batch(requests: readonly BatchRequest[]): Promise<BatchResponse[]> {
      if (requests.length === 0) return [];
      if (requests.length > MAX_BATCH_REQUESTS) throw new GraphServiceError('configuration', 'BatchTooLarge', `At most ${MAX_BATCH_REQUESTS} requests per batch`);
      const body = await self.post<unknown>('/$batch', {
        requests: requests.map((r) => ({ id: r.id, method: r.method, url: r.url, headers: withPrefer(r.headers), ...(r.body !== undefined ? { body: r.body } : {}), ...(r.dependsOn ? { dependsOn: r.dependsOn } : {}) })),
      });
      return batchResponses(body, requests);
    },
  };
  return self;
}

function chain(...middleware: Middleware[]): Middleware {
  for (let index = 0; index < middleware.length - 1; index++) middleware[index]!.setNext?.(middleware[index + 1]!);
  return middleware[0]!;
}

/** The batch's responses in request order; a missing or malformed one is a protocol failure for that request only. */
function batchResponses(body: unknown, requests: readonly BatchRequest[]): BatchResponse[] {
  const list = isObject(body) && Array.isArray(body.responses) ? body.responses : undefined;
  if (!list) throw new GraphServiceError('protocol', 'MalformedResponse', 'Graph returned a batch answer without responses');
  const byId = new Map<string, BatchResponse>();
  for (const entry of list) {
    if (!isObject(entry) || typeof entry.id !== 'string' || typeof entry.status !== 'number') continue;
    const headers: Record<string, string> = {};
    if (isObject(entry.headers)) for (const [name, value] of Object.entries(entry.headers)) if (typeof value === 'string') headers[name.toLowerCase()] = value;
    byId.set(entry.id, { id: entry.id, status: entry.status, headers, body: entry.body });
  }
  return requests.map((request) => byId.get(request.id) ?? { id: request.id, status: 502, headers: {}, body: { error: { code: 'MissingBatchResponse', message: 'The batch answer had no response for this request' } } });
}

/** A failed batch response as a typed error (429s carry their own Retry-After). */
export function batchResponseError(response: BatchResponse): GraphServiceError {
  return graphErrorFromResponse(response.status, response.body, { get: (name) => response.headers[name.toLowerCase()] ?? null });
}

/**
 * Runs any number of requests through $batch, `perBatch` at a time (default 4: one mailbox). A request answered 429/503/504 is
 * thrown back to `retry` (the caller's retry policy decides the wait) and only those requests are
 * sent again; every other answer, 404s included, is returned as a value keyed by request id.
 */
export async function batchAll(
  client: GraphMailbox,
  requests: readonly BatchRequest[],
  retry: <T>(operation: () => Promise<T>) => Promise<T>,
  perBatch: number = MAILBOX_CONCURRENCY,
): Promise<Map<string, BatchResponse>> {
  const done = new Map<string, BatchResponse>();
  for (let offset = 0; offset < requests.length; offset += perBatch) {
    let pending = requests.slice(offset, offset + perBatch);
    await retry(async () => {
      const responses = await client.batch(pending);
      const again: BatchRequest[] = [];
      let worst: GraphServiceError | undefined;
      responses.forEach((response, index) => {
        if (response.status !== 429 && response.status !== 503 && response.status !== 504) return void done.set(response.id, response);
        const error = batchResponseError(response);
        again.push(pending[index]!);
        if (!worst || (error.retryAfterInMs ?? 0) > (worst.retryAfterInMs ?? 0)) worst = error;
      });
      pending = again;
      if (worst) throw worst;
    });
  }
  return done;
}
