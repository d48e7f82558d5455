/**
 * The one place that turns whatever an EWS call threw into a typed EwsError.
 *
 * How ews-javascript-api surfaces failures (read from its source, 0.15):
 * - HTTP 200 with ResponseClass="Error" → ServiceResponseException (ServerBusyException for
 *   ErrorServerBusy); `.Response.ErrorCode` is a ServiceError enum number, named via ServiceError[n].
 * - HTTP 500 with a SOAP fault → a SoapFaultDetails (not an Error) whose ResponseCode enum falls back to
 *   ErrorInternalServerError for names it does not know; we read the raw fault body instead.
 * - Any other status or a network error → a SoapFaultDetails holding only a message and HttpStatusCode;
 *   the headers and network error code are recovered from the RecordingTransport's record.
 */
import type { ServiceError, ServiceResponse, ServiceResponseException } from 'ews-javascript-api';
import { ewsApi } from './ews-api';
import {
  EwsAuthenticationError,
  EwsConfigurationError,
  EwsDisabledError,
  EwsEndpointNotFoundError,
  EwsError,
  EwsProtocolError,
  EwsResponseError,
  EwsThrottledError,
  EwsTlsError,
  EwsUnavailableError,
  type EwsResponseCode,
} from './errors';
import type { TransportFailure } from './transport';

const TLS_ERROR_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
]);

/** Classifies a failure of the EWS call named `operation`. Already-typed errors pass through unchanged. */
export function classifyEwsFailure(thrown: unknown, transportFailure: TransportFailure | undefined, operation: string): EwsError {
  if (thrown instanceof EwsError) return thrown;
  if (transportFailure) return classifyTransportFailure(transportFailure, operation, thrown);
  // Only the long-tail path throws ews-javascript-api's exceptions, and it has loaded the library then.
  const api = ewsApi();
  if (thrown instanceof api.ServiceResponseException) return classifyServiceResponse(thrown, operation);
  if (thrown instanceof api.ServiceLocalException) {
    return new EwsConfigurationError('InvalidArgument', `${operation}: ${exceptionMessage(thrown)}`);
  }
  return new EwsProtocolError(`${operation}: the EWS response could not be read: ${exceptionMessage(thrown)}`, { cause: thrown });
}

function classifyServiceResponse(thrown: ServiceResponseException, operation: string): EwsError {
  return serviceResponseError(thrown.Response, operation, thrown.Message);
}

/** The typed error for an error response message (HTTP 200, ResponseClass Error). */
export function serviceResponseError(response: ServiceResponse, operation: string, fallbackMessage?: string): EwsError {
  const code = responseCodeName(response.ErrorCode);
  const details: Record<string, string> = {};
  const errorDetails = response.ErrorDetails;
  if (errorDetails) for (const key of errorDetails.Keys) details[key] = String(errorDetails.get(key));
  return responseCodeError(code, response.ErrorMessage || fallbackMessage || code, details, operation, 200);
}

/** The name of a ServiceError enum value (numbers come from ews-javascript-api; names from the wire). */
export function responseCodeName(code: ServiceError | undefined): EwsResponseCode {
  if (code === undefined || code === null) return 'ErrorInternalServerError';
  return ewsApi().ServiceError[code] ?? `ServiceError${String(code)}`;
}

/** A response code Exchange returned for a whole request, as its typed error. */
export function responseCodeError(code: EwsResponseCode, message: string, details: Readonly<Record<string, string>>, operation: string, httpStatus: number): EwsError {
  const text = `${operation}: ${code}: ${message}`;
  if (code === 'ErrorServerBusy') {
    const backOff = Number(details.BackOffMilliseconds);
    return new EwsThrottledError('ErrorServerBusy', text, Number.isFinite(backOff) && backOff >= 0 ? backOff : undefined, { httpStatus });
  }
  if (code === 'ErrorExceededConnectionCount') return new EwsThrottledError('ErrorExceededConnectionCount', text, undefined, { httpStatus });
  return new EwsResponseError(code, text, details, { httpStatus });
}

function classifyTransportFailure(failure: TransportFailure, operation: string, thrown: unknown): EwsError {
  const status = failure.status;
  if (status === undefined) return classifyNetworkFailure(failure, operation, thrown);
  const diagnostics = failure.headers['x-ms-diagnostics'];
  const suffix = diagnostics ? ` (${diagnostics})` : '';
  if (status === 500) {
    const fault = failure.bodyText ? parseSoapFault(failure.bodyText) : undefined;
    if (fault) return responseCodeError(fault.responseCode, fault.message, fault.details, operation, 500);
    return new EwsUnavailableError('ServerError', `${operation}: HTTP 500 without a SOAP fault${suffix}`, { httpStatus: 500 });
  }
  if (status === 401) {
    const schemes = authenticationSchemes(failure.headers['www-authenticate']);
    return new EwsAuthenticationError(`${operation}: HTTP 401: the server refused the credentials${schemes.length ? ` (it offers ${schemes.join(', ')})` : ''}${suffix}`, schemes, diagnostics);
  }
  if (status === 429 || status === 503) {
    const retryAfterInMs = parseRetryAfter(failure.headers['retry-after']);
    return new EwsThrottledError(status === 429 ? 'TooManyRequests' : 'ServiceUnavailable', `${operation}: HTTP ${status}${suffix}`, retryAfterInMs, { httpStatus: status });
  }
  if (status === 403) return new EwsDisabledError(`${operation}: HTTP 403: EWS access is blocked for this organisation, application or mailbox${suffix}`, { httpStatus: 403 });
  if (status === 404) return new EwsEndpointNotFoundError('NotFound', `${operation}: HTTP 404: no EWS endpoint at this URL`, { httpStatus: 404 });
  if (status >= 500) return new EwsUnavailableError('ServerError', `${operation}: HTTP ${status}${suffix}`, { httpStatus: status });
  return new EwsProtocolError(`${operation}: unexpected HTTP ${status}${suffix}`, { httpStatus: status });
}

