/**
 * A loopback HTTP server that misbehaves on purpose, protocol-agnostic: every case gets its own URL
 * path (`${url}/case/<id>/...`), so one server serves a whole matrix of cases concurrently. A protocol
 * plugs in only its documents (HostileDocuments: a valid answer to a different operation, a
 * truncated one); statuses, body kinds, XML hazards and the network behaviours are shared.
 *
 * Used by test/ews/hostile-server.test.ts; a Graph client reuses it with JSON documents.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, listen } from '../../dev/server-lifecycle';

export const HOSTILE_STATUSES = [200, 400, 401, 403, 404, 429, 500, 502, 503] as const;
export type HostileStatus = (typeof HOSTILE_STATUSES)[number];

export const BODY_KINDS = ['empty', 'text', 'html', 'json', 'truncated', 'wrongOperation', 'invalidUtf8', 'huge'] as const;
export type BodyKind = (typeof BODY_KINDS)[number];

export const XML_HAZARDS = ['doctype', 'billionLaughs', 'externalEntity'] as const;
export type XmlHazard = (typeof XML_HAZARDS)[number];

export const NETWORK_BEHAVIOURS = ['slowDrip', 'resetMidBody', 'noAnswer'] as const;
export type NetworkBehaviour = (typeof NETWORK_BEHAVIOURS)[number];

/** The 50 MB body of the matrix; streamed lazily so a client that cuts it off costs only what it read. */
export const HUGE_BODY_BYTES = 50 * 1024 * 1024;

/** What a protocol contributes: real documents of its own, used as hostile bodies. */
export interface HostileDocuments {
  /** A complete, valid answer — to some other operation than the one asked. */
  readonly wrongOperation: string;
  /** A valid answer cut off in the middle. */
  readonly truncated: string;
  /** The media type of the protocol's documents (text/xml; charset=utf-8, application/json). */
  readonly contentType: string;
  /** A well-formed document carrying `inner` where the protocol puts data, for the XML hazards. */
  wrap(inner: string): string;
}

export type HostileBehaviour =
  | { readonly kind: 'answer'; readonly status: HostileStatus; readonly body: BodyKind }
  | { readonly kind: 'xmlHazard'; readonly status: HostileStatus; readonly hazard: XmlHazard }
  | { readonly kind: 'network'; readonly behaviour: NetworkBehaviour }
  /** A normal answer (e.g. the first step of a two-call operation), then `then` for the next request of the case. */
  | { readonly kind: 'sequence'; readonly first: (request: HostileRequest) => { status: number; contentType: string; body: string }; readonly then: HostileBehaviour };

export interface HostileRequest {
  readonly method: string;
  readonly body: string;
}

export interface HostileServer {
  readonly url: string;
  /** Registers a case; the returned URL (a path under this server) answers with `behaviour`. */
  caseUrl(behaviour: HostileBehaviour, path?: string): string;
  /** Requests received per case id. */
  readonly requestCounts: Map<string, number>;
  /** Slow-drip and no-answer responses the client has not closed yet. */
  openResponses(): number;
  /** Requests to the URL external entities point at: must stay 0. */
  readonly externalFetches: number;
  close(): Promise<void>;
}

const BILLION_LAUGHS =
  '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">' +
  '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;"><!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">' +
  '<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;"><!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"><!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">' +
  '<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>';

/** The hostile XML documents; `externalUrl` is where an external entity would point (must never be fetched). */
export function hazardDocument(hazard: XmlHazard, documents: HostileDocuments, externalUrl: string): string {
  const declaration = '<?xml version="1.0" encoding="utf-8"?>';
  const body = documents.wrap(hazard === 'doctype' ? 'plain' : hazard === 'billionLaughs' ? '&lol9;' : '&xxe;');
  const withoutDeclaration = body.replace(/^<\?xml[^>]*\?>/, '');
  switch (hazard) {
    case 'doctype':
      return `${declaration}<!DOCTYPE Envelope>${withoutDeclaration}`;
    case 'billionLaughs':
      return `${declaration}${BILLION_LAUGHS}${withoutDeclaration}`;
    case 'externalEntity':
      return `${declaration}<!DOCTYPE Envelope [<!ENTITY xxe SYSTEM "${externalUrl}">]>${withoutDeclaration}`;
  }
}

