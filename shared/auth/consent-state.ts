/**
 * The `state` of admin-consent and sign-in redirects: a payload (purpose, connector tenant,
 * invitation, expiry, random id) plus an HMAC-SHA256 over it with a key kept in Key Vault
 * (consent-state-signing-key, created on first use). The PKCE code verifier and the OpenID
 * nonce are derived from the state id with the same key, so nothing secret travels in the
 * state or is stored between the redirect and the callback. Single use is enforced by the
 * caller recording the state id (ConsentsRepository.consumeState).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SecretString } from '../logging/secret-string';
import type { SecretStore } from '../secrets/secret-store';
import { secretNames } from '../secrets/secret-names';

/**
 * adminConsent: Entra's /adminconsent redirect comes back with it. adminConsentVerify: the
 * administrator's OpenID sign-in that proves which Entra tenant consented. signIn: a user's sign-in.
 */
export type ConsentStatePurpose = 'adminConsent' | 'adminConsentVerify' | 'signIn';

export interface ConsentStateClaims {
  readonly purpose: ConsentStatePurpose;
  /** The connector's tenant id. */
  readonly tenantId: string;
  /** The customer's Entra tenant, when known: the callback must come back from it. */
  readonly entraTenantId?: string;
  /** Sign-in: the invitation being redeemed (its id, a digest of the code). */
  readonly invitationId?: string;
  /** Admin consent: who asked for the link. */
  readonly requestedBy?: { readonly objectId: string; readonly name: string };
}

export interface VerifiedConsentState extends ConsentStateClaims {
  readonly stateId: string;
  readonly expiresAt: Date;
}

export type ConsentStateErrorCode = 'StateMissing' | 'StateMalformed' | 'StateSignatureInvalid' | 'StateExpired' | 'StateWrongPurpose' | 'StateReplayed' | 'StateWrongTenant';

export class ConsentStateError extends Error {
  constructor(
    readonly code: ConsentStateErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ConsentStateError';
  }
}

export interface ConsentStateSignerOptions {
  readonly vault: Pick<SecretStore, 'findSecret' | 'setSecret' | 'getSecret'>;
  /** How long a state is accepted. Default 30 minutes. */
  readonly lifetimeInMs?: number;
  readonly now?: () => number;
}

const VERSION = 'v1';
const MAX_STATE_LENGTH = 2048;

interface WirePayload {
  readonly p: ConsentStatePurpose;
  readonly t: string;
  readonly i: string;
  readonly x: number;
  readonly e?: string;
  readonly v?: string;
  readonly r?: { readonly o: string; readonly n: string };
}

export class ConsentStateSigner {
  readonly #options: ConsentStateSignerOptions;
  #key: Promise<SecretString> | undefined;

  constructor(options: ConsentStateSignerOptions) {
    this.#options = options;
  }

