/**
 * The state and rules of the local Key Vault stand-in, kept apart from HTTP so the protocol
 * layer only translates. Rules follow the Key Vault secrets data plane as documented and as
 * observed: names are case-insensitive, the latest version is the one created last, disabled
 * versions refuse `get` (403 Forbidden / inner SecretDisabled), `exp` and `nbf` are informational
 * for secrets (Key Vault returns expired secrets too), and deletion is soft with a purge date.
 */
import { randomBytes } from 'node:crypto';

/** Unix seconds, as Key Vault carries every date. */
export type UnixSeconds = number;

export interface StoredSecretVersion {
  readonly version: string;
  readonly value: string;
  contentType?: string;
  tags?: Record<string, string>;
  enabled: boolean;
  nbf?: UnixSeconds;
  exp?: UnixSeconds;
  readonly created: UnixSeconds;
  updated: UnixSeconds;
}

export interface StoredSecret {
  /** The name as first written; lookups ignore case like Key Vault. */
  readonly name: string;
  /** In creation order: the last one is the latest. */
  readonly versions: StoredSecretVersion[];
}

export interface DeletedSecret {
  readonly secret: StoredSecret;
  readonly deletedDate: UnixSeconds;
  readonly scheduledPurgeDate: UnixSeconds;
}

export interface VaultSnapshot {
  readonly format: typeof SNAPSHOT_FORMAT;
  readonly secrets: readonly StoredSecret[];
  readonly deleted: readonly DeletedSecret[];
}

export interface SecretAttributesInput {
  readonly enabled?: boolean;
  /** null clears the date. */
  readonly nbf?: UnixSeconds | null;
  readonly exp?: UnixSeconds | null;
}

export interface SetSecretInput {
  readonly value: string;
  readonly contentType?: string;
  readonly tags?: Record<string, string>;
  readonly attributes?: SecretAttributesInput;
}

export interface UpdateSecretInput {
  readonly contentType?: string;
  readonly tags?: Record<string, string>;
  readonly attributes?: SecretAttributesInput;
}

const SNAPSHOT_FORMAT = 'exchange-connector-dev-keyvault/1';
const SECONDS_PER_DAY = 86_400;
const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;

/** A Key Vault-shaped failure: the HTTP status and the `error.code` Key Vault would send. */
export class KeyVaultServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly innerCode?: string,
  ) {
    super(message);
    this.name = 'KeyVaultServiceError';
  }
}

export function assertValidSecretName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw new KeyVaultServiceError(400, 'BadParameter', `The request URI contains an invalid name: ${name}`);
  }
}

function secretNotFound(name: string, version?: string): KeyVaultServiceError {
  const id = version ? `${name}/${version}` : name;
  return new KeyVaultServiceError(404, 'SecretNotFound', `A secret with (name/id) ${id} was not found in this key vault.`);
}

function deletedSecretNotFound(name: string): KeyVaultServiceError {
  return new KeyVaultServiceError(404, 'SecretNotFound', `Deleted Secret not found: ${name}`);
}

function newVersionId(): string {
  return randomBytes(16).toString('hex');
}

function applyAttributes(target: StoredSecretVersion, attributes: SecretAttributesInput | undefined): void {
  if (!attributes) return;
  if (attributes.enabled !== undefined) target.enabled = attributes.enabled;
  if (attributes.nbf !== undefined) target.nbf = attributes.nbf ?? undefined;
  if (attributes.exp !== undefined) target.exp = attributes.exp ?? undefined;
}

export function latestVersion(secret: StoredSecret): StoredSecretVersion {
  const latest = secret.versions.at(-1);
  if (!latest) throw new Error(`Secret ${secret.name} has no versions`);
  return latest;
}

export interface SecretVaultOptions {
  /** Days a deleted secret stays recoverable (Key Vault: 7 to 90, default 90). */
  readonly recoverableDays?: number;
  readonly clock?: () => Date;
  /** Called after every change, with the state to persist. */
  readonly onChange?: (snapshot: VaultSnapshot) => void;
}

export class SecretVault {
  readonly recoverableDays: number;
  private readonly secrets = new Map<string, StoredSecret>();
  private readonly deleted = new Map<string, DeletedSecret>();
  private readonly clock: () => Date;
  private readonly onChange: (snapshot: VaultSnapshot) => void;

  constructor(options: SecretVaultOptions = {}, snapshot?: VaultSnapshot) {
    this.recoverableDays = options.recoverableDays ?? 90;
    this.clock = options.clock ?? (() => new Date());
    this.onChange = options.onChange ?? (() => undefined);
    if (snapshot) this.load(snapshot);
  }

  now(): UnixSeconds {
    return Math.floor(this.clock().getTime() / 1000);
  }

