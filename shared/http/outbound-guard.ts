/**
 * Rules every outbound call to a server an admin configured (EWS today, Graph later) obeys before a
 * third-party parser sees the answer. Protocol-agnostic: the EWS transport (shared/ews/transport.ts)
 * applies them under ews-javascript-api; another protocol's client applies the same checks.
 *
 * Why: parsers in client libraries assume a well-behaved server. ews-javascript-api 0.15 throws a
 * TypeError outside its promise chain for a 500 whose body is not SOAP (docs/ews-client.md), and no
 * library bounds the total time of a slow-dripping answer or the size of a huge one.
 */
import { stallTolerantTimeout } from './stall-tolerant-timeout';

/** Limits applied to every outbound request. */
export interface OutboundLimits {
  /** Whole exchange, from the first byte sent to the last byte received (not an idle timeout). */
  readonly timeoutInMs: number;
  /** Largest (decoded) response body accepted; larger answers are cut off while they arrive. */
  readonly maxResponseBytes: number;
}

/** 32 MiB: far above any EWS page or GetItem batch we request, far below what would exhaust a worker. */
export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

export type OutboundRefusalCode =
  /** The whole exchange took longer than timeoutInMs (slow drip, no answer). */
  | 'Timeout'
  /** The body grew past maxResponseBytes. */
  | 'ResponseTooLarge'
  /** A success answer whose Content-Type is not the protocol's (HTML login page, JSON from a proxy). */
  | 'UnexpectedContentType'
  /** XML with a document type declaration: entity expansion and external entities are refused outright. */
  | 'XmlDtdRefused'
  /** The body is not the protocol's document (empty, text, truncated, not a SOAP envelope). */
  | 'MalformedResponse';

/** Why the guard refused an answer. The message names no header values and no body content. */
export interface OutboundRefusal {
  readonly code: OutboundRefusalCode;
  readonly message: string;
}

const XML_CONTENT_TYPES = new Set(['text/xml', 'application/xml', 'application/soap+xml']);

/** Media type without parameters, lower case; undefined when absent. */
export function mediaType(contentType: string | undefined): string | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  return type ? type : undefined;
}

/** True for an XML media type; an absent Content-Type is judged by the body alone. */
export function acceptsXmlContentType(contentType: string | undefined): boolean {
  const type = mediaType(contentType);
  return type === undefined || XML_CONTENT_TYPES.has(type) || type.endsWith('+xml');
}

/**
 * A DTD is never legitimate in SOAP (SOAP 1.1 §3: "A SOAP message MUST NOT contain a Document Type
 * Declaration"), so any <!DOCTYPE or <!ENTITY refuses the body: no billion laughs, no external entities.
 */
export function xmlHazard(body: string): OutboundRefusal | undefined {
  // One pass over the body (answers run to megabytes; this runs on every one of them).
  if (/<!(?:DOCTYPE|ENTITY)/i.test(body)) {
    return { code: 'XmlDtdRefused', message: 'The answer contains a document type declaration (DTD); it was refused unread.' };
  }
  return undefined;
}

/**
 * A complete SOAP envelope: after an optional BOM and XML declaration, the root element is an
 * Envelope and the body ends with its end tag. A truncated body, text, HTML or JSON fails here.
 */
export function soapEnvelopeProblem(body: string): OutboundRefusal | undefined {
  const trimmed = body.replace(/^\uFEFF/, '').trim();
  if (trimmed.length === 0) return { code: 'MalformedResponse', message: 'The answer has an empty body where a SOAP envelope was expected.' };
  const withoutDeclaration = trimmed.replace(/^<\?xml[^>]*\?>\s*/, '');
  const root = /^<([A-Za-z_][\w.-]*:)?Envelope[\s>/]/.exec(withoutDeclaration);
  if (!root) return { code: 'MalformedResponse', message: 'The answer is not a SOAP envelope.' };
  const prefix = root[1] ?? '';
  if (!withoutDeclaration.endsWith(`</${prefix}Envelope>`)) return { code: 'MalformedResponse', message: 'The SOAP envelope is incomplete (truncated answer).' };
  return undefined;
}

/**
 * A timer that aborts a controller and can be cancelled; unref'd so it never keeps a process alive.
 * Stall-tolerant (stall-tolerant-timeout.ts): time the thread was blocked (a lazily loaded module's
 * first use, a GC pause) does not count against the server.
 */
export function deadline(timeoutInMs: number, controller: AbortController): { readonly expired: () => boolean; cancel(): void } {
  let expired = false;
  const timer = stallTolerantTimeout(timeoutInMs);
  timer.signal.addEventListener(
    'abort',
    () => {
      expired = true;
      controller.abort();
    },
    { once: true },
  );
  return { expired: () => expired, cancel: () => timer.cancel() };
}

/**
 * Settles with `promise`, or rejects with `onTimeout()` after timeoutInMs: the last line of defence
 * when a library never settles its promise (ews-javascript-api does exactly that after its own throw).
 */
export function settleWithin<T>(promise: Promise<T>, timeoutInMs: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), timeoutInMs);
    timer.unref?.();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