  private now(): number {
    return (this.#options.now ?? Date.now)();
  }

  /** The signing key; created with 256 random bits the first time any instance needs it. */
  private key(reload = false): Promise<SecretString> {
    if (reload || !this.#key) {
      this.#key = this.loadOrCreateKey();
      this.#key.catch(() => (this.#key = undefined));
    }
    return this.#key;
  }

  private async loadOrCreateKey(): Promise<SecretString> {
    const name = secretNames.consentStateSigningKey();
    const existing = await this.#options.vault.findSecret(name);
    if (existing) return existing;
    await this.#options.vault.setSecret(name, new SecretString(randomBytes(32).toString('base64url')), { contentType: 'application/octet-stream', tags: { kind: 'hmacKey' } });
    // Two instances may race to create it: whichever version is latest is the one everyone uses.
    return this.#options.vault.getSecret(name);
  }

  private static mac(key: SecretString, data: string): Buffer {
    return createHmac('sha256', key.reveal()).update(data).digest();
  }

  async issue(claims: ConsentStateClaims): Promise<{ state: string; stateId: string; expiresAt: Date }> {
    const stateId = randomBytes(18).toString('base64url');
    const expiresAt = new Date(this.now() + (this.#options.lifetimeInMs ?? 30 * 60_000));
    const wire: WirePayload = {
      p: claims.purpose,
      t: claims.tenantId,
      i: stateId,
      x: expiresAt.getTime(),
      ...(claims.entraTenantId ? { e: claims.entraTenantId } : {}),
      ...(claims.invitationId ? { v: claims.invitationId } : {}),
      ...(claims.requestedBy ? { r: { o: claims.requestedBy.objectId, n: claims.requestedBy.name } } : {}),
    };
    const body = `${VERSION}.${Buffer.from(JSON.stringify(wire)).toString('base64url')}`;
    const signature = ConsentStateSigner.mac(await this.key(), body).toString('base64url');
    return { state: `${body}.${signature}`, stateId, expiresAt };
  }

  /** Checks form, signature, expiry and purpose. Does not check single use (the caller records the id). */
  async verify(state: string | null | undefined, purpose: ConsentStatePurpose): Promise<VerifiedConsentState> {
    if (!state) throw new ConsentStateError('StateMissing', 'The request carries no state.');
    const parts = state.length <= MAX_STATE_LENGTH ? state.split('.') : [];
    if (parts.length !== 3 || parts[0] !== VERSION || !/^[A-Za-z0-9_-]+$/.test(parts[1]!) || !/^[A-Za-z0-9_-]{43}$/.test(parts[2]!)) {
      throw new ConsentStateError('StateMalformed', 'The state is not one this service issued.');
    }
    const body = `${parts[0]}.${parts[1]}`;
    const given = Buffer.from(parts[2]!, 'base64url');
    let valid = timingSafeEqual(ConsentStateSigner.mac(await this.key(), body), given);
    // Another instance may have created the key after this one cached a stale answer.
    if (!valid) valid = timingSafeEqual(ConsentStateSigner.mac(await this.key(true), body), given);
    if (!valid) throw new ConsentStateError('StateSignatureInvalid', 'The state was not signed by this service (it may have been altered).');
    const wire = parseWire(parts[1]!);
    if (wire.x <= this.now()) throw new ConsentStateError('StateExpired', 'The link has expired. Start again from the beginning.');
    if (wire.p !== purpose) throw new ConsentStateError('StateWrongPurpose', 'The state was issued for a different step.');
    return {
      purpose: wire.p,
      tenantId: wire.t,
      stateId: wire.i,
      expiresAt: new Date(wire.x),
      ...(wire.e ? { entraTenantId: wire.e } : {}),
      ...(wire.v ? { invitationId: wire.v } : {}),
      ...(wire.r ? { requestedBy: { objectId: wire.r.o, name: wire.r.n } } : {}),
    };
  }

  /** PKCE verifier and challenge (S256) for a state, recomputable at the callback. */
  async pkce(stateId: string): Promise<{ verifier: string; challenge: string }> {
    const verifier = ConsentStateSigner.mac(await this.key(), `pkce.${stateId}`).toString('base64url') + ConsentStateSigner.mac(await this.key(), `pkce2.${stateId}`).toString('base64url').slice(0, 20);
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    return { verifier, challenge };
  }

  /** The OpenID nonce for a state. */
  async nonce(stateId: string): Promise<string> {
    return ConsentStateSigner.mac(await this.key(), `nonce.${stateId}`).toString('base64url');
  }
}

function parseWire(encoded: string): WirePayload {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    throw new ConsentStateError('StateMalformed', 'The state is not one this service issued.');
  }
  const wire = parsed as Partial<WirePayload> | null;
  if (!wire || (wire.p !== 'adminConsent' && wire.p !== 'adminConsentVerify' && wire.p !== 'signIn') || typeof wire.t !== 'string' || typeof wire.i !== 'string' || typeof wire.x !== 'number') {
    throw new ConsentStateError('StateMalformed', 'The state is not one this service issued.');
  }
  return wire as WirePayload;
}