  setSecret(name: string, input: SetSecretInput): { secret: StoredSecret; version: StoredSecretVersion } {
    assertValidSecretName(name);
    this.purgeDueDeletions();
    if (this.deleted.has(key(name))) {
      throw new KeyVaultServiceError(
        409,
        'Conflict',
        `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
        'ObjectIsDeletedButRecoverable',
      );
    }
    const now = this.now();
    const version: StoredSecretVersion = {
      version: newVersionId(),
      value: input.value,
      contentType: input.contentType,
      tags: input.tags,
      enabled: true,
      created: now,
      updated: now,
    };
    applyAttributes(version, input.attributes);
    let secret = this.secrets.get(key(name));
    if (!secret) {
      secret = { name, versions: [] };
      this.secrets.set(key(name), secret);
    }
    secret.versions.push(version);
    this.changed();
    return { secret, version };
  }

  /** The version's metadata whether or not it is enabled. */
  findVersion(name: string, version?: string): { secret: StoredSecret; version: StoredSecretVersion } {
    assertValidSecretName(name);
    const secret = this.secrets.get(key(name));
    if (!secret) throw secretNotFound(name, version);
    if (!version) return { secret, version: latestVersion(secret) };
    const found = secret.versions.find((v) => v.version === version.toLowerCase());
    if (!found) throw secretNotFound(name, version);
    return { secret, version: found };
  }

  /** What `GET /secrets/{name}/{version}` reads: refused when that version is disabled. */
  readSecret(name: string, version?: string): { secret: StoredSecret; version: StoredSecretVersion } {
    const found = this.findVersion(name, version);
    if (!found.version.enabled) {
      throw new KeyVaultServiceError(403, 'Forbidden', 'Operation get is not allowed on a disabled secret.', 'SecretDisabled');
    }
    return found;
  }

  updateSecret(name: string, version: string | undefined, input: UpdateSecretInput): { secret: StoredSecret; version: StoredSecretVersion } {
    const found = this.findVersion(name, version);
    if (input.contentType !== undefined) found.version.contentType = input.contentType;
    if (input.tags !== undefined) found.version.tags = input.tags;
    applyAttributes(found.version, input.attributes);
    found.version.updated = this.now();
    this.changed();
    return found;
  }

  listSecrets(): StoredSecret[] {
    return [...this.secrets.values()].sort((a, b) => compareNames(a.name, b.name));
  }

  /** Key Vault answers an empty list, not 404, for a name it does not hold. */
  listVersions(name: string): StoredSecretVersion[] {
    assertValidSecretName(name);
    return [...(this.secrets.get(key(name))?.versions ?? [])];
  }

  deleteSecret(name: string): DeletedSecret {
    assertValidSecretName(name);
    const secret = this.secrets.get(key(name));
    if (!secret) throw secretNotFound(name);
    const now = this.now();
    const deleted: DeletedSecret = { secret, deletedDate: now, scheduledPurgeDate: now + this.recoverableDays * SECONDS_PER_DAY };
    this.secrets.delete(key(name));
    this.deleted.set(key(name), deleted);
    this.changed();
    return deleted;
  }

  getDeletedSecret(name: string): DeletedSecret {
    assertValidSecretName(name);
    this.purgeDueDeletions();
    const deleted = this.deleted.get(key(name));
    if (!deleted) throw deletedSecretNotFound(name);
    return deleted;
  }

  listDeletedSecrets(): DeletedSecret[] {
    this.purgeDueDeletions();
    return [...this.deleted.values()].sort((a, b) => compareNames(a.secret.name, b.secret.name));
  }

  recoverDeletedSecret(name: string): StoredSecret {
    const deleted = this.getDeletedSecret(name);
    if (this.secrets.has(key(name))) {
      throw new KeyVaultServiceError(409, 'Conflict', `Secret ${name} already exists and cannot be recovered over.`);
    }
    this.deleted.delete(key(name));
    this.secrets.set(key(name), deleted.secret);
    this.changed();
    return deleted.secret;
  }

  purgeDeletedSecret(name: string): void {
    this.getDeletedSecret(name);
    this.deleted.delete(key(name));
    this.changed();
  }

  snapshot(): VaultSnapshot {
    return { format: SNAPSHOT_FORMAT, secrets: [...this.secrets.values()], deleted: [...this.deleted.values()] };
  }

  /** Key Vault purges a deleted secret on its scheduled date; here that happens when next looked at. */
  private purgeDueDeletions(): void {
    const now = this.now();
    let purged = false;
    for (const [name, deleted] of this.deleted) {
      if (deleted.scheduledPurgeDate <= now) {
        this.deleted.delete(name);
        purged = true;
      }
    }
    if (purged) this.changed();
  }

  private load(snapshot: VaultSnapshot): void {
    if (snapshot.format !== SNAPSHOT_FORMAT) throw new Error(`Unknown vault state format ${String(snapshot.format)}`);
    for (const secret of snapshot.secrets) this.secrets.set(key(secret.name), secret);
    for (const deleted of snapshot.deleted) this.deleted.set(key(deleted.secret.name), deleted);
  }

  private changed(): void {
    this.onChange(this.snapshot());
  }
}

function key(name: string): string {
  return name.toLowerCase();
}

function compareNames(a: string, b: string): number {
  const left = key(a);
  const right = key(b);
  return left < right ? -1 : left > right ? 1 : 0;
}
