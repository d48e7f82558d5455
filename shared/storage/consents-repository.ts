/**
 * Admin consent to the connector app per tenant, each tenant's consent settings (invitation
 * email), and the ids of consumed `state` values (which makes every state single-use).
 */
import { EntityTable } from './entity-table';
import type { EntityCodec, EntityKey, Stored } from './entity-table';
import { booleanColumn, jsonColumn, stringColumn } from './table-storage';
import type { TableStorage } from './table-storage';
import { encodeKeyPart } from './table-keys';

export const CONSENTS_TABLE = 'consents';
export const CONSUMED_STATES_TABLE = 'consentstates';

export interface AdminConsentRecord {
  readonly tenantId: string;
  readonly status: 'granted' | 'refused';
  readonly entraTenantId?: string;
  readonly at: string;
  /** The admin who requested the consent link (Entra does not say who clicked accept). */
  readonly requestedBy: { readonly objectId: string; readonly name: string };
  /** Entra's error and description when refused. */
  readonly error?: { readonly code: string; readonly description: string };
  /** Granted: the administrator whose validated id_token proved the Entra tenant. */
  readonly grantedBy?: { readonly objectId: string; readonly name: string };
}

export interface ConsentSettingsRecord {
  readonly tenantId: string;
  /** Mailbox the product sends invitation and re-authentication emails from (through the connector app, app-only). */
  readonly senderMailbox?: string;
  readonly emailInvitations: boolean;
  readonly emailReauthentication: boolean;
  readonly invitationSubject?: string;
  readonly invitationMessage?: string;
  /** Who gets credential-expiry and persistent-failure notices (sent from senderMailbox). */
  readonly alertContacts?: readonly string[];
  readonly updatedAt: string;
}

const CONSENT_ROW = 'admin-consent';
const SETTINGS_ROW = 'settings';

const consentCodec: EntityCodec<AdminConsentRecord> = {
  kind: 'AdminConsent',
  keyOf: (record) => ({ partitionKey: encodeKeyPart(record.tenantId), rowKey: CONSENT_ROW }),
  toColumns: (record) => ({
    tenantId: record.tenantId,
    status: record.status,
    entraTenantId: record.entraTenantId,
    at: record.at,
    requestedBy: JSON.stringify(record.requestedBy),
    error: record.error ? JSON.stringify(record.error) : undefined,
    grantedBy: record.grantedBy ? JSON.stringify(record.grantedBy) : undefined,
  }),
  fromEntity: (entity) => ({
    tenantId: stringColumn(entity, 'tenantId') ?? '',
    status: (stringColumn(entity, 'status') ?? 'refused') as AdminConsentRecord['status'],
    entraTenantId: stringColumn(entity, 'entraTenantId'),
    at: stringColumn(entity, 'at') ?? '',
    requestedBy: jsonColumn(entity, 'requestedBy', { objectId: '', name: '' }),
    error: jsonColumn<AdminConsentRecord['error']>(entity, 'error', undefined),
    grantedBy: jsonColumn<AdminConsentRecord['grantedBy']>(entity, 'grantedBy', undefined),
  }),
};

const settingsCodec: EntityCodec<ConsentSettingsRecord> = {
  kind: 'ConsentSettings',
  keyOf: (record) => ({ partitionKey: encodeKeyPart(record.tenantId), rowKey: SETTINGS_ROW }),
  toColumns: (record) => ({ ...record, alertContacts: record.alertContacts?.length ? JSON.stringify(record.alertContacts) : undefined }),
  fromEntity: (entity) => ({
    tenantId: stringColumn(entity, 'tenantId') ?? '',
    senderMailbox: stringColumn(entity, 'senderMailbox'),
    alertContacts: jsonColumn<readonly string[] | undefined>(entity, 'alertContacts', undefined),
    emailInvitations: booleanColumn(entity, 'emailInvitations') ?? false,
    emailReauthentication: booleanColumn(entity, 'emailReauthentication') ?? false,
    invitationSubject: stringColumn(entity, 'invitationSubject'),
    invitationMessage: stringColumn(entity, 'invitationMessage'),
    updatedAt: stringColumn(entity, 'updatedAt') ?? '',
  }),
};

interface ConsumedState {
  readonly stateId: string;
  readonly purpose: string;
  readonly expiresAt: string;
}

const consumedCodec: EntityCodec<ConsumedState> = {
  kind: 'ConsumedState',
  // Partitioned by day of expiry so old rows can be dropped a partition at a time.
  keyOf: (state) => ({ partitionKey: state.expiresAt.slice(0, 10), rowKey: encodeKeyPart(state.stateId) }),
  toColumns: (state) => ({ ...state }),
  fromEntity: (entity) => ({ stateId: stringColumn(entity, 'stateId') ?? '', purpose: stringColumn(entity, 'purpose') ?? '', expiresAt: stringColumn(entity, 'expiresAt') ?? '' }),
};

export class ConsentsRepository {
  readonly #consents: EntityTable<AdminConsentRecord>;
  readonly #settings: EntityTable<ConsentSettingsRecord>;
  readonly #consumed: EntityTable<ConsumedState>;

  constructor(storage: TableStorage) {
    this.#consents = new EntityTable(storage, CONSENTS_TABLE, consentCodec);
    this.#settings = new EntityTable(storage, CONSENTS_TABLE, settingsCodec);
    this.#consumed = new EntityTable(storage, CONSUMED_STATES_TABLE, consumedCodec);
  }

  recordAdminConsent(record: AdminConsentRecord): Promise<Stored<AdminConsentRecord>> {
    return this.#consents.upsert(record);
  }

  findAdminConsent(tenantId: string): Promise<Stored<AdminConsentRecord> | undefined> {
    return this.#consents.find({ partitionKey: encodeKeyPart(tenantId), rowKey: CONSENT_ROW });
  }

  findSettings(tenantId: string): Promise<Stored<ConsentSettingsRecord> | undefined> {
    return this.#settings.find({ partitionKey: encodeKeyPart(tenantId), rowKey: SETTINGS_ROW });
  }

  saveSettings(record: ConsentSettingsRecord): Promise<Stored<ConsentSettingsRecord>> {
    return this.#settings.upsert(record);
  }

  async deleteTenantRecords(tenantId: string): Promise<void> {
    const keys: EntityKey[] = [CONSENT_ROW, SETTINGS_ROW].map((rowKey) => ({ partitionKey: encodeKeyPart(tenantId), rowKey }));
    for (const key of keys) {
      if (await this.#consents.find(key)) await this.#consents.delete(key, key.rowKey);
    }
  }

  /**
   * Records that a state was used; false when it already was (a replay). The insert is the
   * check, so two concurrent callbacks with one state cannot both succeed.
   */
  async consumeState(stateId: string, purpose: string, expiresAt: Date): Promise<boolean> {
    try {
      await this.#consumed.create({ stateId, purpose, expiresAt: expiresAt.toISOString() });
      return true;
    } catch (error: unknown) {
      if ((error as { code?: unknown }).code === 'Conflict') return false;
      throw error;
    }
  }
}
