import { constants, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

export type JwtClaims = Record<string, unknown>;

export interface DecodedJwt {
  readonly header: Record<string, unknown>;
  readonly payload: JwtClaims;
  readonly signingInput: string;
  readonly signature: Buffer;
}

export function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** Splits a compact JWS without trusting it; undefined when it is not one. */
export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as unknown;
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as unknown;
    if (!isObject(header) || !isObject(payload)) return undefined;
    return { header, payload, signingInput: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2]!, 'base64url') };
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks an RS256 or PS256 signature (MSAL signs assertions PS256 with SHA-256 thumbprints, RS256 with SHA-1). */
export function verifyJwtSignature(jwt: DecodedJwt, publicKey: KeyObject): boolean {
  const data = Buffer.from(jwt.signingInput);
  switch (jwt.header.alg) {
    case 'RS256':
      return verify('sha256', data, publicKey, jwt.signature);
    case 'PS256':
      return verify('sha256', data, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, jwt.signature);
    default:
      return false;
  }
}

/** The IdP's token signing key: one RSA key, published in the JWKS under `kid`. */
export class SigningKey {
  readonly kid: string;
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;

  private constructor(privateKey: KeyObject) {
    this.#privateKey = privateKey;
    this.#publicKey = createPublicKey(privateKey);
    const spki = this.#publicKey.export({ type: 'spki', format: 'der' });
    this.kid = base64url(createHash('sha1').update(spki).digest());
  }

  static generate(): SigningKey {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return new SigningKey(privateKey);
  }

  static fromPem(pem: string): SigningKey {
    return new SigningKey(createPrivateKey(pem));
  }

  toPem(): string {
    return this.#privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  }

  /** A JWKS entry shaped like Entra's (kty, use, kid, x5t, n, e). */
  jwk(issuer: string): Record<string, unknown> {
    const { n, e } = this.#publicKey.export({ format: 'jwk' });
    return { kty: 'RSA', use: 'sig', kid: this.kid, x5t: this.kid, n, e, alg: 'RS256', issuer };
  }

  signJwt(claims: JwtClaims): string {
    const header = { typ: 'JWT', alg: 'RS256', kid: this.kid, x5t: this.kid };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(signingInput), this.#privateKey);
    return `${signingInput}.${base64url(signature)}`;
  }
}
