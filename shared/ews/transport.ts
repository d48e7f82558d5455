/**
 * The HTTP layer under ews-javascript-api, and the guard between a hostile server and the library.
 *
 * Guard: every exchange has a total deadline (timeoutInMs, aborting the socket: a slow drip or a
 * server that never answers ends on time) and a response size cap (maxResponseBytes, enforced while
 * the body arrives). Before the library parses anything, a success answer must be XML (Content-Type),
 * free of any DTD, and a complete SOAP envelope; a 500 reaches the library only when it is a complete
 * SOAP fault. Whatever fails those checks reaches the library as a neutral status-0 failure, which its
 * error path handles without parsing (ews-javascript-api 0.15 otherwise throws a TypeError outside its
 * promise chain for a non-SOAP 500: docs/ews-client.md), and the transport records the refusal so the
 * classifier names it.
 *
 * Record: ews-javascript-api turns HTTP failures into a SoapFaultDetails that drops the headers
 * (Retry-After, WWW-Authenticate) and the network error code; this transport keeps what the failed
 * exchange really looked like. One transport serves one EWS call, so concurrent calls never mix records.
 */
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns';
import type { AxiosRequestConfig } from 'axios';
import type { XhrApi } from '@ewsjs/xhr';
import type { IXHRApi, IXHROptions, IXHRProgress } from 'ews-javascript-api';
import { SpanKind, withSpan } from '../telemetry/tracing';
import {
  acceptsXmlContentType,
  deadline,
  DEFAULT_MAX_RESPONSE_BYTES,
  soapEnvelopeProblem,
  xmlHazard,
  type OutboundRefusal,
} from '../http/outbound-guard';

// @ewsjs/xhr (axios, cookie and NTLM agents: ~120 modules) is required with the first request, not at start-up.
let xhrApiClass: typeof XhrApi | undefined;
function xhrApi(): typeof XhrApi {
  xhrApiClass ??= (require('@ewsjs/xhr') as { XhrApi: typeof XhrApi }).XhrApi;
  return xhrApiClass;
}

/** What a failed HTTP exchange looked like: either the server's answer, or the network error. */
export interface TransportFailure {
  /** HTTP status when the server answered. */
  readonly status: number | undefined;
  /** Response headers, lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly bodyText: string | undefined;
  /** Node/axios error code when no answer came (ECONNREFUSED, ECONNRESET, ECONNABORTED, ENOTFOUND, CERT_HAS_EXPIRED, ...). */
  readonly networkCode: string | undefined;
  readonly message: string | undefined;
  /** Set when the guard refused the answer (or cut it off) before the library could read it. */
  readonly refusal?: OutboundRefusal;
}

type XhrResult = ReturnType<IXHRApi['xhr']>;

export interface TransportSettings {
  /** Total time for one HTTP exchange (NTLM handshake included). */
  readonly timeoutInMs: number;
  /** Largest response body accepted. Default DEFAULT_MAX_RESPONSE_BYTES (32 MiB). */
  readonly maxResponseBytes?: number;
  /** Headers sent with every request (Authorization for Basic/Bearer, X-AnchorMailbox, User-Agent). */
  readonly headers: Readonly<Record<string, string>>;
  /** NTLM handshake credentials; the password is revealed only into the handshake. */
  readonly ntlm?: { readonly username: string; readonly password: string };
  /** Resolves host names for every connection (the outbound address policy checks each address here). */
  readonly lookup?: NodeStyleLookup;
  /** What a 200 must be: a SOAP envelope (default), or any XML document (POX Autodiscover). */
  readonly expect?: 'soap' | 'xml';
}

