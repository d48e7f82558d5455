/**
 * The EWS simulator's HTTP(S) server: SOAP 1.1 at /EWS/Exchange.asmx (any case), the JSON
 * control API under /_simulator/ (never reachable through the EWS endpoint).
 *
 *   const sim = await startEwsSimulator({ seed: (store) => ... });
 *   // sim.url = http://127.0.0.1:PORT/EWS/Exchange.asmx, sim.controlUrl, sim.store
 *   await sim.close();
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { KerberosAuthenticator, type KerberosAcceptorOptions } from './kerberos';
import { authenticate, BasicAuthenticator, BearerAuthenticator, NtlmSchemeAuthenticator, type Authenticator, type Caller } from './auth';
import { AUTODISCOVER_SOAP_PATH, handleAutodiscover, isAutodiscoverPath, type AutodiscoverContext } from './autodiscover';
import { handleControlRequest } from './control';
import { readRequestBody } from './http-body';
import { FaultInjector, type FaultRule } from './faults';
import { StoreError, type EwsStore } from './model';
import { OPERATIONS, SELF_STATUS_RESPONSES } from './operations';
import { decideActingMailbox, impersonationTarget, type RequestContext } from './request-context';
import { EwsSchemaValidator } from './schema-validation';
import { EwsError, KNOWN_REQUEST_VERSIONS, SoapFault, envelope, faultEnvelope, messageXmlValues, responseMessage } from './soap';
import { asEwsError } from './operations/common';
import { loadState, StatePersister } from './persistence';
import { createEwsStore, InMemoryEwsStore } from './store';
import { SubscriptionRegistry } from './subscriptions';
import { NS, XmlParseError, attr, child, children, parseXml, type Element } from './xml';

export const EWS_PATH = '/EWS/Exchange.asmx';
export const CONTROL_PREFIX = '/_simulator';
const DEFAULT_VERSION = 'Exchange2013_SP1';
/** Exchange's default EWS request limit (maxAllowedContentLength / maxReceivedMessageSize). */
const DEFAULT_MAX_REQUEST_BYTES = 64 * 1024 * 1024;

export interface EwsSimulatorOptions {
  /** Default 0 (random free port). */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Serve HTTPS with this certificate (PEM). */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Where Bearer tokens' signing keys come from: a JWKS URL per tenant, or an Entra-like authority host. */
  readonly identity?: { readonly jwksUri: (tenantId: string) => string } | { readonly authorityHost: string };
  /** Use this store (default: a new empty one). */
  readonly store?: EwsStore;
  /** Fills the store before the server listens. */
  readonly seed?: (store: EwsStore) => void | Promise<void>;
  /** Seed of the fault-injection PRNG (default 1). */
  readonly faultSeed?: number;
  /** Validate each request body against the EWS schema (needs the schema dir; slower). */
  readonly validateRequests?: { readonly schemaDir: string };
  /** Keep at most this many request-log entries (default 1000). */
  readonly requestLogSize?: number;
  /**
   * Keep the state in this JSON file across restarts. On start, an existing file is loaded instead
   * of running `seed` (ids, ChangeKeys, change logs and the SyncState key come back, so earlier
   * SyncStates stay valid); without the file, `seed` runs and the result is saved. Changes are
   * saved atomically at most `persistDebounceInMs` after they happen, and on close. Needs the
   * in-memory store. Not kept: pull subscriptions, fault rules, request log, counters.
   */
  readonly persistPath?: string;
  /** Default 1000. */
  readonly persistDebounceInMs?: number;
  /** Larger EWS request bodies get HTTP 413, as Exchange's 64 MiB default limit does (default 64 MiB). */
  readonly maxRequestBodyInBytes?: number;
  /** Accept Negotiate/Kerberos tickets for this HTTP service principal (needs the `kerberos` addon and a KDC: dev/kerberos/kdc.ts). */
  readonly kerberos?: KerberosAcceptorOptions;
  /** Push subscriptions: milliseconds per StatusFrequency minute (default 60,000; tests scale it down) and a tap on every SendNotification sent. */
  readonly push?: { readonly minuteInMs?: number; readonly onSend?: (xml: string) => void };
}

export interface RequestLogEntry {
  readonly id: string;
  readonly time: string;
  readonly method: string;
  readonly path: string;
  readonly operation?: string;
  readonly principal?: string;
  readonly scheme?: string;
  readonly actingAs?: string;
  readonly impersonated?: boolean;
  readonly anchorMailbox?: string;
  readonly requestServerVersion?: string;
  readonly status: number;
  /** Response codes of the response messages (or the fault code). */
  readonly responseCodes: string[];
  readonly fault?: string;
  readonly durationInMs: number;
}

