/**
 * An issuer's signing keys (JWKS) for jose, fetched with a stall-tolerant deadline
 * (shared/http/stall-tolerant-timeout.ts): jose's own timeout is a plain timer, which fires before
 * an answer that already arrived is read when the thread was blocked meanwhile.
 */
import type { createRemoteJWKSet, RemoteJWKSetOptions } from 'jose';
import { fetchWithinStallTolerantTimeout } from '../http/stall-tolerant-timeout';

export type RemoteKeySet = ReturnType<typeof createRemoteJWKSet>;

// jose is required with the first key set (the first admin request or sign-in), not at start-up (cold start, docs/sync.md).
export const jose = (): typeof import('jose') => require('jose') as typeof import('jose');

/** jose's own timer stays only as an outer bound, well past ours. */
const JOSE_OUTER_TIMEOUT_FACTOR = 10;

export function remoteKeySet(jwksUri: string, timeoutInMs: number, options: Pick<RemoteJWKSetOptions, 'cacheMaxAge' | 'cooldownDuration'> = {}): RemoteKeySet {
  const library = jose();
  return library.createRemoteJWKSet(new URL(jwksUri), {
    ...options,
    timeoutDuration: timeoutInMs * JOSE_OUTER_TIMEOUT_FACTOR,
    [library.customFetch]: (url: string, init: RequestInit) => fetchWithinStallTolerantTimeout(url, { ...init, signal: null }, timeoutInMs),
  });
}
