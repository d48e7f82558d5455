import type { Directory } from './directory';
import type { TokenMinter } from './tokens';

/** An issued authorization code: single use, bound to client, redirect URI and PKCE challenge. */
export interface AuthorizationCode {
  readonly clientAppId: string;
  readonly redirectUri: string;
  readonly tenantId: string;
  readonly userObjectId: string;
  /** Resource-qualified delegated scopes granted, plus OIDC scopes. */
  readonly scopes: readonly string[];
  readonly resourceAppId: string;
  readonly audience: string;
  readonly codeChallenge?: string;
  readonly codeChallengeMethod?: 'S256' | 'plain';
  readonly nonce?: string;
  readonly expiresAt: number;
  redeemed: boolean;
}

/** Everything the endpoints share. */
export interface IdentityProviderContext {
  readonly directory: Directory;
  readonly minter: TokenMinter;
  readonly codes: Map<string, AuthorizationCode>;
  /** https://localhost:8444 — the authority host (no trailing slash). */
  readonly authorityUrl: () => string;
  readonly refreshTokenLifetimeInSeconds: number;
  readonly authorizationCodeLifetimeInSeconds: number;
}