export interface OperationCounter {
  requests: number;
  errors: number;
  faults: number;
}

/** Runtime state shared by the EWS endpoint and the control API. */
export interface SimulatorState {
  readonly store: EwsStore;
  readonly faults: FaultInjector;
  readonly subscriptions: SubscriptionRegistry;
  readonly requestLog: RequestLogEntry[];
  readonly counters: Map<string, OperationCounter>;
  readonly requestLogSize: number;
}

export interface EwsSimulator {
  /** The EWS endpoint URL. */
  readonly url: string;
  /** Base URL of the control API. */
  readonly controlUrl: string;
  /** SOAP Autodiscover (GetUserSettings); POX is beside it at /autodiscover/autodiscover.xml. */
  readonly autodiscoverUrl: string;
  readonly store: EwsStore;
  readonly faults: FaultInjector;
  readonly state: SimulatorState;
  /** True when the state was loaded from `persistPath` (the seed did not run). */
  readonly restoredFromFile: boolean;
  close(): Promise<void>;
}

function authorityJwks(host: string): (tenantId: string) => string {
  const base = host.replace(/\/+$/, '');
  return (tenantId) => `${base}/${tenantId}/discovery/v2.0/keys`;
}

export async function startEwsSimulator(options: EwsSimulatorOptions = {}): Promise<EwsSimulator> {
  const store = options.store ?? createEwsStore();
  let syncStateKey: Buffer = randomBytes(32);
  let persister: StatePersister | undefined;
  let restoredFromFile = false;
  if (options.persistPath) {
    if (!(store instanceof InMemoryEwsStore)) throw new TypeError('persistPath needs the in-memory store (createEwsStore)');
    const loaded = loadState(options.persistPath);
    if (loaded) {
      store.restore(loaded.store);
      syncStateKey = loaded.syncStateKey;
      restoredFromFile = true;
    } else if (options.seed) await options.seed(store);
    persister = new StatePersister(options.persistPath, store, syncStateKey, options.persistDebounceInMs !== undefined ? { debounceInMs: options.persistDebounceInMs } : {});
    if (!loaded) persister.saveNowSync();
  } else if (options.seed) await options.seed(store);
  const authenticators: Authenticator[] = [new BasicAuthenticator(store), new NtlmSchemeAuthenticator(store)];
  // Before NTLM's: Kerberos claims Negotiate tokens that are not raw NTLMSSP.
  if (options.kerberos) authenticators.unshift(new KerberosAuthenticator(store, options.kerberos));
  if (options.identity) {
    const jwksUri = 'jwksUri' in options.identity ? options.identity.jwksUri : authorityJwks(options.identity.authorityHost);
    authenticators.push(new BearerAuthenticator(store, { jwksUri }));
  }
  const state: SimulatorState = {
    store,
    faults: new FaultInjector(options.faultSeed ?? 1),
    subscriptions: new SubscriptionRegistry(store, { ...options.push }),
    requestLog: [],
    counters: new Map(),
    requestLogSize: options.requestLogSize ?? 1000,
  };
  const autodiscover: AutodiscoverContext = { store, authenticators, ewsPath: EWS_PATH };
  const endpoint = new EwsEndpoint(state, syncStateKey, authenticators, options.validateRequests ? new EwsSchemaValidator(options.validateRequests.schemaDir) : undefined, options.maxRequestBodyInBytes ?? DEFAULT_MAX_REQUEST_BYTES);
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    route(req, res, state, endpoint, autodiscover, !!options.tls).catch((error: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(error instanceof Error ? error.message : String(error));
      } else res.destroy();
    });
  };
  const server: Server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler) : createHttpServer(handler);
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
  } catch (error) {
    state.subscriptions.close();
    await persister?.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const origin = `${options.tls ? 'https' : 'http'}://${host === '127.0.0.1' && options.tls ? 'localhost' : host}:${address.port}`;
  return {
    url: `${origin}${EWS_PATH}`,
    controlUrl: `${origin}${CONTROL_PREFIX}`,
    autodiscoverUrl: `${origin}${AUTODISCOVER_SOAP_PATH}`,
    store,
    faults: state.faults,
    state,
    restoredFromFile,
    close: async () => {
      state.subscriptions.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      await persister?.close();
    },
  };
}

