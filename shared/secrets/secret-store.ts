/**
 * The only production code that talks to Key Vault. It wraps the real SecretClient, unmodified,
 * so that values travel only as SecretString, what comes back describes a secret without holding
 * its value (safe to log or return), and failures arrive as typed errors with codes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { TokenCredential } from '@azure/core-auth';
import type { DeletedSecret, SecretClient, SecretProperties } from '@azure/keyvault-secrets';

// @azure/keyvault-secrets is required when the first store is made, not at start-up (cold start).
const secretClient = (): typeof SecretClient => (require('@azure/keyvault-secrets') as typeof import('@azure/keyvault-secrets')).SecretClient;
import type { ConnectorEnvironment } from '../config';
import { SecretString } from '../logging';
import {
  SecretAccessDeniedError,
  SecretDisabledError,
  SecretNameConflictError,
  SecretNotFoundError,
  SecretStoreError,
  SecretStoreUnavailableError,
} from './errors';
import { assertValidSecretName } from './secret-names';

/** What the vault says about a secret (its latest version, as listed). Holds no value. */
export interface SecretSummary {
  readonly name: string;
  readonly enabled: boolean;
  readonly createdAt?: Date;
  readonly updatedAt: Date;
  /** Informational in Key Vault: expired secrets are still returned. */
  readonly expiresOn?: Date;
  readonly notBefore?: Date;
  readonly contentType?: string;
  readonly tags?: Readonly<Record<string, string>>;
}

/** What the vault says about one version of a secret. Holds no value. */
export interface SecretReference extends SecretSummary {
  readonly version: string;
}

/** A value with what the vault says about it. */
export interface SecretEntry {
  readonly value: SecretString;
  readonly reference: SecretReference;
}

export interface DeletedSecretReference {
  readonly name: string;
  /** The latest version when the secret was deleted. */
  readonly version?: string;
  readonly deletedAt?: Date;
  /** When Key Vault removes it for good unless recovered before. */
  readonly scheduledPurgeAt?: Date;
  readonly contentType?: string;
  readonly tags?: Readonly<Record<string, string>>;
}

export interface SetSecretOptions {
  readonly expiresOn?: Date;
  readonly notBefore?: Date;
  /** A hint for readers, e.g. application/x-pem-file; at most 255 characters. */
  readonly contentType?: string;
  /** At most 15 tags; never put secret material in them. */
  readonly tags?: Readonly<Record<string, string>>;
  /** false stores the version disabled. */
  readonly enabled?: boolean;
}

/** Changes to one version's properties; what is left out stays as it is. */
export interface UpdateSecretPropertiesOptions {
  readonly enabled?: boolean;
  readonly expiresOn?: Date;
  readonly notBefore?: Date;
  readonly contentType?: string;
  /** Replaces all tags. */
  readonly tags?: Readonly<Record<string, string>>;
}

export interface GetSecretOptions {
  /** A specific version; the latest when absent. */
  readonly version?: string;
}

export interface ListSecretsOptions {
  /** Only secrets whose name starts with this (compared ignoring case, as Key Vault names are). */
  readonly namePrefix?: string;
}

export interface SecretStore {
  readonly vaultUrl: string;
  /** Stores a new version (the secret is created on first use). */
  setSecret(name: string, value: SecretString, options?: SetSecretOptions): Promise<SecretReference>;
  /** The value; SecretNotFoundError / SecretDisabledError when it cannot be had. */
  getSecret(name: string, options?: GetSecretOptions): Promise<SecretString>;
  /** The value and its properties (expiry, tags...). */
  getSecretEntry(name: string, options?: GetSecretOptions): Promise<SecretEntry>;
  /** Like getSecret, but undefined when the secret does not exist. */
  findSecret(name: string, options?: GetSecretOptions): Promise<SecretString | undefined>;
  updateSecretProperties(name: string, version: string, options: UpdateSecretPropertiesOptions): Promise<SecretReference>;
  /** Every secret (not deleted ones), described by its latest version; Key Vault lists no versions here. */
  listSecrets(options?: ListSecretsOptions): AsyncIterableIterator<SecretSummary>;
  /** Every version of a secret (none for an unknown name), following the vault's pages. */
  listVersions(name: string): AsyncIterableIterator<SecretReference>;
  /** Soft-deletes every version and waits until the vault reports it deleted; undefined when there was nothing to delete. */
  deleteSecret(name: string): Promise<DeletedSecretReference | undefined>;
  getDeletedSecret(name: string): Promise<DeletedSecretReference>;
  listDeletedSecrets(): AsyncIterableIterator<DeletedSecretReference>;
  /** Brings a soft-deleted secret back and waits until it is readable. */
  recoverDeletedSecret(name: string): Promise<SecretReference>;
  /** Removes a soft-deleted secret for good (needs purge permission). */
  purgeDeletedSecret(name: string): Promise<void>;
}

