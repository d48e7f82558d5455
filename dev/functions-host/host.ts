/**
 * A local stand-in for the Azure Functions host + Node.js worker (Core Tools cannot be
 * installed here). It loads the app exactly as Azure does (package.json "main"), takes the
 * functions from the app's function registry, and serves them: HTTP on a port, timers on
 * their schedules, storage queues by polling (Azurite locally).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registeredFunctions, type RegisteredFunction } from '../../shared/runtime/function-registry';
import { appEntryPoints, loadApp, resolveAppSettingExpression } from './app-loader';
import { isAuthorized, presentedKey, type FunctionKeys } from './function-keys';
import { readHostJson, type HostJsonOptions, type QueueHostOptions } from './host-config';
import { consoleHostLog, withoutTestModeWarnings, type HostLogSink } from './host-log';
import { buildHttpRoutes, HttpRouter, readBody, requestHeaders } from './http-router';
import { InvocationTracker, type InvocationRecord } from './invocations';
import { queueConnectionString, QueueTrigger } from './queue-trigger';
import { parseSchedule, TimerTrigger } from './timer-trigger';

export type { FunctionKeys } from './function-keys';
export type { HostLogLevel, HostLogSink } from './host-log';
export type { InvocationRecord, InvocationStatus, TriggerKind } from './invocations';

/** The Functions host's default maximum request body: 100 MB. */
export const DEFAULT_MAX_REQUEST_BODY_SIZE_IN_BYTES = 104_857_600;

export interface StartFunctionsHostOptions {
  /** Folder holding package.json and host.json. */
  readonly projectRoot: string;
  /** Default 7071; 0 picks a free port. */
  readonly port?: number;
  /** Interface to listen on; default 127.0.0.1 (loopback only). */
  readonly hostname?: string;
  /** App settings, put into process.env before the app is loaded (restored on close). */
  readonly settings: Readonly<Record<string, string>>;
  /** Keys for 'function' and 'admin' authLevel functions. Without a master key, admin functions always answer 401. */
  readonly functionKeys?: FunctionKeys;
  /** Files to load instead of package.json "main" (absolute or relative to projectRoot). */
  readonly appEntryPoints?: readonly string[];
  /** Where host and function log lines go; default the console. */
  readonly log?: HostLogSink;
  /** How long close() waits for running invocations before abandoning them; default 10 s. */
  readonly shutdownGracePeriodInMs?: number;
  /** Default 100 MB, as the host. Larger bodies get 413. */
  readonly maxRequestBodySizeInBytes?: number;
  /** Overrides of host.json extensions.queues (e.g. a short visibilityTimeout in tests). */
  readonly queues?: Partial<QueueHostOptions>;
  /** Overrides host.json extensions.http.routePrefix. */
  readonly routePrefix?: string;
  /** Status for a known route called with a method it does not accept: 404 like Azure (default) or 405 with Allow. */
  readonly methodMismatchStatus?: 404 | 405;
}

export interface FunctionDescription {
  readonly name: string;
  readonly kind: RegisteredFunction['kind'];
  /** http: methods and URL; timer: schedule; storageQueue: queue name. */
  readonly detail: string;
}

export interface FunctionsHost {
  /** Base URL, e.g. http://127.0.0.1:7071 (routes are under /api). */
  readonly url: string;
  readonly port: number;
  /** What the host serves, as listed at start-up. */
  readonly functions: readonly FunctionDescription[];
  /** Every invocation so far (the last 1000), oldest first. */
  invocations(): InvocationRecord[];
  /** Resolves with the first invocation ending (or already ended) that satisfies `predicate`. */
  waitForInvocation(predicate: (record: InvocationRecord) => boolean, options?: { timeoutInMs?: number }): Promise<InvocationRecord>;
  /** Stops accepting work, waits up to the grace period for running invocations, reports abandoned ones. Idempotent. */
  close(): Promise<void>;
}

class HostStartError extends Error {
  readonly code = 'HostStartError';
}