async function route(req: IncomingMessage, res: ServerResponse, state: SimulatorState, endpoint: EwsEndpoint, autodiscover: AutodiscoverContext, tls: boolean): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]!;
  if (path.toLowerCase() === EWS_PATH.toLowerCase()) return endpoint.handle(req, res);
  if (isAutodiscoverPath(path)) return handleAutodiscover(req, res, autodiscover, tls);
  if (path === CONTROL_PREFIX || path.startsWith(`${CONTROL_PREFIX}/`)) return handleControlRequest(req, res, state);
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('Not found');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const RESPONSE_CODE = /<m:ResponseCode>([A-Za-z]+)<\/m:ResponseCode>/g;

class EwsEndpoint {
  /** In-flight requests per principal (EWSMaxConcurrency). */
  private readonly inFlight = new Map<string, number>();
  constructor(
    private readonly state: SimulatorState,
    private readonly syncStateKey: Buffer,
    private readonly authenticators: readonly Authenticator[],
    private readonly validator: EwsSchemaValidator | undefined,
    private readonly maxRequestBodyInBytes: number,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const log: { -readonly [K in keyof RequestLogEntry]?: RequestLogEntry[K] } = {
      id: randomUUID(),
      time: new Date(started).toISOString(),
      method: req.method ?? 'GET',
      path: req.url ?? '',
      responseCodes: [],
    };
    const anchor = req.headers['x-anchormailbox'];
    if (typeof anchor === 'string') log.anchorMailbox = anchor;
    const finish = (status: number): void => {
      log.status = status;
      log.durationInMs = Date.now() - started;
      this.record(log as RequestLogEntry);
    };
    const received = req.method === 'POST' ? await readRequestBody(req, this.maxRequestBodyInBytes) : Buffer.alloc(0);
    if (received === 'tooLarge') {
      log.fault = 'request body too large';
      res.writeHead(413, { 'content-length': '0', connection: 'close' });
      res.end();
      return finish(413);
    }
    const body = received.toString('utf8');
    const host = (req.headers.host ?? 'localhost').split(':')[0]!;
    const outcome = await authenticate(this.authenticators, { authorization: req.headers.authorization, connection: req.socket, host });
    if (outcome.kind !== 'authenticated') {
      const headers: Record<string, string | string[]> = { 'content-length': '0' };
      if (outcome.kind === 'challenge') headers['www-authenticate'] = [...outcome.wwwAuthenticate];
      else if (outcome.kind === 'rejected') {
        headers['www-authenticate'] = [...(outcome.wwwAuthenticate ?? outcome.offered)];
        if (outcome.diagnostics) headers['x-ms-diagnostics'] = outcome.diagnostics;
        log.fault = outcome.reason;
      } else headers['www-authenticate'] = outcome.offered;
      const status = outcome.kind === 'rejected' ? outcome.status : 401;
      res.writeHead(status, headers);
      res.end();
      return finish(status);
    }
    const caller = outcome.caller;
    log.principal = caller.principal;
    log.scheme = caller.scheme;
    const org = this.state.store.getOrganisation(caller.organisationId);
    if (!org || !org.ewsEnabled) {
      // Exchange Online blocks EWS for the tenant with 403 and no SOAP body.
      log.fault = 'EWS disabled for the organisation';
      res.writeHead(403, { 'content-length': '0' });
      res.end();
      return finish(403);
    }
    if (req.method !== 'POST') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<html><head><title>Exchange Web Services</title></head><body><p>Exchange Web Services endpoint. POST SOAP 1.1 requests here.</p></body></html>');
      return finish(200);
    }
    const budgetKey = caller.principal;
    const current = this.inFlight.get(budgetKey) ?? 0;
    if (current >= org.maxConcurrency) {
      const fault = new SoapFault(
        'ErrorExceededConnectionCount',
        undefined,
        messageXmlValues({
          Policy: 'MaxConcurrency',
          MaxConcurrencyLimit: org.maxConcurrency,
          ErrorMessage: `This operation exceeds the throttling budget for policy part 'MaxConcurrency', policy value '${org.maxConcurrency}', Budget type: 'Ews'. Suggested backoff time 0 ms.`,
        }),
      );
      return finish(this.sendFault(res, fault, log));
    }
    this.inFlight.set(budgetKey, current + 1);
    try {
      const status = await this.process(req, res, body, caller, log);
      return finish(status);
    } finally {
      const left = (this.inFlight.get(budgetKey) ?? 1) - 1;
      if (left <= 0) this.inFlight.delete(budgetKey);
      else this.inFlight.set(budgetKey, left);
    }
  }

  private async process(req: IncomingMessage, res: ServerResponse, body: string, caller: Caller, log: { -readonly [K in keyof RequestLogEntry]?: RequestLogEntry[K] }): Promise<number> {
    let operationName = '';
    try {
      const { header, operation } = this.parseEnvelope(body);
      operationName = operation.localName ?? '';
      log.operation = operationName;
      const version = header ? attr(child(header, 'RequestServerVersion'), 'Version') : undefined;
      if (version !== undefined && !KNOWN_REQUEST_VERSIONS.has(version)) {
        // Exchange answers a version it does not know (e.g. Exchange2019, which no server
        // advertises) with a bare ErrorInvalidRequest fault and no ServerVersionInfo header, so
        // clients that step down do not adopt a version from it (exchangelib issue #927).
        throw new SoapFault('ErrorInvalidRequest', 'The request is invalid.', undefined, 500, false);
      }
      log.requestServerVersion = version ?? DEFAULT_VERSION;
      if (this.validator) await this.validateRequest(body);
      const implementation = OPERATIONS[operationName];
      if (!implementation || operation.namespaceURI !== NS.messages) {
        throw new SoapFault('ErrorInvalidRequest', `The request is invalid: the simulator does not implement ${operationName || 'this operation'}.`);
      }
      const target = header ? impersonationTarget(child(header, 'ExchangeImpersonation')) : undefined;
      const acting = decideActingMailbox(this.state.store, caller, target);
      log.actingAs = acting.actingAs?.smtpAddress;
      log.impersonated = acting.impersonated;
      const fired = this.state.faults.pick({ operation: operationName, principals: [caller.principal, ...(acting.actingAs ? [acting.actingAs.smtpAddress] : [])] });
      for (const fault of fired) {
        const handled = await this.applyFault(fault, req, res, log);
        if (handled !== undefined) return handled;
      }
      const ctx: RequestContext = {
        store: this.state.store,
        caller,
        actingAs: acting.actingAs,
        impersonated: acting.impersonated,
        requestVersion: version ?? DEFAULT_VERSION,
        subscriptions: this.state.subscriptions,
        syncStateKey: this.syncStateKey,
      };
      let inner: string;
      try {
        inner = implementation(ctx, operation);
      } catch (error) {
        if (!(error instanceof EwsError) && !(error instanceof StoreError)) throw error;
        // A request-level problem found by the operation (bad restriction, paging, ids...):
        // Exchange answers it as one error response message, not as a fault.
        inner = `<m:ResponseMessages>${responseMessage(`${operationName}ResponseMessage`, '', asEwsError(error))}</m:ResponseMessages>`;
      }
      // GetDelegate's answer is a response message itself: its class goes on the response element.
      const selfStatus = SELF_STATUS_RESPONSES.has(operationName) ? ` ResponseClass="${inner.includes('<m:ResponseCode>NoError</m:ResponseCode>') ? 'Success' : 'Error'}"` : '';
      const xml = envelope(`${operationName}Response`, inner, selfStatus);
      for (const match of inner.matchAll(RESPONSE_CODE)) if (log.responseCodes!.length < 50) log.responseCodes!.push(match[1]!);
      this.count(operationName, log.responseCodes!.some((c) => c !== 'NoError'), false);
      res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8', 'request-id': log.id!, 'x-ews-simulator': '1' });
      res.end(xml);
      return 200;
    } catch (error) {
      if (error instanceof SoapFault) {
        this.count(operationName || 'Unknown', true, true);
        return this.sendFault(res, error, log);
      }
      const fault = new SoapFault('ErrorInternalServerError', `An internal server error occurred. The operation failed. ${error instanceof Error ? error.message : ''}`.trim());
      this.count(operationName || 'Unknown', true, true);
      return this.sendFault(res, fault, log);
    }
  }

  private parseEnvelope(body: string): { header: Element | undefined; operation: Element } {
    let doc;
    try {
      doc = parseXml(body);
    } catch (error) {
      const detail = error instanceof XmlParseError ? error.message : 'The request is not well-formed XML.';
      throw new SoapFault('ErrorSchemaValidation', `The request failed schema validation: ${detail}`);
    }
    const root = doc.documentElement!;
    if (root.localName !== 'Envelope' || (root.namespaceURI !== NS.soap && root.namespaceURI !== NS.soap12)) {
      throw new SoapFault('ErrorSchemaValidation', 'The request failed schema validation: the root element is not a SOAP Envelope.');
    }
    const header = child(root, 'Header', root.namespaceURI);
    const soapBody = child(root, 'Body', root.namespaceURI);
    const operation = soapBody ? children(soapBody)[0] : undefined;
    if (!operation) throw new SoapFault('ErrorSchemaValidation', 'The request failed schema validation: the SOAP Body is empty.');
    return { header, operation };
  }

  private async validateRequest(body: string): Promise<void> {
    const result = await this.validator!.validate(body);
    if (!result.valid) {
      const violation = result.errors[0] ?? 'invalid';
      throw new SoapFault('ErrorSchemaValidation', `The request failed schema validation: ${violation}`, `<t:Violation>${violation.replace(/[<>&]/g, ' ')}</t:Violation>`);
    }
  }

  /** Applies one fault; returns the HTTP status when the fault answered the request. */
  private async applyFault(fault: FaultRule, req: IncomingMessage, res: ServerResponse, log: { -readonly [K in keyof RequestLogEntry]?: RequestLogEntry[K] }): Promise<number | undefined> {
    log.fault = `${fault.kind} (${fault.id})`;
    switch (fault.kind) {
      case 'latency':
        await sleep(fault.latencyInMs ?? 1000);
        return undefined;
      case 'serverBusy': {
        const backOff = fault.backOffInMs ?? 30_000;
        this.count(log.operation ?? 'Unknown', true, true);
        return this.sendFault(res, new SoapFault('ErrorServerBusy', undefined, messageXmlValues({ BackOffMilliseconds: backOff })), log);
      }
      case 'exceededConnectionCount':
        this.count(log.operation ?? 'Unknown', true, true);
        return this.sendFault(res, new SoapFault('ErrorExceededConnectionCount', undefined, messageXmlValues({ Policy: 'MaxConcurrency', MaxConcurrencyLimit: 27 })), log);
      case 'http503':
      case 'http429': {
        const status = fault.kind === 'http503' ? 503 : 429;
        const headers: Record<string, string> = { 'content-type': 'text/html' };
        if (fault.retryAfterInSeconds !== undefined || status === 429) headers['retry-after'] = String(fault.retryAfterInSeconds ?? 30);
        res.writeHead(status, headers);
        res.end(status === 503 ? '<html><body><h1>Service Unavailable</h1></body></html>' : '<html><body><h1>Too Many Requests</h1></body></html>');
        this.count(log.operation ?? 'Unknown', true, true);
        return status;
      }
      case 'http500':
        res.writeHead(500, { 'content-type': 'text/html' });
        res.end('<html><body><h1>500 - Internal server error.</h1></body></html>');
        this.count(log.operation ?? 'Unknown', true, true);
        return 500;
      case 'responseCode':
        this.count(log.operation ?? 'Unknown', true, true);
        return this.sendFault(res, new SoapFault(fault.responseCode ?? 'ErrorInternalServerError'), log);
      case 'connectionReset':
        req.socket.destroy();
        this.count(log.operation ?? 'Unknown', true, true);
        return 0;
      case 'invalidSyncState': {
        if (log.operation !== 'SyncFolderItems' && log.operation !== 'SyncFolderHierarchy') return undefined;
        const name = `${log.operation}ResponseMessage`;
        const last = log.operation === 'SyncFolderItems' ? 'IncludesLastItemInRange' : 'IncludesLastFolderInRange';
        const inner =
          `<m:ResponseMessages><m:${name} ResponseClass="Error"><m:MessageText>Synchronization state data is corrupt or otherwise invalid.</m:MessageText>` +
          `<m:ResponseCode>ErrorInvalidSyncStateData</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:SyncState></m:SyncState><m:${last}>true</m:${last}></m:${name}></m:ResponseMessages>`;
        log.responseCodes!.push('ErrorInvalidSyncStateData');
        this.count(log.operation, true, false);
        res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' });
        res.end(envelope(`${log.operation}Response`, inner));
        return 200;
      }
    }
  }

  private sendFault(res: ServerResponse, fault: SoapFault, log: { -readonly [K in keyof RequestLogEntry]?: RequestLogEntry[K] }): number {
    log.responseCodes!.push(fault.code);
    log.fault ??= fault.code;
    res.writeHead(fault.httpStatus, { 'content-type': 'text/xml; charset=utf-8' });
    res.end(faultEnvelope(fault, fault.withServerVersion));
    return fault.httpStatus;
  }

  private count(operation: string, error: boolean, fault: boolean): void {
    let counter = this.state.counters.get(operation);
    if (!counter) {
      counter = { requests: 0, errors: 0, faults: 0 };
      this.state.counters.set(operation, counter);
    }
    counter.requests++;
    if (error) counter.errors++;
    if (fault) counter.faults++;
  }

  private record(entry: RequestLogEntry): void {
    this.state.requestLog.push(entry);
    if (this.state.requestLog.length > this.state.requestLogSize) this.state.requestLog.splice(0, this.state.requestLog.length - this.state.requestLogSize);
  }
}