export interface SecretStoreOptions {
  /** In production the SDK always checks that the challenge's resource matches the vault's domain. */
  readonly environment?: ConnectorEnvironment;
  /** How often delete and recover polls the vault until done (the SDK's default is 2000). */
  readonly pollIntervalInMs?: number;
}

export function createSecretStore(vaultUrl: string, credential: TokenCredential, options: SecretStoreOptions = {}): SecretStore {
  const local = isLoopbackUrl(vaultUrl) && options.environment !== 'production';
  // The SDK refuses a challenge whose resource (vault.azure.net) is not a parent domain of the
  // vault's host. A local vault on localhost cannot satisfy that, so only there is it switched off.
  const client = new (secretClient())(vaultUrl, credential, { disableChallengeResourceVerification: local });
  return new KeyVaultSecretStore(client, options.pollIntervalInMs);
}

export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * The SDK's delete and recover pollers poll until the secret shows up deleted (or live again), with
 * no end: when a concurrent writer recovers a name being deleted, or a concurrent delete removes a
 * name being recovered, that moment never comes and the request would hang. Past this deadline the
 * operation counts as overtaken (SecretNotFound): the caller's next step decides, as for a 404.
 */
const POLL_DEADLINE_IN_MS = 15_000;

async function untilDoneOrGone<T>(poller: { pollUntilDone(options?: { abortSignal?: AbortSignal }): Promise<T> }, name: string, what: string): Promise<T> {
  const deadline = AbortSignal.timeout(POLL_DEADLINE_IN_MS);
  try {
    return await poller.pollUntilDone({ abortSignal: deadline });
  } catch (error: unknown) {
    if (!deadline.aborted) throw error;
    throw new SecretNotFoundError(`The ${what} of ${name} did not complete within ${POLL_DEADLINE_IN_MS} ms: another writer changed the secret meanwhile.`, { secretName: name });
  }
}

/** A soft-deleted name: recover, then write; a deletion still in progress gets a second chance. */
const MAX_REUSE_ATTEMPTS = 3;

class KeyVaultSecretStore implements SecretStore {
  readonly vaultUrl: string;

  constructor(
    private readonly client: SecretClient,
    private readonly pollIntervalInMs: number | undefined,
  ) {
    this.vaultUrl = client.vaultUrl;
  }

