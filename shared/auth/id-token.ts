/**
 * Validates an OpenID Connect id_token of the connector app (multi-tenant) as the proof of who
 * signed in and in which Entra tenant: RS256 signature against the authority's published keys,
 * issuer `${authorityHost}/${tid}/v2.0` for the token's own tid (Entra's multi-tenant issuer
 * template), audience = the connector app's client id, nonce = the one sent, not expired.
 */
import type { JWTPayload } from 'jose';
import { fetchWithinStallTolerantTimeout } from '../http/stall-tolerant-timeout';
import { jose, remoteKeySet, type RemoteKeySet } from './remote-key-set';

export interface VerifiedIdToken {
  readonly tenantId: string;
  readonly objectId: string;
  readonly name: string;
  /** Directory role template ids (the `wids` claim); empty when the token carries none. */
  readonly directoryRoles: readonly string[];
}

export class IdTokenError extends Error {
  readonly code = 'IdTokenInvalid';
}

type KeySet = RemoteKeySet;
const keySets = new Map<string, Promise<KeySet>>();

async function discoverKeys(authorityHost: string, timeoutInMs: number): Promise<KeySet> {
  const response = await fetchWithinStallTolerantTimeout(`${authorityHost}/organizations/v2.0/.well-known/openid-configuration`, {}, timeoutInMs);
  if (!response.ok) throw new IdTokenError(`The authority's OpenID configuration answered HTTP ${response.status}.`);
  const jwksUri = ((await response.json()) as { jwks_uri?: unknown }).jwks_uri;
  if (typeof jwksUri !== 'string' || !jwksUri.startsWith('https://')) throw new IdTokenError("The authority's jwks_uri is missing or not https.");
  return remoteKeySet(jwksUri, timeoutInMs);
}

function keysFor(authorityHost: string, timeoutInMs: number): Promise<KeySet> {
  let keys = keySets.get(authorityHost);
  if (!keys) {
    keys = discoverKeys(authorityHost, timeoutInMs);
    keys.catch(() => keySets.delete(authorityHost));
    keySets.set(authorityHost, keys);
  }
  return keys;
}

function text(payload: JWTPayload, name: string): string | undefined {
  const value = payload[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export async function verifyIdToken(
  idToken: string,
  expected: { readonly authorityHost: string; readonly clientId: string; readonly nonce: string; readonly timeoutInMs?: number },
): Promise<VerifiedIdToken> {
  const authorityHost = expected.authorityHost.replace(/\/+$/, '');
  let unverified: JWTPayload;
  try {
    unverified = jose().decodeJwt(idToken);
  } catch {
    throw new IdTokenError('The id_token is malformed.');
  }
  const tid = text(unverified, 'tid')?.toLowerCase();
  if (!tid || !/^[0-9a-f-]{36}$/.test(tid)) throw new IdTokenError('The id_token names no tenant.');
  let payload: JWTPayload;
  try {
    ({ payload } = await jose().jwtVerify(idToken, await keysFor(authorityHost, expected.timeoutInMs ?? 5000), {
      issuer: `${authorityHost}/${tid}/v2.0`,
      audience: expected.clientId,
      algorithms: ['RS256'],
      clockTolerance: 120,
      requiredClaims: ['exp', 'iss', 'aud', 'tid'],
    }));
  } catch (error: unknown) {
    if (error instanceof IdTokenError) throw error;
    throw new IdTokenError(`The id_token is not valid (${error instanceof Error ? error.message : 'unknown reason'}).`);
  }
  if (text(payload, 'nonce') !== expected.nonce) throw new IdTokenError('The id_token does not carry the nonce of this sign-in.');
  const objectId = text(payload, 'oid')?.toLowerCase();
  if (!objectId) throw new IdTokenError('The id_token names no user.');
  const wids = payload.wids;
  return {
    tenantId: tid,
    objectId,
    name: text(payload, 'preferred_username') ?? text(payload, 'name') ?? objectId,
    directoryRoles: Array.isArray(wids) ? wids.filter((w): w is string => typeof w === 'string').map((w) => w.toLowerCase()) : [],
  };
}

/**
 * Directory roles that can grant tenant-wide admin consent to an application permission such as
 * Exchange's full_access_as_app (role template ids, the same in every tenant): Global
 * Administrator, Privileged Role Administrator, Cloud Application Administrator, Application Administrator.
 */
export const CONSENT_CAPABLE_ROLES: ReadonlySet<string> = new Set([
  '62e90394-69f5-4237-9190-012177145e10',
  'e8611ab8-c189-46e8-94e1-60213ab1f814',
  '158c047a-c907-4556-b7ef-446551a6b5f7',
  '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3',
]);