function classifyNetworkFailure(failure: TransportFailure, operation: string, thrown: unknown): EwsError {
  const code = failure.networkCode;
  const message = failure.message ?? exceptionMessage(thrown);
  const text = `${operation}: ${message}`;
  if (code && TLS_ERROR_CODES.has(code)) return new EwsTlsError(code, text);
  switch (code) {
    case 'ETARGETNOTALLOWED':
      // The outbound address policy refused the host at connect time (shared/delivery/address-policy.ts).
      return new EwsConfigurationError('TargetAddressNotAllowed', `${operation}: the EWS host resolves to an address that is not allowed (only public addresses are)`);
    case 'ENOTFOUND':
      return new EwsEndpointNotFoundError('HostNotFound', text);
    case 'EAI_AGAIN':
      return new EwsUnavailableError('DnsTemporaryFailure', text);
    case 'ECONNREFUSED':
      return new EwsUnavailableError('ConnectionRefused', text);
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ERR_BAD_RESPONSE':
      return new EwsUnavailableError('ConnectionReset', text);
    case 'ETIMEDOUT':
    case 'ECONNABORTED':
    case 'ESOCKETTIMEDOUT':
      return new EwsUnavailableError('Timeout', text);
  }
  if (/socket hang up/i.test(message)) return new EwsUnavailableError('ConnectionReset', text);
  // @ewsjs/xhr's NTLM handshake throws this when the server answers without an NTLM challenge.
  if (/www-authenticate not found/i.test(message)) return new EwsAuthenticationError(`${operation}: the server did not offer NTLM authentication`, []);
  return new EwsUnavailableError('NetworkError', text);
}

export interface SoapFaultSummary {
  readonly responseCode: EwsResponseCode;
  readonly message: string;
  readonly details: Readonly<Record<string, string>>;
}

function xmlText(value: string): string {
  return value
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_m, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_m, n: string) => String.fromCodePoint(parseInt(n, 16)))
    .replace(/&amp;/g, '&');
}

/**
 * Reads ResponseCode, Message and MessageXml values from a SOAP fault body. Exchange puts the code in
 * detail/ResponseCode (faultcode carries it too, prefixed); MessageXml holds e.g. BackOffMilliseconds.
 */
export function parseSoapFault(body: string): SoapFaultSummary | undefined {
  if (!/<(?:\w+:)?Fault[\s>]/.test(body)) return undefined;
  const responseCode = /<(?:\w+:)?ResponseCode>\s*([^<\s]+)\s*<\//.exec(body)?.[1];
  const faultCode = /<faultcode[^>]*>\s*(?:[\w.-]+:)?([^<\s]+)\s*<\//.exec(body)?.[1];
  const detailMessage = /<(?:\w+:)?Message>([^<]*)<\//.exec(body)?.[1];
  const faultString = /<faultstring[^>]*>([^<]*)<\//.exec(body)?.[1];
  const details: Record<string, string> = {};
  for (const match of body.matchAll(/<(?:\w+:)?Value\s+Name="([^"]+)"\s*>([^<]*)<\//g)) details[xmlText(match[1]!)] = xmlText(match[2]!);
  const code = responseCode ?? (faultCode && /^Error/.test(faultCode) ? faultCode : undefined);
  if (!code) return undefined;
  return { responseCode: code, message: xmlText(detailMessage ?? faultString ?? code), details };
}

/** Auth schemes offered in a (possibly comma-joined) WWW-Authenticate header: `Basic realm="x", NTLM` → [Basic, NTLM]. */
export function authenticationSchemes(header: string | undefined): string[] {
  if (!header) return [];
  const schemes: string[] = [];
  for (const part of header.split(',')) {
    const match = /^\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)(\s|$)/.exec(part);
    if (match && !/^\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+\s*=/.test(part) && !schemes.includes(match[1]!)) schemes.push(match[1]!);
  }
  return schemes;
}

/** Retry-After as delta-seconds or an HTTP date, in ms from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function exceptionMessage(thrown: unknown): string {
  // ews-javascript-api's Exception carries `Message` (read by shape, so this never loads the library).
  if (typeof thrown === 'object' && thrown !== null && 'Message' in thrown && typeof thrown.Message === 'string') return thrown.Message || thrown.constructor.name;
  if (thrown instanceof Error) return thrown.message;
  if (typeof thrown === 'object' && thrown !== null && 'message' in thrown && typeof thrown.message === 'string') return thrown.message;
  return String(thrown);
}