  /**
   * Writing a name that is soft-deleted is refused by Key Vault (409, ObjectIsDeletedButRecoverable)
   * until the secret is recovered or purged, and the product reuses names (a group's credential kind
   * switched back, a user signing in again after deleting the registration, a group re-created with
   * the same external id). Purge is impossible here (the vault has purge protection), so the store
   * recovers the name, keeps the versions that came back unreadable (disabled), and writes the new
   * version. Needs secrets/recover/action and secrets/update/action: both in Key Vault Secrets Officer
   * (data actions Microsoft.KeyVault/vaults/secrets/*), the role infra/ grants the app.
   */
  async setSecret(name: string, value: SecretString, options: SetSecretOptions = {}): Promise<SecretReference> {
    assertValidSecretName(name);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.setOnce(name, value, options);
      } catch (error: unknown) {
        if (!(error instanceof SecretNameConflictError) || attempt >= MAX_REUSE_ATTEMPTS) throw error;
        await this.recoverForReuse(name);
      }
    }
  }

  private async recoverForReuse(name: string): Promise<void> {
    // Versions created before this second are the deleted secret's; a concurrent writer's new version is not.
    const recoveryStartedAt = Math.floor(Date.now() / 1000) * 1000;
    try {
      await this.recoverDeletedSecret(name);
    } catch (error: unknown) {
      // 404: the deletion has not finished (Key Vault deletes asynchronously) or another writer recovered it first;
      // 409: it is live again. Either way the next write attempt decides.
      if (error instanceof SecretNotFoundError || error instanceof SecretNameConflictError) {
        await sleep(this.pollIntervalInMs ?? 1_000);
        return;
      }
      throw error;
    }
    for await (const version of this.listVersions(name)) {
      if (version.enabled && version.createdAt !== undefined && version.createdAt.getTime() < recoveryStartedAt) {
        await this.updateSecretProperties(name, version.version, { enabled: false });
      }
    }
  }

  private async setOnce(name: string, value: SecretString, options: SetSecretOptions): Promise<SecretReference> {
    const stored = await this.call('set', name, () =>
      this.client.setSecret(name, value.reveal(), {
        expiresOn: options.expiresOn,
        notBefore: options.notBefore,
        contentType: options.contentType,
        tags: options.tags ? { ...options.tags } : undefined,
        enabled: options.enabled,
      }),
    );
    return toReference(stored.properties);
  }

  async getSecret(name: string, options: GetSecretOptions = {}): Promise<SecretString> {
    return (await this.getSecretEntry(name, options)).value;
  }

  async getSecretEntry(name: string, options: GetSecretOptions = {}): Promise<SecretEntry> {
    assertValidSecretName(name);
    const secret = await this.call('get', name, () => this.client.getSecret(name, { version: options.version || undefined }));
    if (secret.value === undefined) {
      throw new SecretStoreError('SecretRequestRejected', `Key Vault returned secret "${name}" without a value.`, { secretName: name });
    }
    return { value: new SecretString(secret.value), reference: toReference(secret.properties) };
  }

  async findSecret(name: string, options: GetSecretOptions = {}): Promise<SecretString | undefined> {
    try {
      return await this.getSecret(name, options);
    } catch (error: unknown) {
      if (error instanceof SecretNotFoundError) return undefined;
      throw error;
    }
  }

  async updateSecretProperties(name: string, version: string, options: UpdateSecretPropertiesOptions): Promise<SecretReference> {
    assertValidSecretName(name);
    const properties = await this.call('update', name, () =>
      this.client.updateSecretProperties(name, version, {
        enabled: options.enabled,
        expiresOn: options.expiresOn,
        notBefore: options.notBefore,
        contentType: options.contentType,
        tags: options.tags ? { ...options.tags } : undefined,
      }),
    );
    return toReference(properties);
  }

  async *listSecrets(options: ListSecretsOptions = {}): AsyncIterableIterator<SecretSummary> {
    const prefix = options.namePrefix?.toLowerCase();
    for await (const properties of this.iterate('list', undefined, () => this.client.listPropertiesOfSecrets())) {
      if (prefix === undefined || properties.name.toLowerCase().startsWith(prefix)) yield toSummary(properties);
    }
  }

  async *listVersions(name: string): AsyncIterableIterator<SecretReference> {
    assertValidSecretName(name);
    for await (const properties of this.iterate('list versions', name, () => this.client.listPropertiesOfSecretVersions(name))) {
      yield toReference(properties);
    }
  }

  async deleteSecret(name: string): Promise<DeletedSecretReference | undefined> {
    assertValidSecretName(name);
    try {
      const deleted = await this.call('delete', name, async () => {
        const poller = await this.client.beginDeleteSecret(name, { intervalInMs: this.pollIntervalInMs });
        return untilDoneOrGone(poller, name, 'deletion');
      });
      return toDeletedReference(deleted);
    } catch (error: unknown) {
      if (error instanceof SecretNotFoundError) return undefined;
      throw error;
    }
  }

  async getDeletedSecret(name: string): Promise<DeletedSecretReference> {
    assertValidSecretName(name);
    return toDeletedReference(await this.call('get deleted', name, () => this.client.getDeletedSecret(name)));
  }

  async *listDeletedSecrets(): AsyncIterableIterator<DeletedSecretReference> {
    for await (const deleted of this.iterate('list deleted', undefined, () => this.client.listDeletedSecrets())) {
      yield toDeletedReference(deleted);
    }
  }

  async recoverDeletedSecret(name: string): Promise<SecretReference> {
    assertValidSecretName(name);
    const properties = await this.call('recover', name, async () => {
      const poller = await this.client.beginRecoverDeletedSecret(name, { intervalInMs: this.pollIntervalInMs });
      return untilDoneOrGone(poller, name, 'recovery');
    });
    return toReference(properties);
  }

  async purgeDeletedSecret(name: string): Promise<void> {
    assertValidSecretName(name);
    await this.call('purge', name, () => this.client.purgeDeletedSecret(name));
  }

  private async call<T>(operation: string, name: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error: unknown) {
      throw toSecretStoreError(error, operation, name);
    }
  }

  private async *iterate<T>(operation: string, name: string | undefined, open: () => AsyncIterable<T>): AsyncIterableIterator<T> {
    try {
      yield* open();
    } catch (error: unknown) {
      throw toSecretStoreError(error, operation, name);
    }
  }
}

