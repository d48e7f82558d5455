/**
 * The Graph simulator's HTTP(S) server: Graph v1.0 under /v1.0, its control API under /_graph,
 * and the shared store's control API (the EWS simulator's) under /_simulator.
 *
 *   const ews = await startEwsSimulator({ seed });
 *   const graph = await startGraphSimulator({ store: ews.store, identity: { authorityHost: idp.url }, tls });
 *   // graph.url = https://localhost:PORT/v1.0
 *   await graph.close();
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { closeServer, listen } from '../server-lifecycle';
import { handleControlRequest as handleStoreControlRequest } from '../ews-simulator/control';
import { FaultInjector } from '../ews-simulator/faults';
import { readRequestBody } from '../ews-simulator/http-body';
import { StoreError, type EwsStore } from '../ews-simulator/model';
import type { SimulatorState } from '../ews-simulator/server';
import { createEwsStore } from '../ews-simulator/store';
import { SubscriptionRegistry } from '../ews-simulator/subscriptions';
import { GraphApi, storeErrorToGraph, type GraphRequest, type GraphResponse, type PreparedRequest } from './api';
import { GraphAuthenticator, type GraphCaller } from './auth';
import { handleGraphControlRequest } from './control';
import { GraphError, graphErrorBody, graphErrors } from './errors';
import { GraphSimulatorState, type GraphFaultKind } from './state';
import type { FaultRule } from '../ews-simulator/faults';
import { GraphSubscriptions, type GraphSubscriptionOptions } from './subscriptions';
import { handleSubscriptionControl, isSubscriptionControlPath } from './subscriptions-control';

export const GRAPH_PATH = '/v1.0';
export const GRAPH_CONTROL_PREFIX = '/_graph';
export const STORE_CONTROL_PREFIX = '/_simulator';
/** JSON batching: at most 20 requests per batch. */
export const MAX_BATCH_REQUESTS = 20;
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface GraphSimulatorOptions {
  /** Default 0 (a free port). */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Serve HTTPS with this certificate (PEM), e.g. dev/certs.ts ensureDevCertificate(). Without it: HTTP. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Where Bearer tokens' signing keys come from: a JWKS URL per tenant, or an Entra-like authority host. */
  readonly identity: { readonly jwksUri: (tenantId: string) => string } | { readonly authorityHost: string };
  /** The mailbox store; pass the EWS simulator's store so both protocols see one mailbox. Default: a new one. */
  readonly store?: EwsStore;
  /** Fills the store before the server listens. */
  readonly seed?: (store: EwsStore) => void | Promise<void>;
  /** MailboxConcurrency: concurrent requests per mailbox per app (Exchange Online: 4). */
  readonly maxConcurrentRequestsPerMailbox?: number;
  /** Requests per app and mailbox in 10 minutes before 429 ApplicationThrottled (Exchange Online: 10,000). */
  readonly maxRequestsPerMailboxPerTenMinutes?: number;
  /** Retry-After (seconds) sent with MailboxConcurrency 429s (default 1). */
  readonly concurrencyRetryAfterInSeconds?: number;
  /** Seed of the fault-injection PRNG (default 1). */
  readonly faultSeed?: number;
  /** HMAC key sealing delta tokens; keep it to keep tokens valid across restarts (default: random). */
  readonly deltaTokenKey?: Buffer;
  /** Keep at most this many request-log entries (default 1000). */
  readonly requestLogSize?: number;
  /** Change notifications: validation and delivery timeouts, retries, lifetimes (subscriptions.ts). */
  readonly subscriptions?: GraphSubscriptionOptions;
}

export interface GraphSimulator {
  /** Graph base URL, e.g. https://localhost:PORT/v1.0 (no trailing slash). */
  readonly url: string;
  readonly origin: string;
  /** Base URL of the Graph control API (/_graph). */
  readonly controlUrl: string;
  /** Base URL of the shared store's control API (/_simulator, the EWS simulator's routes). */
  readonly storeControlUrl: string;
  readonly store: EwsStore;
  readonly faults: FaultInjector<GraphFaultKind>;
  readonly state: GraphSimulatorState;
  /** Change-notification subscriptions and their delivery log. */
  readonly subscriptions: GraphSubscriptions;
  /** Every delta token issued so far (for one mailbox, or all) answers 410 SyncStateNotFound. */
  expireDeltaTokens(mailbox?: string): void;
  /** false: the mailbox answers 404 MailboxNotEnabledForRESTAPI. */
  setRestEnabled(mailbox: string, enabled: boolean): void;
  close(): Promise<void>;
}

