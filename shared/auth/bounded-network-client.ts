/**
 * MSAL's network module with a total deadline and a size cap on every request. MSAL's own HttpClient
 * sets no timeout on POSTs (the token endpoint) and reads any body size, so a token endpoint that
 * never answers, or drips, would hold a sync job or a sign-in forever. Failures surface as MSAL
 * client errors with errorCode `network_error`, which toEntraAuthError maps to the transient
 * EntraUnavailable.
 */
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import type { OutboundLimits } from '../http/outbound-guard';
import { isStaleConnectionFailure, stallTolerantTimeout } from '../http/stall-tolerant-timeout';

/** Entra answers in well under a second; 30 s covers a slow proxy. Token responses are a few KiB. */
export const DEFAULT_ENTRA_LIMITS: OutboundLimits = { timeoutInMs: 30_000, maxResponseBytes: 1024 * 1024 };

/** Shaped like MSAL's client errors (errorCode + errorMessage), so the existing mapping reads it. */
export class EntraNetworkError extends Error {
  readonly errorCode = 'network_error';
  readonly errorMessage: string;

  constructor(message: string) {
    super(message);
    this.name = 'EntraNetworkError';
    this.errorMessage = message;
  }
}

async function readCapped(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > maxBytes) throw new EntraNetworkError(`The identity provider's answer exceeded ${maxBytes} bytes.`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class BoundedNetworkClient implements INetworkModule {
  readonly #limits: OutboundLimits;

  constructor(limits: Partial<OutboundLimits> = {}) {
    this.#limits = { ...DEFAULT_ENTRA_LIMITS, ...limits };
  }

  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    return this.#send<T>('GET', url, options, timeout ? Math.min(timeout, this.#limits.timeoutInMs) : this.#limits.timeoutInMs);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.#send<T>('POST', url, options, this.#limits.timeoutInMs);
  }

  async #send<T>(method: 'GET' | 'POST', url: string, options: NetworkRequestOptions | undefined, timeoutInMs: number): Promise<NetworkResponse<T>> {
    // One signal for connect, headers and the whole body: a slow drip ends too. Stall-tolerant: time
    // this thread was blocked (a lazy require, GC) does not count against Entra (stall-tolerant-timeout.ts).
    const deadline = stallTolerantTimeout(timeoutInMs);
    const signal = deadline.signal;
    try {
      const send = (): Promise<Response> => fetch(url, { method, headers: { ...(options?.headers ?? {}) }, ...(method === 'POST' ? { body: options?.body ?? '' } : {}), signal, redirect: 'manual' });
      let response: Response;
      try {
        response = await send();
      } catch (error) {
        // A GET (OpenID configuration, instance metadata) on a stale pooled connection is sent once more;
        // a POST is not, as Entra may have acted on it (an authorization code is redeemed once).
        if (method !== 'GET' || signal.aborted || !isStaleConnectionFailure(error)) throw error;
        response = await send();
      }
      const text = await readCapped(response, this.#limits.maxResponseBytes);
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => (headers[name.toLowerCase()] = value));
      let body: T;
      try {
        body = JSON.parse(text) as T;
      } catch {
        // A non-JSON answer (proxy error page, truncated body) is a network-level failure, not a token error.
        throw new EntraNetworkError(`The identity provider answered HTTP ${response.status} with a body that is not JSON.`);
      }
      return { headers, body, status: response.status };
    } catch (error) {
      if (error instanceof EntraNetworkError) throw error;
      if (signal.aborted) throw new EntraNetworkError(`The identity provider did not answer within ${timeoutInMs} ms.`);
      throw new EntraNetworkError(`The identity provider could not be reached (${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message}).`);
    } finally {
      deadline.cancel();
    }
  }
}

/** Shared default: stateless, so one instance serves every MSAL application. */
export const boundedNetworkClient = new BoundedNetworkClient();
