/**
 * The host's HTTP authorization levels. A key arrives in the `x-functions-key` header or the
 * `code` query parameter. 'function' accepts the function's own keys, any host key or the
 * master key; 'admin' accepts only the master key; 'anonymous' needs none.
 * https://learn.microsoft.com/azure/azure-functions/function-keys-how-to
 */
import { timingSafeEqual } from 'node:crypto';

export interface FunctionKeys {
  /** The master (admin) key: opens every function and the admin endpoints. */
  readonly masterKey?: string;
  /** Host keys: open every function-level function. */
  readonly hostKeys?: readonly string[];
  /** Keys per function name. */
  readonly functionKeys?: Readonly<Record<string, readonly string[]>>;
}

export type AuthLevel = 'anonymous' | 'function' | 'admin';

function sameKey(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function anyMatches(presented: string, candidates: readonly (string | undefined)[]): boolean {
  // Compare against every candidate so the time taken says nothing about which one matched.
  return candidates.reduce((found, candidate) => (candidate ? sameKey(presented, candidate) : false) || found, false);
}

/** The key a request presents, header first as the host reads it. */
export function presentedKey(headers: Headers, url: URL): string | undefined {
  return headers.get('x-functions-key') ?? url.searchParams.get('code') ?? undefined;
}

export function isAuthorized(level: AuthLevel, functionName: string, presented: string | undefined, keys: FunctionKeys): boolean {
  if (level === 'anonymous') return true;
  if (!presented) return false;
  if (level === 'admin') return anyMatches(presented, [keys.masterKey]);
  return anyMatches(presented, [keys.masterKey, ...(keys.hostKeys ?? []), ...(keys.functionKeys?.[functionName] ?? [])]);
}