function authorityJwks(host: string): (tenantId: string) => string {
  const base = host.replace(/\/+$/, '');
  return (tenantId) => `${base}/${tenantId}/discovery/v2.0/keys`;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function startGraphSimulator(options: GraphSimulatorOptions): Promise<GraphSimulator> {
  const store = options.store ?? createEwsStore();
  if (options.seed) await options.seed(store);
  const state = new GraphSimulatorState(store, options.deltaTokenKey ?? randomBytes(32), options.faultSeed ?? 1, options.maxConcurrentRequestsPerMailbox ?? 4, options.requestLogSize ?? 1000, options.maxRequestsPerMailboxPerTenMinutes ?? 10_000);
  const jwksUri = 'jwksUri' in options.identity ? options.identity.jwksUri : authorityJwks(options.identity.authorityHost);
  const auth = new GraphAuthenticator(store, { jwksUri });
  let origin = '';
  const api = new GraphApi(state, auth, () => `${origin}${GRAPH_PATH}`);
  const subscriptions = new GraphSubscriptions(state, api, options.subscriptions);
  const endpoint = new GraphEndpoint(state, auth, api, options.concurrencyRetryAfterInSeconds ?? 1, subscriptions);
  // The store's control API expects the EWS simulator's state; only its store routes are meaningful here.
  const storeControlState: SimulatorState = { store, faults: new FaultInjector(1), subscriptions: new SubscriptionRegistry(store), requestLog: [], counters: new Map(), requestLogSize: 0 };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    route(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(error instanceof Error ? error.message : String(error));
      } else res.destroy();
    });
  };
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === GRAPH_PATH || path.startsWith(`${GRAPH_PATH}/`)) return endpoint.handle(req, res);
    if (isSubscriptionControlPath(path)) return handleSubscriptionControl(req, res, subscriptions);
    if (path === GRAPH_CONTROL_PREFIX || path.startsWith(`${GRAPH_CONTROL_PREFIX}/`)) return handleGraphControlRequest(req, res, state);
    if (path === STORE_CONTROL_PREFIX || path.startsWith(`${STORE_CONTROL_PREFIX}/`)) {
      if (/^\/_simulator\/(faults|requests|counters)/.test(path)) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ title: 'Not here', detail: `Graph faults and the request log are under ${GRAPH_CONTROL_PREFIX}/.` }));
        return;
      }
      return handleStoreControlRequest(req, res, storeControlState);
    }
    endpoint.sendError(res, graphErrors.noRoute(req.method ?? 'GET', path), randomUUID(), header(req, 'client-request-id') ?? randomUUID());
  };
  const server: Server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler) : createHttpServer(handler);
  try {
    await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  } catch (error) {
    state.close();
    subscriptions.close();
    storeControlState.subscriptions.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  origin = `${options.tls ? 'https' : 'http'}://${host === '127.0.0.1' && options.tls ? 'localhost' : host}:${address.port}`;
  return {
    url: `${origin}${GRAPH_PATH}`,
    origin,
    controlUrl: `${origin}${GRAPH_CONTROL_PREFIX}`,
    storeControlUrl: `${origin}${STORE_CONTROL_PREFIX}`,
    store,
    faults: state.faults,
    state,
    subscriptions,
    expireDeltaTokens: (mailbox) => state.expireDeltaTokens(mailbox),
    setRestEnabled: (mailbox, enabled) => {
      const key = store.getMailbox(mailbox)?.smtpAddress ?? mailbox.toLowerCase();
      if (enabled) state.restDisabled.delete(key);
      else state.restDisabled.add(key);
    },
    close: async () => {
      state.close();
      subscriptions.close();
      storeControlState.subscriptions.close();
      await closeServer(server);
    },
  };
}

interface BatchRequestInput {
  readonly id: string;
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: unknown;
  readonly dependsOn: readonly string[];
}

interface BatchResponseOutput {
  readonly id: string;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body?: unknown;
}