function plainBody(kind: Exclude<BodyKind, 'huge'>, documents: HostileDocuments): { contentType: string | undefined; body: Buffer } {
  switch (kind) {
    case 'empty':
      return { contentType: undefined, body: Buffer.alloc(0) };
    case 'text':
      return { contentType: 'text/plain', body: Buffer.from('Internal failure, please try again later.') };
    case 'html':
      return { contentType: 'text/html', body: Buffer.from('<html><head><title>Sign in</title></head><body><form action="/login"><input name="password"></form></body></html>') };
    case 'json':
      return { contentType: 'application/json', body: Buffer.from('{"error":{"code":"InternalError","message":"upstream failed"}}') };
    case 'truncated':
      return { contentType: documents.contentType, body: Buffer.from(documents.truncated) };
    case 'wrongOperation':
      return { contentType: documents.contentType, body: Buffer.from(documents.wrongOperation) };
    case 'invalidUtf8':
      return { contentType: documents.contentType, body: Buffer.concat([Buffer.from('<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1]), Buffer.from('</s:Body>')]) };
  }
}

/** Writes `total` bytes in chunks, honouring back-pressure, and stops as soon as the client goes away. */
function streamHuge(res: ServerResponse, status: number, total: number, contentType: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': String(total) });
  const chunk = Buffer.alloc(64 * 1024, 'A');
  let sent = 0;
  const pump = (): void => {
    while (sent < total && !res.destroyed) {
      const size = Math.min(chunk.length, total - sent);
      sent += size;
      if (!res.write(size === chunk.length ? chunk : chunk.subarray(0, size))) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  pump();
}

function answer(behaviour: HostileBehaviour, res: ServerResponse, req: IncomingMessage, documents: HostileDocuments, externalUrl: string, held: Set<ServerResponse>): void {
  switch (behaviour.kind) {
    case 'answer': {
      if (behaviour.body === 'huge') {
        streamHuge(res, behaviour.status, HUGE_BODY_BYTES, documents.contentType);
        return;
      }
      const { contentType, body } = plainBody(behaviour.body, documents);
      res.writeHead(behaviour.status, { ...(contentType ? { 'content-type': contentType } : {}), ...(behaviour.status === 429 || behaviour.status === 503 ? { 'retry-after': '1' } : {}) });
      res.end(body);
      return;
    }
    case 'xmlHazard':
      res.writeHead(behaviour.status, { 'content-type': documents.contentType });
      res.end(hazardDocument(behaviour.hazard, documents, externalUrl));
      return;
    case 'network':
      switch (behaviour.behaviour) {
        case 'slowDrip': {
          // One byte a second, forever: only a total deadline ends it.
          res.writeHead(200, { 'content-type': documents.contentType });
          res.flushHeaders();
          hold(res, held);
          const text = documents.wrongOperation;
          let index = 0;
          const timer = setInterval(() => {
            if (res.destroyed) return clearInterval(timer);
            res.write(text[index++ % text.length]!);
          }, 1000);
          res.on('close', () => clearInterval(timer));
          return;
        }
        case 'resetMidBody':
          res.writeHead(200, { 'content-type': documents.contentType, 'content-length': String(documents.wrongOperation.length) });
          res.write(documents.wrongOperation.slice(0, documents.wrongOperation.length >> 1), () => req.socket.destroy());
          return;
        case 'noAnswer':
          // Keep the socket open and never answer.
          hold(res, held);
          return;
      }
      return;
    case 'sequence':
      return; // handled by the router (needs per-case state)
  }
}

function hold(res: ServerResponse, held: Set<ServerResponse>): void {
  held.add(res);
  res.on('close', () => held.delete(res));
}

/**
 * Starts the server on 127.0.0.1. `documents` may depend on the request (the operation asked), so a
 * "wrong operation" answer is always another operation than the one requested.
 */
export async function startHostileServer(documentsFor: (request: HostileRequest) => HostileDocuments): Promise<HostileServer> {
  const cases = new Map<string, HostileBehaviour>();
  const steps = new Map<string, number>();
  const requestCounts = new Map<string, number>();
  const held = new Set<ServerResponse>();
  let externalFetches = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    req.on('end', () => {
      const path = req.url ?? '/';
      if (path.startsWith('/external-entity')) {
        externalFetches++;
        res.writeHead(200, { 'content-type': 'text/plain' }).end('secret-file-contents');
        return;
      }
      const id = /^\/case\/([^/]+)\//.exec(path)?.[1];
      let behaviour = id ? cases.get(id) : undefined;
      if (!id || !behaviour) {
        res.writeHead(404).end();
        return;
      }
      requestCounts.set(id, (requestCounts.get(id) ?? 0) + 1);
      const received: HostileRequest = { method: req.method ?? '', body: Buffer.concat(chunks).toString('utf8') };
      const documents = documentsFor(received);
      // A sequence answers its first step once per case, then behaves as `then`.
      if (behaviour.kind === 'sequence') {
        const step = steps.get(id) ?? 0;
        steps.set(id, step + 1);
        if (step === 0) {
          const first = behaviour.first(received);
          res.writeHead(first.status, { 'content-type': first.contentType }).end(first.body);
          return;
        }
        behaviour = behaviour.then;
      }
      answer(behaviour, res, req, documents, `${base}/external-entity`, held);
    });
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  await listen(server, 0, '127.0.0.1');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let next = 0;
  return {
    url: base,
    requestCounts,
    caseUrl(behaviour, path = '/EWS/Exchange.asmx') {
      const id = `c${++next}`;
      cases.set(id, behaviour);
      return `${base}/case/${id}${path}`;
    },
    openResponses: () => held.size,
    get externalFetches() {
      return externalFetches;
    },
    async close() {
      for (const res of held) res.destroy();
      await closeServer(server);
    },
  };
}

/** Human-readable case name for test output. */
export function describeBehaviour(behaviour: HostileBehaviour): string {
  switch (behaviour.kind) {
    case 'answer':
      return `HTTP ${behaviour.status} + ${behaviour.body}`;
    case 'xmlHazard':
      return `HTTP ${behaviour.status} + ${behaviour.hazard}`;
    case 'network':
      return behaviour.behaviour;
    case 'sequence':
      return `then ${describeBehaviour(behaviour.then)}`;
  }
}

/** Collects unhandled rejections and uncaught exceptions while `run` runs (they would crash a worker). */
export async function watchProcessFailures<T>(run: () => Promise<T>): Promise<{ readonly result: T; readonly failures: readonly string[] }> {
  const failures: string[] = [];
  const onRejection = (reason: unknown) => failures.push(`unhandledRejection: ${reason instanceof Error ? reason.stack ?? reason.message : String(reason)}`);
  const onException = (error: Error) => failures.push(`uncaughtException: ${error.stack ?? error.message}`);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  try {
    const result = await run();
    // Rejections are reported after a turn of the event loop.
    await new Promise((resolve) => setTimeout(resolve, 50));
    return { result, failures };
  } finally {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  }
}

/** Runs tasks with at most `limit` in flight. */
export async function inParallel<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let index = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (index < items.length) {
      const mine = index++;
      results[mine] = await task(items[mine]!);
    }
  });
  await Promise.all(workers);
  return results;
}
