/**
 * Webhook signatures, Stripe-style: `X-Connector-Signature: t=<unix seconds>,v1=<hex>` where
 * v1 = HMAC-SHA256(secret, `${t}.${rawBody}`). The timestamp inside the MAC lets receivers
 * refuse replays of old deliveries; several v1 values may appear during secret rotation.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-connector-signature';
export const BATCH_ID_HEADER = 'x-connector-batch-id';
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
export const DEFAULT_SIGNATURE_TOLERANCE_IN_SECONDS = 300;

export function signatureOf(secret: string, timestampInSeconds: number, rawBody: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestampInSeconds}.`, 'utf8').update(rawBody).digest('hex');
}

export function signatureHeader(secret: string, timestampInSeconds: number, rawBody: string | Buffer): string {
  return `t=${timestampInSeconds},v1=${signatureOf(secret, timestampInSeconds, rawBody)}`;
}

/** 32 random bytes, base64url: what the rotate endpoint hands out once. */
export function newSigningSecret(): string {
  return 'whsec_' + randomBytes(32).toString('base64url');
}

export type SignatureCheck =
  | { readonly valid: true; readonly timestampInSeconds: number }
  | { readonly valid: false; readonly reason: 'missing' | 'malformed' | 'mismatch' | 'expired' };

export interface VerifySignatureOptions {
  readonly toleranceInSeconds?: number;
  readonly nowInSeconds?: number;
}

export function verifySignature(secret: string, header: string | undefined, rawBody: string | Buffer, options: VerifySignatureOptions = {}): SignatureCheck {
  if (!header) return { valid: false, reason: 'missing' };
  let timestamp: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 't' && value && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && value && /^[0-9a-f]{64}$/.test(value)) candidates.push(value);
  }
  if (timestamp === undefined || candidates.length === 0) return { valid: false, reason: 'malformed' };
  const expected = Buffer.from(signatureOf(secret, timestamp, rawBody), 'hex');
  const matches = candidates.some((candidate) => timingSafeEqual(Buffer.from(candidate, 'hex'), expected));
  if (!matches) return { valid: false, reason: 'mismatch' };
  const now = options.nowInSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceInSeconds ?? DEFAULT_SIGNATURE_TOLERANCE_IN_SECONDS;
  if (Math.abs(now - timestamp) > tolerance) return { valid: false, reason: 'expired' };
  return { valid: true, timestampInSeconds: timestamp };
}