class GraphEndpoint {
  constructor(
    private readonly state: GraphSimulatorState,
    private readonly auth: GraphAuthenticator,
    private readonly api: GraphApi,
    private readonly concurrencyRetryAfterInSeconds: number,
    private readonly subscriptions: GraphSubscriptions,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const requestId = randomUUID();
    const clientRequestId = header(req, 'client-request-id') ?? requestId;
    const url = new URL(req.url ?? '/', 'http://graph');
    const path = url.pathname.slice(GRAPH_PATH.length) || '/';
    const method = (req.method ?? 'GET').toUpperCase();
    const log = (operation: string, status: number, extra: { appId?: string; mailbox?: string; code?: string; fault?: string } = {}): void =>
      this.state.record({ id: requestId, clientRequestId, time: new Date(started).toISOString(), method, path, operation, status, durationInMs: Date.now() - started, ...extra });
    let caller: GraphCaller | undefined;
    try {
      const received = method === 'GET' || method === 'DELETE' ? Buffer.alloc(0) : await readRequestBody(req, MAX_BODY_BYTES);
      if (received === 'tooLarge') throw new GraphError(413, 'RequestEntityTooLarge', `The request body exceeds ${MAX_BODY_BYTES} bytes.`);
      caller = await this.auth.authenticate(header(req, 'authorization'));
      const body = parseJsonBody(received);
      const headers = lowerHeaders(req);
      if (path.replace(/\/+$/, '') === '/$batch' && method === 'POST') {
        const responses = await this.batch(body, caller, requestId, url.origin);
        this.send(res, { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: { responses }, kind: 'batch' }, requestId, clientRequestId);
        return log('batch', 200, { appId: caller.appId });
      }
      if (/^\/subscriptions(\/|$)/i.test(path)) {
        const handled = await this.subscriptions.handle(method, path.split('/').filter(Boolean), body, caller);
        this.send(res, handled.response, requestId, clientRequestId);
        return log(handled.operation, handled.response.status, { appId: caller.appId, ...(handled.mailbox ? { mailbox: handled.mailbox } : {}) });
      }
      const response = await this.execute({ method, path, query: url.searchParams, headers, body }, caller, req);
      if (response === 'reset') return log('connectionReset', 0, { appId: caller.appId, fault: 'connectionReset' });
      this.send(res, response.response, requestId, clientRequestId);
      return log(response.operation, response.response.status, { appId: caller.appId, ...(response.mailbox ? { mailbox: response.mailbox } : {}), ...(response.response.fault ? { fault: response.response.fault } : {}), ...(errorCode(response.response) ? { code: errorCode(response.response)! } : {}) });
    } catch (error) {
      const graphError = toGraphError(error);
      this.sendError(res, graphError, requestId, clientRequestId);
      return log('unknown', graphError.status, { ...(caller ? { appId: caller.appId } : {}), code: graphError.code });
    }
  }

  /** Prepares, applies faults and MailboxConcurrency, runs. */
  private async execute(request: GraphRequest, caller: GraphCaller, req?: IncomingMessage): Promise<{ operation: string; mailbox?: string; response: GraphResponse } | 'reset'> {
    let prepared: PreparedRequest;
    try {
      prepared = this.api.prepare(request, caller);
    } catch (error) {
      return { operation: 'unknown', response: this.errorResponse(toGraphError(error)) };
    }
    const mailbox = prepared.mailbox?.smtpAddress;
    const slot = `${caller.appId}|${mailbox ?? ''}`;
    const wait = this.state.overBudget(slot, Date.now());
    if (wait !== undefined) return { operation: prepared.operation, ...(mailbox ? { mailbox } : {}), response: this.errorResponse(graphErrors.requestLimit(wait)) };
    if (!this.state.tryAcquire(slot)) return { operation: prepared.operation, ...(mailbox ? { mailbox } : {}), response: this.errorResponse(graphErrors.mailboxConcurrency(this.concurrencyRetryAfterInSeconds)) };
    try {
      const response = await this.runWithFaults(prepared, caller, req);
      return response === 'reset' ? 'reset' : { operation: prepared.operation, ...(mailbox ? { mailbox } : {}), response };
    } finally {
      this.state.release(slot);
    }
  }

