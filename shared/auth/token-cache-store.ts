/**
 * A delegated user's MSAL token cache kept in Key Vault (secret user-token-cache-<tenant>-<user>),
 * never in Table Storage or logs. The MSAL ICachePlugin reads the latest version before MSAL
 * looks at the cache and writes a new version only when MSAL changed it (a refresh rotated the
 * refresh token), so an hour of silent use costs one write.
 */
import type { ICachePlugin, TokenCacheContext } from '@azure/msal-node';
import { SecretString } from '../logging/secret-string';
import type { SecretStore } from '../secrets/secret-store';
import { secretNames } from '../secrets/secret-names';

export type TokenCacheVault = Pick<SecretStore, 'findSecret' | 'setSecret' | 'deleteSecret'>;

export interface UserTokenCacheKey {
  /** The connector's tenant id (not the Entra tenant). */
  readonly tenantId: string;
  /** The user's Entra object id (oid). */
  readonly userObjectId: string;
}

export function userTokenCacheSecretName(key: UserTokenCacheKey): string {
  return secretNames.userTokenCache(key.tenantId, key.userObjectId);
}

/** Reads and writes one user's serialized MSAL cache. */
export class UserTokenCacheStore {
  constructor(private readonly vault: TokenCacheVault) {}

  async read(key: UserTokenCacheKey): Promise<SecretString | undefined> {
    return this.vault.findSecret(userTokenCacheSecretName(key));
  }

  async write(key: UserTokenCacheKey, serializedCache: SecretString): Promise<void> {
    await this.vault.setSecret(userTokenCacheSecretName(key), serializedCache, {
      contentType: 'application/vnd.microsoft.msal-cache+json',
      tags: { tenantId: key.tenantId, userObjectId: key.userObjectId, kind: 'msalTokenCache' },
    });
  }

  /** True when a cache existed. */
  async delete(key: UserTokenCacheKey): Promise<boolean> {
    return (await this.vault.deleteSecret(userTokenCacheSecretName(key))) !== undefined;
  }

  /** An MSAL cache plugin bound to one user. `loaded` says whether the vault held a cache at the last read. */
  plugin(key: UserTokenCacheKey): ICachePlugin & { readonly loaded: () => boolean } {
    let loaded = false;
    return {
      loaded: () => loaded,
      beforeCacheAccess: async (context: TokenCacheContext) => {
        const stored = await this.read(key);
        loaded = stored !== undefined;
        if (stored) context.tokenCache.deserialize(stored.reveal());
      },
      afterCacheAccess: async (context: TokenCacheContext) => {
        if (context.cacheHasChanged) await this.write(key, new SecretString(context.tokenCache.serialize()));
      },
    };
  }
}