function toReference(properties: SecretProperties): SecretReference {
  if (!properties.version) throw new SecretStoreError('SecretRequestRejected', `Key Vault described secret "${properties.name}" without a version.`);
  return { ...toSummary(properties), version: properties.version };
}

function toSummary(properties: SecretProperties): SecretSummary {
  return {
    name: properties.name,
    enabled: properties.enabled ?? true,
    createdAt: properties.createdOn,
    updatedAt: properties.updatedOn ?? properties.createdOn ?? new Date(0),
    ...(properties.expiresOn ? { expiresOn: properties.expiresOn } : {}),
    ...(properties.notBefore ? { notBefore: properties.notBefore } : {}),
    ...(properties.contentType !== undefined ? { contentType: properties.contentType } : {}),
    ...(properties.tags !== undefined ? { tags: { ...properties.tags } } : {}),
  };
}

function toDeletedReference(deleted: DeletedSecret): DeletedSecretReference {
  const { properties } = deleted;
  return {
    name: deleted.name,
    ...(properties.version ? { version: properties.version } : {}),
    ...(properties.deletedOn ? { deletedAt: properties.deletedOn } : {}),
    ...(properties.scheduledPurgeDate ? { scheduledPurgeAt: properties.scheduledPurgeDate } : {}),
    ...(properties.contentType !== undefined ? { contentType: properties.contentType } : {}),
    ...(properties.tags !== undefined ? { tags: { ...properties.tags } } : {}),
  };
}

/** The parts of the SDK's RestError this module reads. */
interface VaultRestError {
  readonly name: 'RestError';
  readonly message: string;
  readonly statusCode?: number;
  readonly code?: string;
  readonly details?: { readonly error?: { readonly code?: string; readonly innerError?: { readonly code?: string } } };
}

function isVaultRestError(error: unknown): error is VaultRestError {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'RestError';
}

const CREDENTIAL_ERROR_NAMES = new Set(['CredentialUnavailableError', 'AuthenticationError', 'AuthenticationRequiredError', 'AggregateAuthenticationError']);

/** Maps what the SDK or the credential threw to a typed error, keeping only safe text. */
export function toSecretStoreError(error: unknown, operation: string, secretName?: string): SecretStoreError {
  if (error instanceof SecretStoreError) return error;
  const subject = secretName ? `secret "${secretName}"` : 'secrets';
  if (isVaultRestError(error)) {
    const status = error.statusCode;
    const innerCode = error.details?.error?.innerError?.code;
    const serviceCode = [error.code, innerCode].filter(Boolean).join('/') || undefined;
    const details = { secretName, statusCode: status, serviceCode };
    const message = `Key Vault refused to ${operation} ${subject}: ${error.message}`;
    if (status === 404) return new SecretNotFoundError(message, details);
    if (status === 403 && (innerCode === 'SecretDisabled' || /disabled secret/i.test(error.message))) return new SecretDisabledError(message, details);
    if (status === 409) return new SecretNameConflictError(message, details);
    if (status === 401 || status === 403) return new SecretAccessDeniedError('SecretAccessDenied', message, details);
    if (status === undefined || status === 408 || status === 429 || status >= 500) {
      return new SecretStoreUnavailableError(`Key Vault could not ${operation} ${subject}: ${error.message}`, details);
    }
    return new SecretStoreError('SecretRequestRejected', message, details);
  }
  const name = error instanceof Error ? error.name : 'Error';
  const text = error instanceof Error ? error.message : String(error);
  if (CREDENTIAL_ERROR_NAMES.has(name)) {
    return new SecretAccessDeniedError('SecretStoreAuthenticationFailed', `The app could not get a Key Vault token to ${operation} ${subject}: ${text}`, { secretName });
  }
  return new SecretStoreUnavailableError(`Key Vault could not ${operation} ${subject}: ${text}`, { secretName });
}