  private async runWithFaults(prepared: PreparedRequest, caller: GraphCaller, req: IncomingMessage | undefined): Promise<GraphResponse | 'reset'> {
    // A syncStateNotFound rule waits for a delta call instead of being used up by another one.
    const skipKinds = prepared.operation.endsWith('Delta') ? [] : ['syncStateNotFound', 'deltaDuplicates'];
    const fired = this.state.faults.pick({ operation: prepared.operation, principals: [caller.appId, ...(prepared.mailbox ? [prepared.mailbox.smtpAddress] : [])], skipKinds });
    for (const fault of fired) {
      const answered = await this.applyFault(fault, req);
      if (answered !== undefined) return answered;
    }
    let response: GraphResponse;
    try {
      response = await prepared.run();
    } catch (error) {
      return this.errorResponse(toGraphError(error));
    }
    const duplicates = fired.find((f) => f.kind === 'deltaDuplicates');
    return duplicates && response.status === 200 ? withDuplicates(response, `${duplicates.kind} (${duplicates.id})`) : response;
  }

  private async applyFault(fault: FaultRule<GraphFaultKind>, req: IncomingMessage | undefined): Promise<GraphResponse | 'reset' | undefined> {
    const tagged = (error: GraphError): GraphResponse => ({ ...this.errorResponse(error), fault: `${fault.kind} (${fault.id})` });
    switch (fault.kind) {
      case 'latency':
        await sleep(fault.latencyInMs ?? 1000);
        return undefined;
      case 'http429':
        return tagged(graphErrors.throttled(fault.retryAfterInSeconds ?? 10));
      case 'mailboxConcurrency':
        return tagged(graphErrors.mailboxConcurrency(fault.retryAfterInSeconds ?? this.concurrencyRetryAfterInSeconds));
      case 'http503':
        return tagged(graphErrors.serviceUnavailable(fault.retryAfterInSeconds));
      case 'http504':
        return tagged(graphErrors.gatewayTimeout());
      case 'http500':
        return tagged(graphErrors.internal());
      case 'syncStateNotFound':
        return tagged(graphErrors.syncStateNotFound());
      case 'deltaDuplicates':
        return undefined;
      case 'connectionReset':
        if (!req) return tagged(graphErrors.gatewayTimeout());
        req.socket.destroy();
        return 'reset';
    }
  }

  /**
   * JSON batching. Requests without dependsOn run in parallel: each takes a MailboxConcurrency slot
   * first, so more than the limit against one mailbox get 429 each (per-request status), as in
   * Exchange Online. Requests with dependsOn run after theirs, one by one; when one they depend
   * on failed, they get 424 Failed Dependency.
   */
  private async batch(body: unknown, caller: GraphCaller, batchRequestId: string, origin: string): Promise<BatchResponseOutput[]> {
    const requests = parseBatch(body);
    const results = new Map<string, BatchResponseOutput>();
    const toRequest = (input: BatchRequestInput): GraphRequest => {
      const url = new URL(input.url.startsWith('/') ? input.url : `/${input.url}`, origin);
      const path = url.pathname.startsWith(`${GRAPH_PATH}/`) ? url.pathname.slice(GRAPH_PATH.length) : url.pathname;
      return { method: input.method, path, query: url.searchParams, headers: input.headers, body: input.body };
    };
    const finish = (input: BatchRequestInput, response: GraphResponse, started: number, operation: string, mailbox?: string): void => {
      const requestId = randomUUID();
      // Batch responses spell header names as Graph does (Retry-After, Content-Type).
      const headers: Record<string, string> = Object.fromEntries(Object.entries(response.headers).map(([name, value]) => [canonicalHeaderName(name), value]));
      const body = response.kind === 'error' ? this.errorBodyWithIds(response, requestId, batchRequestId) : response.body;
      results.set(input.id, { id: input.id, status: response.status, headers, ...(body !== undefined ? { body } : {}) });
      this.state.record({ id: requestId, clientRequestId: batchRequestId, batchRequestId, time: new Date(started).toISOString(), method: input.method, path: input.url, operation, status: response.status, durationInMs: Date.now() - started, appId: caller.appId, ...(mailbox ? { mailbox } : {}), ...(response.fault ? { fault: response.fault } : {}), ...(errorCode(response) ? { code: errorCode(response)! } : {}) });
    };
    // Parallel wave: prepare all, take slots for all, then run.
    const independent = requests.filter((r) => r.dependsOn.length === 0);
    const wave: { input: BatchRequestInput; prepared: PreparedRequest; slot: string; started: number }[] = [];
    for (const input of independent) {
      const started = Date.now();
      let prepared: PreparedRequest;
      try {
        prepared = this.api.prepare(toRequest(input), caller);
      } catch (error) {
        finish(input, this.errorResponse(toGraphError(error)), started, 'unknown');
        continue;
      }
      const slot = `${caller.appId}|${prepared.mailbox?.smtpAddress ?? ''}`;
      const wait = this.state.overBudget(slot, Date.now());
      if (wait !== undefined) {
        finish(input, this.errorResponse(graphErrors.requestLimit(wait)), started, prepared.operation, prepared.mailbox?.smtpAddress);
        continue;
      }
      if (!this.state.tryAcquire(slot)) {
        finish(input, this.errorResponse(graphErrors.mailboxConcurrency(this.concurrencyRetryAfterInSeconds)), started, prepared.operation, prepared.mailbox?.smtpAddress);
        continue;
      }
      wave.push({ input, prepared, slot, started });
    }
    await Promise.all(
      wave.map(async ({ input, prepared, slot, started }) => {
        try {
          const response = await this.runWithFaults(prepared, caller, undefined);
          finish(input, response === 'reset' ? this.errorResponse(graphErrors.gatewayTimeout()) : response, started, prepared.operation, prepared.mailbox?.smtpAddress);
        } finally {
          this.state.release(slot);
        }
      }),
    );
    // Dependent requests, in an order that respects dependsOn (validated acyclic by parseBatch).
    const pending = requests.filter((r) => r.dependsOn.length > 0);
    while (pending.length > 0) {
      const index = pending.findIndex((r) => r.dependsOn.every((d) => results.has(d)));
      const input = pending.splice(index, 1)[0]!;
      const started = Date.now();
      const failed = input.dependsOn.some((d) => (results.get(d)?.status ?? 500) >= 400);
      if (failed) {
        finish(input, this.errorResponse(new GraphError(424, 'FailedDependency', `A request this one depends on (${input.dependsOn.join(', ')}) failed.`)), started, 'dependency');
        continue;
      }
      const outcome = await this.execute(toRequest(input), caller);
      if (outcome === 'reset') finish(input, this.errorResponse(graphErrors.gatewayTimeout()), started, 'connectionReset');
      else finish(input, outcome.response, started, outcome.operation, outcome.mailbox);
    }
    return requests.map((r) => results.get(r.id)!);
  }

