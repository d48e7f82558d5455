/**
 * Per-subscription shared secrets: Graph's clientState and the token in an EWS push callback URL.
 *
 * Only the SHA-256 of the value is stored (Table Storage), never the value. That is enough here,
 * unlike for passwords: the value is 32 random bytes, so no dictionary or brute force can find a
 * preimage of the stored hash, and the hash itself is worthless to an attacker (a notification
 * must carry the value). Keeping the value in Key Vault instead would cost a vault read per
 * notification burst and leave a soft-deleted secret behind at every renewal, for no gain.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { SecretString } from '../logging/secret-string';

/** Graph allows at most 128 characters of clientState; 43 base64url characters carry 256 bits. */
const SECRET_BYTES = 32;

export interface NewSubscriptionSecret {
  /** Sent to the server once (subscription creation); never logged or stored. */
  readonly value: SecretString;
  /** Hex SHA-256 of the value: what the record keeps. */
  readonly hash: string;
}

export function hashSubscriptionSecret(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

export function newSubscriptionSecret(): NewSubscriptionSecret {
  const value = randomBytes(SECRET_BYTES).toString('base64url');
  return { value: new SecretString(value), hash: hashSubscriptionSecret(value) };
}

/**
 * True when `presented` is the secret whose hash is `storedHash`. Compares the two digests in
 * constant time (equal lengths by construction), so timing reveals nothing about the stored hash.
 */
export function subscriptionSecretMatches(presented: string | undefined, storedHash: string | undefined): boolean {
  if (presented === undefined || storedHash === undefined || presented.length === 0 || presented.length > 256) return false;
  const expected = Buffer.from(storedHash, 'hex');
  const actual = createHash('sha256').update(presented, 'utf8').digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