/** A resolver with dns.lookup's shape (what http.request's `lookup` option takes). */
export type NodeStyleLookup = (hostname: string, options: LookupOneOptions | LookupAllOptions | number | undefined, callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => void;

/** What the library receives instead of an answer the guard refused: its error path reads no body for status 0. */
function neutralFailure(refusal: OutboundRefusal): Record<string, unknown> {
  return {
    status: 0,
    message: refusal.message,
    statusText: refusal.code,
    headers: {},
    responseText: '',
    getResponseHeader: () => null,
    getAllResponseHeaders: () => '',
  };
}

function isSizeCutOff(thrown: unknown): boolean {
  return isRecord(thrown) && typeof thrown.message === 'string' && /maxContentLength size of \d+ exceeded/.test(thrown.message);
}

/** Refusal for a status-200 answer, or undefined when the library may parse it. */
export function successRefusal(contentType: string | undefined, body: string, expect: 'soap' | 'xml' = 'soap'): OutboundRefusal | undefined {
  if (!acceptsXmlContentType(contentType)) return { code: 'UnexpectedContentType', message: 'The answer is not XML (unexpected Content-Type).' };
  return xmlHazard(body) ?? (expect === 'soap' ? soapEnvelopeProblem(body) : undefined);
}

/** Refusal for a status-500 answer: only a complete SOAP fault without a DTD may reach the library. */
export function faultRefusal(body: string | undefined): OutboundRefusal | undefined {
  const text = body ?? '';
  return xmlHazard(text) ?? soapEnvelopeProblem(text) ?? (/<(?:\w+:)?Fault[\s>]/.test(text) ? undefined : { code: 'MalformedResponse', message: 'The HTTP 500 answer is not a SOAP fault.' });
}

export class RecordingTransport implements IXHRApi {
  failure: TransportFailure | undefined;
  readonly #settings: TransportSettings;

  constructor(settings: TransportSettings) {
    this.#settings = settings;
  }

  get apiName(): string {
    return 'guarded;' + this.#inner(new AbortController().signal).apiName;
  }

  #inner(signal: AbortSignal): XhrApi {
    const maxResponseBytes = this.#settings.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    // The options reach axios for the request and for the NTLM handshake (NtlmProvider copies them).
    const inner = new (xhrApi())({
      timeout: this.#settings.timeoutInMs,
      headers: { ...this.#settings.headers },
      maxContentLength: maxResponseBytes,
      maxRedirects: 0,
      signal,
      ...(this.#settings.lookup ? { lookup: this.#settings.lookup as unknown as AxiosRequestConfig['lookup'] } : {}),
    });
    if (this.#settings.ntlm) inner.useNtlmAuthentication(this.#settings.ntlm.username, this.#settings.ntlm.password);
    return inner;
  }

  async xhr(options: IXHROptions, progress?: (data: IXHRProgress) => void): XhrResult {
    // One client span per EWS call, named by its operation (never by mailbox: spans are searched by name).
    const operation = ewsOperationOf(options.data);
    const host = hostOf(options.url);
    return withSpan(`EWS ${operation}`, { kind: SpanKind.CLIENT, attributes: { 'rpc.system': 'ews', 'rpc.method': operation, 'http.request.method': 'POST', ...(host ? { 'server.address': host } : {}) } }, async (span) => {
      try {
        const response = await this.#guardedXhr(options, progress);
        span.setAttribute('http.response.status_code', response.status);
        return response;
      } catch (thrown: unknown) {
        if (this.failure?.status !== undefined) span.setAttribute('http.response.status_code', this.failure.status);
        throw thrown;
      }
    });
  }

  async #guardedXhr(options: IXHROptions, progress?: (data: IXHRProgress) => void): XhrResult {
    this.failure = undefined;
    // @ewsjs/xhr loads on the first request: before the deadline starts, so its load is not the server's time.
    xhrApi();
    const controller = new AbortController();
    const timer = deadline(this.#settings.timeoutInMs, controller);
    const startedAt = performance.now();
    try {
      const response = await this.#inner(controller.signal).xhr(options, progress);
      const headers = normaliseHeaders((response as unknown as { headers?: unknown }).headers);
      const body = typeof response.responseText === 'string' ? response.responseText : '';
      const refusal = successRefusal(headers['content-type'], body, this.#settings.expect);
      if (!refusal) return response;
      this.failure = { status: 200, headers, bodyText: undefined, networkCode: undefined, message: refusal.message, refusal };
      throw neutralFailure(refusal);
    } catch (thrown: unknown) {
      if (this.failure?.refusal) throw thrown;
      if (timer.expired()) return this.#refuse({ code: 'Timeout', message: `No complete answer within ${this.#settings.timeoutInMs} ms.` });
      if (isSizeCutOff(thrown)) return this.#refuse({ code: 'ResponseTooLarge', message: `The answer exceeded ${this.#settings.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES} bytes and was cut off.` });
      const failure = describeTransportFailure(thrown);
      // No HTTP answer and the deadline's time has passed: a timeout, even when a timer inside the
      // library (NTLM's handshake on Node 22) fails first with an error of its own, before ours fires
      // (ours is stall-tolerant, so it can fire a little after the wall-clock deadline).
      if (failure.status === undefined && performance.now() - startedAt >= this.#settings.timeoutInMs) return this.#refuse({ code: 'Timeout', message: `No complete answer within ${this.#settings.timeoutInMs} ms.` });
      this.failure = failure;
      // The library parses a 500's body (ProcessWebException) and throws outside its promise chain when it is not SOAP.
      const refusal = failure.status === 500 ? faultRefusal(failure.bodyText) : undefined;
      if (refusal) {
        // A bare 500 stays a server error (retryable); a DTD is refused as such.
        this.failure = refusal.code === 'XmlDtdRefused' ? { ...failure, bodyText: undefined, refusal } : { ...failure, bodyText: undefined };
        throw neutralFailure(refusal);
      }
      throw thrown;
    } finally {
      timer.cancel();
    }
  }

  #refuse(refusal: OutboundRefusal): never {
    this.failure = { status: undefined, headers: {}, bodyText: undefined, networkCode: undefined, message: refusal.message, refusal };
    throw neutralFailure(refusal);
  }

  /** Streaming (EWS streaming notifications) is not used by the connector and would bypass the guard. */
  xhrStream(): XhrResult {
    return Promise.reject(new Error('Streaming EWS requests are not supported by the guarded transport.'));
  }

  disconnect(): void {}
}

function ewsOperationOf(body: unknown): string {
  if (typeof body !== 'string') return 'request';
  const match = /<(?:[\w-]+:)?Body\b[^>]*>\s*<(?:[\w-]+:)?([A-Za-z]+)/.exec(body.slice(0, 8192));
  return match?.[1] ?? 'request';
}

function hostOf(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function normaliseHeaders(raw: unknown): Record<string, string> {
  if (!isRecord(raw)) return {};
  // axios hands an AxiosHeaders instance; toJSON() gives its plain form.
  const plain = typeof raw.toJSON === 'function' ? (raw.toJSON as () => unknown)() : raw;
  const headers: Record<string, string> = {};
  if (!isRecord(plain)) return headers;
  for (const [name, value] of Object.entries(plain)) {
    if (typeof value === 'string') headers[name.toLowerCase()] = value;
    else if (Array.isArray(value)) headers[name.toLowerCase()] = value.join(', ');
    else if (typeof value === 'number') headers[name.toLowerCase()] = String(value);
  }
  return headers;
}

/** Reads what @ewsjs/xhr rejects with: a response-like object for non-200 answers, or the (mutated) axios error. */
export function describeTransportFailure(thrown: unknown): TransportFailure {
  if (!isRecord(thrown)) return { status: undefined, headers: {}, bodyText: undefined, networkCode: undefined, message: String(thrown) };
  const isAxiosError = thrown.isAxiosError === true;
  const status = !isAxiosError && typeof thrown.status === 'number' ? thrown.status : undefined;
  const cause = isRecord(thrown.cause) ? thrown.cause : undefined;
  const networkCode = typeof thrown.code === 'string' ? thrown.code : cause && typeof cause.code === 'string' ? cause.code : undefined;
  return {
    status,
    headers: status === undefined ? {} : normaliseHeaders(thrown.headers),
    bodyText: status !== undefined && typeof thrown.responseText === 'string' ? thrown.responseText : undefined,
    networkCode: status === undefined ? networkCode : undefined,
    message: typeof thrown.message === 'string' ? thrown.message : undefined,
  };
}