  private errorResponse(error: GraphError): GraphResponse {
    const now = this.state.store.now();
    // In a batch the body is per request; request ids are filled in by send() for top-level errors.
    return { status: error.status, headers: { 'content-type': 'application/json', ...error.headers }, body: graphErrorBody(error, '', '', now), kind: 'error' };
  }

  private errorBodyWithIds(response: GraphResponse, requestId: string, clientRequestId: string): unknown {
    const inner = (response.body as { error: { code: string; message: string } }).error;
    return graphErrorBody(new GraphError(response.status, inner.code, inner.message), requestId, clientRequestId, this.state.store.now());
  }

  private send(res: ServerResponse, response: GraphResponse, requestId: string, clientRequestId: string): void {
    const body = response.kind === 'error' ? this.errorBodyWithIds(response, requestId, clientRequestId) : response.body;
    const headers: Record<string, string> = { ...response.headers, 'request-id': requestId, 'client-request-id': clientRequestId, 'x-ms-ags-diagnostic': '{"ServerInfo":{"DataCenter":"Local","Slice":"E","Ring":"5","ScaleUnit":"000","RoleInstance":"graph-simulator"}}' };
    if (body === undefined) {
      // Graph's 202/204 answers carry no body and say so.
      res.writeHead(response.status, { ...headers, 'content-length': '0' });
      res.end();
      return;
    }
    res.writeHead(response.status, headers);
    res.end(JSON.stringify(body));
  }

  sendError(res: ServerResponse, error: GraphError, requestId: string, clientRequestId: string): void {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...error.headers, 'request-id': requestId, 'client-request-id': clientRequestId };
    if (error.status === 401) headers['www-authenticate'] = 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"';
    res.writeHead(error.status, headers);
    res.end(JSON.stringify(graphErrorBody(error, requestId, clientRequestId, this.state.store.now())));
  }
}

/** A delta page with every item entry repeated at its end (the items' current state, again). */
function withDuplicates(response: GraphResponse, fault: string): GraphResponse {
  const body = response.body as { value?: Record<string, unknown>[] } | undefined;
  if (!body || !Array.isArray(body.value)) return response;
  const items = body.value.filter((entry) => !('@removed' in entry));
  return { ...response, body: { ...body, value: [...body.value, ...items] }, fault };
}

function canonicalHeaderName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, dash: string, letter: string) => dash + letter.toUpperCase());
}