function applySettings(settings: Readonly<Record<string, string>>): () => void {
  const previous = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(settings)) {
    previous.set(name, process.env[name]);
    process.env[name] = value;
  }
  return () => {
    for (const [name, value] of previous) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

function listen(server: Server, port: number, hostname: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, hostname, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

interface Triggers {
  readonly timers: Map<string, TimerTrigger>;
  readonly queues: Map<string, QueueTrigger>;
}

function createTriggers(functions: readonly RegisteredFunction[], hostJson: HostJsonOptions, tracker: InvocationTracker, log: HostLogSink): Triggers {
  const timers = new Map<string, TimerTrigger>();
  const queues = new Map<string, QueueTrigger>();
  const timeZone = process.env.WEBSITE_TIME_ZONE ?? process.env.TZ;
  for (const definition of functions) {
    if (definition.kind === 'timer') {
      const expression = resolveAppSettingExpression(definition.options.schedule, process.env, `Timer '${definition.name}' schedule`);
      timers.set(definition.name, new TimerTrigger({ functionName: definition.name, options: definition.options, schedule: parseSchedule(expression, timeZone), tracker, log }));
    } else if (definition.kind === 'storageQueue') {
      const queueName = resolveAppSettingExpression(definition.options.queueName, process.env, `Queue trigger '${definition.name}' queueName`);
      const connectionString = queueConnectionString(definition.options.connection || 'AzureWebJobsStorage', process.env);
      queues.set(definition.name, new QueueTrigger({ functionName: definition.name, options: definition.options, queueName, connectionString, host: hostJson.queues, tracker, log }));
    }
  }
  return { timers, queues };
}

function describe(functions: readonly RegisteredFunction[], router: HttpRouter, baseUrl: string, triggers: Triggers): FunctionDescription[] {
  const routes = new Map(router.describe(baseUrl).map((r) => [r.functionName, r]));
  return functions.map((definition) => {
    if (definition.kind === 'http') {
      const route = routes.get(definition.name)!;
      return { name: definition.name, kind: definition.kind, detail: `[${route.methods.join(',')}] ${route.url} (authLevel ${route.authLevel})` };
    }
    if (definition.kind === 'timer') return { name: definition.name, kind: definition.kind, detail: `timerTrigger ${definition.options.schedule}` };
    return { name: definition.name, kind: definition.kind, detail: `queueTrigger '${definition.options.queueName}' (poison: ${triggers.queues.get(definition.name)?.poisonQueueName})` };
  });
}

/** The host's admin API: POST /admin/functions/{name} {"input": "..."} runs a non-HTTP function (master key required). */
function adminApi(keys: FunctionKeys, triggers: Triggers, log: HostLogSink) {
  return async (request: IncomingMessage, response: ServerResponse, url: URL): Promise<boolean> => {
    if (!url.pathname.toLowerCase().startsWith('/admin/')) return false;
    const reply = (status: number, body?: object) => {
      const text = body ? JSON.stringify(body) : '';
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
      response.end(text);
    };
    if (!isAuthorized('admin', '', presentedKey(new Headers(requestHeaders(request)), url), keys)) {
      reply(401);
      return true;
    }
    if (url.pathname.toLowerCase() === '/admin/host/status' && request.method === 'GET') {
      reply(200, { state: 'Running', version: 'local' });
      return true;
    }
    const invoke = /^\/admin\/functions\/([^/]+)$/i.exec(url.pathname);
    if (!invoke || request.method !== 'POST') {
      reply(404);
      return true;
    }
    const name = decodeURIComponent(invoke[1]!);
    const timer = triggers.timers.get(name);
    const queue = triggers.queues.get(name);
    if (!timer && !queue) {
      reply(404);
      return true;
    }
    let input = '';
    try {
      const parsed = JSON.parse((await readBody(request, 1_048_576)).toString('utf8') || '{}') as { input?: unknown };
      input = typeof parsed.input === 'string' ? parsed.input : '';
    } catch {
      reply(400, { error: 'Body must be JSON like {"input": "..."}' });
      return true;
    }
    const run = timer ? timer.invokeManually() : queue!.invokeManually(input);
    run.catch((error: unknown) => log('error', `Manual invocation of '${name}' failed: ${(error as Error).message}`));
    reply(202);
    return true;
  };
}

export async function startFunctionsHost(options: StartFunctionsHostOptions): Promise<FunctionsHost> {
  const log = options.log ?? consoleHostLog;
  const restoreSettings = applySettings(options.settings);
  try {
    const fromFile = readHostJson(options.projectRoot);
    const hostJson: HostJsonOptions = {
      ...fromFile,
      routePrefix: options.routePrefix ?? fromFile.routePrefix,
      queues: { ...fromFile.queues, ...options.queues },
    };
    // @azure/functions warns about "test mode" once per function here: expected outside the real
    // worker (the library has no switch); the registry below is what this host serves.
    const loaded = withoutTestModeWarnings(() => loadApp(options.projectRoot, options.appEntryPoints ?? appEntryPoints(options.projectRoot)));
    if (loaded.suppressed > 0) log('debug', `@azure/functions is in test mode outside the Functions worker (${loaded.suppressed} warnings hidden); this host serves the recorded registrations`);
    const functions = [...registeredFunctions()];
    const tracker = new InvocationTracker(log, hostJson.functionTimeoutInMs);
    const keys = options.functionKeys ?? {};
    const triggers = createTriggers(functions, hostJson, tracker, log);
    const router = new HttpRouter(
      buildHttpRoutes(functions.flatMap((f) => (f.kind === 'http' ? [{ name: f.name, options: f.options }] : []))),
      {
        routePrefix: hostJson.routePrefix,
        keys,
        maxRequestBodySizeInBytes: options.maxRequestBodySizeInBytes ?? DEFAULT_MAX_REQUEST_BODY_SIZE_IN_BYTES,
        methodMismatchStatus: options.methodMismatchStatus ?? 404,
        tracker,
        log,
        admin: adminApi(keys, triggers, log),
      },
    );
    return await serve(options, { log, restoreSettings, functions, tracker, triggers, router });
  } catch (error) {
    restoreSettings();
    throw error;
  }
}

interface HostParts {
  readonly log: HostLogSink;
  readonly restoreSettings: () => void;
  readonly functions: readonly RegisteredFunction[];
  readonly tracker: InvocationTracker;
  readonly triggers: Triggers;
  readonly router: HttpRouter;
}

async function serve(options: StartFunctionsHostOptions, parts: HostParts): Promise<FunctionsHost> {
  const { log, tracker, triggers, router } = parts;
  const hostname = options.hostname ?? '127.0.0.1';
  let baseUrl = '';
  const server = createServer((request, response) => {
    router.handle(request, response, baseUrl).catch((error: unknown) => {
      log('error', `Request ${request.method} ${request.url} failed in the host: ${(error as Error).stack ?? String(error)}`);
      if (!response.headersSent) response.writeHead(500, { 'content-length': '0' });
      response.end();
    });
  });
  const port = await listen(server, options.port ?? 7071, hostname);
  const urlHost = hostname.includes(':') ? `[${hostname}]` : hostname === '0.0.0.0' ? '127.0.0.1' : hostname;
  baseUrl = `http://${urlHost}:${port}`;
  const startedQueues: QueueTrigger[] = [];
  try {
    for (const queue of triggers.queues.values()) {
      await queue.start();
      startedQueues.push(queue);
    }
  } catch (error) {
    await Promise.all(startedQueues.map((q) => q.stop()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw new HostStartError(`A queue trigger could not start: ${(error as Error).message}`, { cause: error });
  }
  for (const timer of triggers.timers.values()) timer.start();

  const functions = describe(parts.functions, router, baseUrl, triggers);
  log('info', `Functions host listening on ${baseUrl} (${functions.length} functions)`);
  log('debug', `Functions:\n${functions.map((f) => `  ${f.name}: ${f.detail}`).join('\n')}`);

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    log('info', 'Functions host stopping: no new work is accepted');
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    for (const timer of triggers.timers.values()) timer.stop();
    await Promise.all([...triggers.queues.values()].map((q) => q.stop()));
    const gracePeriodInMs = options.shutdownGracePeriodInMs ?? 10_000;
    const abandoned = await tracker.drain(gracePeriodInMs);
    if (abandoned.length > 0) {
      const list = abandoned.map((r) => `  ${r.functionName} (Id=${r.invocationId}, ${r.trigger}, running ${Date.now() - r.startedAt.getTime()} ms)`).join('\n');
      log('error', `Functions host stopped with ${abandoned.length} invocation(s) still running after the ${gracePeriodInMs} ms grace period; they were abandoned:\n${list}`);
      const released = (await Promise.all([...triggers.queues.values()].map((q) => q.releaseAbandoned()))).flat();
      if (released.length > 0) log('warn', `Released ${released.length} queue message(s) of abandoned invocations for another attempt`);
    }
    server.closeAllConnections();
    await serverClosed;
    parts.restoreSettings();
    log('info', 'Functions host stopped');
  };

  return {
    url: baseUrl,
    port,
    functions,
    invocations: () => tracker.list(),
    waitForInvocation: (predicate, waitOptions) => waitForInvocation(tracker, predicate, waitOptions?.timeoutInMs ?? 30_000),
    close: () => (closing ??= close()),
  };
}

function waitForInvocation(tracker: InvocationTracker, predicate: (record: InvocationRecord) => boolean, timeoutInMs: number): Promise<InvocationRecord> {
  const done = tracker.list().find((r) => r.status !== 'running' && predicate(r));
  if (done) return Promise.resolve(done);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`No matching invocation ended within ${timeoutInMs} ms`));
    }, timeoutInMs);
    const unsubscribe = tracker.onEnded((record) => {
      if (!predicate(record)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(record);
    });
  });
}
