/**
 * The HTTP layer under ews-javascript-api. ews-javascript-api turns HTTP failures into a
 * SoapFaultDetails that drops the headers (Retry-After, WWW-Authenticate) and the network error
 * code; this transport keeps what the failed exchange really looked like so the classifier can
 * name the failure. One transport serves one EWS call, so concurrent calls never mix records.
 */
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns';
import type { AxiosRequestConfig } from 'axios';
import type { XhrApi } from '@ewsjs/xhr';
import type { IXHRApi, IXHROptions, IXHRProgress } from 'ews-javascript-api';
import { SpanKind, withSpan } from '../telemetry/tracing';

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
}

type XhrResult = ReturnType<IXHRApi['xhr']>;

export interface TransportSettings {
  readonly timeoutInMs: number;
  /** Headers sent with every request (Authorization for Basic/Bearer, X-AnchorMailbox, User-Agent). */
  readonly headers: Readonly<Record<string, string>>;
  /** NTLM handshake credentials; the password is revealed only into the handshake. */
  readonly ntlm?: { readonly username: string; readonly password: string };
  /** Resolves host names for every connection (the outbound address policy checks each address here). */
  readonly lookup?: NodeStyleLookup;
}

/** A resolver with dns.lookup's shape (what http.request's `lookup` option takes). */
export type NodeStyleLookup = (hostname: string, options: LookupOneOptions | LookupAllOptions | number | undefined, callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => void;

export class RecordingTransport implements IXHRApi {
  failure: TransportFailure | undefined;
  readonly #inner: XhrApi;

  constructor(settings: TransportSettings) {
    this.#inner = new (xhrApi())({ timeout: settings.timeoutInMs, headers: { ...settings.headers }, ...(settings.lookup ? { lookup: settings.lookup as unknown as AxiosRequestConfig['lookup'] } : {}) });
    if (settings.ntlm) this.#inner.useNtlmAuthentication(settings.ntlm.username, settings.ntlm.password);
  }

  get apiName(): string {
    return this.#inner.apiName;
  }

  async xhr(options: IXHROptions, progress?: (data: IXHRProgress) => void): XhrResult {
    this.failure = undefined;
    // One client span per EWS call, named by its operation (never by mailbox: spans are searched by name).
    const operation = ewsOperationOf(options.data);
    const host = hostOf(options.url);
    return withSpan(`EWS ${operation}`, { kind: SpanKind.CLIENT, attributes: { 'rpc.system': 'ews', 'rpc.method': operation, 'http.request.method': 'POST', ...(host ? { 'server.address': host } : {}) } }, async (span) => {
      try {
        const response = await this.#inner.xhr(options, progress);
        span.setAttribute('http.response.status_code', response.status);
        return response;
      } catch (thrown: unknown) {
        this.failure = describeTransportFailure(thrown);
        if (this.failure.status !== undefined) span.setAttribute('http.response.status_code', this.failure.status);
        throw thrown;
      }
    });
  }

  xhrStream(options: IXHROptions, progress: (data: IXHRProgress) => void): XhrResult {
    return this.#inner.xhrStream(options, progress);
  }

  disconnect(): void {
    this.#inner.disconnect();
  }
}

/** The first element inside the SOAP Body: the EWS operation (SyncFolderItems, GetItem, ...). */
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
