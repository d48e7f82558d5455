/**
 * The JSON Key Vault puts on the wire for secrets (SecretBundle, SecretItem, DeletedSecretBundle,
 * DeletedSecretItem) and the request bodies it accepts. Dates are unix seconds; ids are
 * `{vault}/secrets/{name}[/{version}]`; deleted secrets carry `recoveryId` `{vault}/deletedsecrets/{name}`.
 */
import { z } from 'zod';
import { latestVersion, type DeletedSecret, type StoredSecret, type StoredSecretVersion } from './secret-vault';

/** The recovery level of a soft-delete vault without purge protection. */
const RECOVERY_LEVEL = 'Recoverable+Purgeable';
const MAX_TAGS = 15;
const MAX_CONTENT_TYPE_LENGTH = 255;

export interface WireAttributes {
  enabled: boolean;
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
  recoveryLevel: string;
  recoverableDays: number;
}

export interface WireSecretBundle {
  value?: string;
  id: string;
  contentType?: string;
  attributes: WireAttributes;
  tags?: Record<string, string>;
}

export interface WireSecretItem {
  id: string;
  attributes: WireAttributes;
  contentType?: string;
  tags?: Record<string, string>;
}

export interface WireDeletedFields {
  recoveryId: string;
  deletedDate: number;
  scheduledPurgeDate: number;
}

export class WireFormat {
  constructor(
    private readonly vaultUrl: string,
    private readonly recoverableDays: number,
  ) {}

  secretBundle(secret: StoredSecret, version: StoredSecretVersion, includeValue: boolean): WireSecretBundle {
    return {
      ...(includeValue ? { value: version.value } : {}),
      id: `${this.vaultUrl}/secrets/${secret.name}/${version.version}`,
      ...this.descriptive(version),
      attributes: this.attributes(version),
    };
  }

  /** A row of `GET /secrets`: the secret without version, described by its latest version. */
  secretItem(secret: StoredSecret): WireSecretItem {
    const latest = latestVersion(secret);
    return { id: `${this.vaultUrl}/secrets/${secret.name}`, attributes: this.attributes(latest), ...this.descriptive(latest) };
  }

  /** A row of `GET /secrets/{name}/versions`. */
  versionItem(secret: StoredSecret, version: StoredSecretVersion): WireSecretItem {
    return { id: `${this.vaultUrl}/secrets/${secret.name}/${version.version}`, attributes: this.attributes(version), ...this.descriptive(version) };
  }

  /** What DELETE, GET /deletedsecrets/{name} answer: the latest version's metadata, never its value. */
  deletedBundle(deleted: DeletedSecret): WireSecretBundle & WireDeletedFields {
    return { ...this.deletedFields(deleted), ...this.secretBundle(deleted.secret, latestVersion(deleted.secret), false) };
  }

  deletedItem(deleted: DeletedSecret): WireSecretItem & WireDeletedFields {
    return { ...this.deletedFields(deleted), ...this.secretItem(deleted.secret) };
  }

  private deletedFields(deleted: DeletedSecret): WireDeletedFields {
    return {
      recoveryId: `${this.vaultUrl}/deletedsecrets/${deleted.secret.name}`,
      deletedDate: deleted.deletedDate,
      scheduledPurgeDate: deleted.scheduledPurgeDate,
    };
  }

  private descriptive(version: StoredSecretVersion): { contentType?: string; tags?: Record<string, string> } {
    return {
      ...(version.contentType !== undefined ? { contentType: version.contentType } : {}),
      ...(version.tags !== undefined ? { tags: version.tags } : {}),
    };
  }

  private attributes(version: StoredSecretVersion): WireAttributes {
    return {
      enabled: version.enabled,
      ...(version.nbf !== undefined ? { nbf: version.nbf } : {}),
      ...(version.exp !== undefined ? { exp: version.exp } : {}),
      created: version.created,
      updated: version.updated,
      recoveryLevel: RECOVERY_LEVEL,
      recoverableDays: this.recoverableDays,
    };
  }
}

const unixSeconds = z.number().int().nonnegative();

const attributesBody = z
  .object({
    enabled: z.boolean().optional(),
    nbf: unixSeconds.nullable().optional(),
    exp: unixSeconds.nullable().optional(),
  })
  .optional();

const tagsBody = z
  .record(z.string().max(512), z.string().max(256))
  .refine((tags) => Object.keys(tags).length <= MAX_TAGS, `at most ${MAX_TAGS} tags are allowed`)
  .optional();

/** Body of PUT /secrets/{name}. Unknown members are ignored, as Key Vault does. */
export const setSecretBody = z.object({
  value: z.string(),
  contentType: z.string().max(MAX_CONTENT_TYPE_LENGTH).optional(),
  tags: tagsBody,
  attributes: attributesBody,
});

/** Body of PATCH /secrets/{name}/{version}. */
export const updateSecretBody = z.object({
  contentType: z.string().max(MAX_CONTENT_TYPE_LENGTH).optional(),
  tags: tagsBody,
  attributes: attributesBody,
});
