import { EntityTable } from './entity-table';
import type { EntityCodec, EntityKey } from './entity-table';
import { stringColumn } from './table-storage';
import type { TableStorage } from './table-storage';
import { encodeKeyPart } from './table-keys';

export const ALERT_NOTICES_TABLE = 'alertnotices';

/**
 * One notice sent: a credential's threshold (30, 14, 7 days, expired) or a mailbox's failure
 * episode. Its key makes each notice once-only: a renewed credential or a new failure episode
 * has a new key, so its notices start again.
 */
export interface AlertNoticeRecord {
  readonly tenantId: string;
  /** e.g. credential|<groupId>|<secret name>|<version>|7 or mailbox|<groupId>|<address>|<failing since>. */
  readonly noticeKey: string;
  /** The group the notice is about (absent for the operator's own notices): group deletion removes its notices. */
  readonly groupId?: string;
  readonly kind: 'credentialExpiring' | 'mailboxFailing';
  readonly sentAt: string;
  /** What reached whom: "email 2/2, event delivered" (no addresses). */
  readonly outcome: string;
}

function keyOf(record: Pick<AlertNoticeRecord, 'tenantId' | 'noticeKey'>): EntityKey {
  return { partitionKey: encodeKeyPart(record.tenantId), rowKey: encodeKeyPart(record.noticeKey) };
}

const codec: EntityCodec<AlertNoticeRecord> = {
  kind: 'AlertNotice',
  keyOf,
  toColumns: (record) => ({ ...record }),
  fromEntity: (entity) => ({
    tenantId: stringColumn(entity, 'tenantId') ?? '',
    noticeKey: stringColumn(entity, 'noticeKey') ?? '',
    groupId: stringColumn(entity, 'groupId'),
    kind: (stringColumn(entity, 'kind') ?? 'credentialExpiring') as AlertNoticeRecord['kind'],
    sentAt: stringColumn(entity, 'sentAt') ?? '',
    outcome: stringColumn(entity, 'outcome') ?? '',
  }),
};

export class AlertNoticesRepository {
  readonly #table: EntityTable<AlertNoticeRecord>;

  constructor(storage: TableStorage) {
    this.#table = new EntityTable(storage, ALERT_NOTICES_TABLE, codec);
  }

  async wasSent(tenantId: string, noticeKey: string): Promise<boolean> {
    return (await this.#table.find(keyOf({ tenantId, noticeKey }))) !== undefined;
  }

  async recordSent(record: AlertNoticeRecord): Promise<void> {
    await this.#table.upsert(record);
  }
}