function errorCode(response: GraphResponse): string | undefined {
  if (response.kind !== 'error') return undefined;
  return (response.body as { error?: { code?: string } } | undefined)?.error?.code;
}

function toGraphError(error: unknown): GraphError {
  if (error instanceof GraphError) return error;
  if (error instanceof StoreError) return storeErrorToGraph(error);
  return new GraphError(500, 'InternalServerError', `The simulator failed: ${error instanceof Error ? error.message : String(error)}`);
}

function lowerHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

function parseJsonBody(bytes: Buffer): unknown {
  const text = bytes.toString('utf8');
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw graphErrors.badRequest('Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.', 'BadRequest');
  }
}

/** Validates a $batch body; names every problem. */
function parseBatch(body: unknown): BatchRequestInput[] {
  const problems: string[] = [];
  const requests = (body as { requests?: unknown } | undefined)?.requests;
  if (!Array.isArray(requests)) throw graphErrors.badRequest('Invalid batch payload: requests: required, an array of requests.', 'BadRequest');
  if (requests.length === 0) throw graphErrors.badRequest('Invalid batch payload: requests: at least one request is required.', 'BadRequest');
  if (requests.length > MAX_BATCH_REQUESTS) throw graphErrors.badRequest(`Invalid batch payload: requests: the number of batch requests (${requests.length}) exceeds the limit of ${MAX_BATCH_REQUESTS}.`, 'BadRequest');
  const parsed: BatchRequestInput[] = [];
  const ids = new Set<string>();
  requests.forEach((raw, index) => {
    const r = raw as Record<string, unknown>;
    const at = `requests[${index}]`;
    if (typeof r?.id !== 'string' || !r.id) problems.push(`${at}.id: required string`);
    else if (ids.has(r.id)) problems.push(`${at}.id: duplicate id ${r.id}`);
    if (typeof r?.method !== 'string' || !/^(GET|POST|PATCH|PUT|DELETE)$/i.test(r.method)) problems.push(`${at}.method: one of GET, POST, PATCH, PUT, DELETE`);
    if (typeof r?.url !== 'string' || !r.url || /^([a-z][a-z0-9+.-]*:|\/\/|\\)/i.test(r.url)) problems.push(`${at}.url: required, a relative URL`);
    const dependsOn = r?.dependsOn === undefined ? [] : r.dependsOn;
    if (!Array.isArray(dependsOn) || !dependsOn.every((d) => typeof d === 'string')) problems.push(`${at}.dependsOn: an array of request ids`);
    const headers = r?.headers === undefined ? {} : r.headers;
    if (!headers || typeof headers !== 'object' || Array.isArray(headers)) problems.push(`${at}.headers: an object`);
    if (r?.body !== undefined && !(headers as Record<string, unknown>)?.['Content-Type'] && !(headers as Record<string, unknown>)?.['content-type']) problems.push(`${at}.headers: Content-Type is required when a body is present`);
    if (typeof r?.id === 'string') ids.add(r.id);
    parsed.push({
      id: String(r?.id ?? ''),
      method: String(r?.method ?? 'GET').toUpperCase(),
      url: String(r?.url ?? ''),
      headers: Object.fromEntries(Object.entries((headers ?? {}) as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), String(v)])),
      body: r?.body,
      dependsOn: Array.isArray(dependsOn) ? (dependsOn as string[]) : [],
    });
  });
  for (const request of parsed) for (const dependency of request.dependsOn) if (!ids.has(dependency) || dependency === request.id) problems.push(`requests[${parsed.indexOf(request)}].dependsOn: unknown request id ${dependency}`);
  if (problems.length === 0 && hasCycle(parsed)) problems.push('dependsOn: the dependencies form a cycle');
  if (problems.length > 0) throw graphErrors.badRequest(`Invalid batch payload: ${problems.join('; ')}.`, 'BadRequest');
  return parsed;
}

function hasCycle(requests: readonly BatchRequestInput[]): boolean {
  const byId = new Map(requests.map((r) => [r.id, r]));
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string): boolean => {
    if (state.get(id) === 'done') return false;
    if (state.get(id) === 'visiting') return true;
    state.set(id, 'visiting');
    for (const dependency of byId.get(id)?.dependsOn ?? []) if (visit(dependency)) return true;
    state.set(id, 'done');
    return false;
  };
  return requests.some((r) => visit(r.id));
}
