/**
 * When each group was last scheduled for polling. The timer function runs on every instance
 * every minute; claiming a group's slot is an ETag-guarded write, so exactly one instance
 * enqueues a group's jobs per interval.
 */
import { EntityTable } from './entity-table';
import type { EntityCodec, EntityKey } from './entity-table';
import { EntityConflictError, PreconditionFailedError } from './errors';
import { stringColumn } from './table-storage';
import type { TableStorage } from './table-storage';
import { encodeKeyPart } from './table-keys';

export const SYNC_SCHEDULE_TABLE = 'syncschedule';

interface ScheduleRow {
  readonly tenantId: string;
  readonly groupId: string;
  readonly lastScheduledAt: string;
}

function scheduleKey(tenantId: string, groupId: string): EntityKey {
  return { partitionKey: encodeKeyPart(tenantId), rowKey: encodeKeyPart(groupId) };
}

const scheduleCodec: EntityCodec<ScheduleRow> = {
  kind: 'SyncSchedule',
  keyOf: (row) => scheduleKey(row.tenantId, row.groupId),
  toColumns: (row) => ({ tenantId: row.tenantId, groupId: row.groupId, lastScheduledAt: row.lastScheduledAt }),
  fromEntity: (entity) => ({
    tenantId: stringColumn(entity, 'tenantId') ?? '',
    groupId: stringColumn(entity, 'groupId') ?? '',
    lastScheduledAt: stringColumn(entity, 'lastScheduledAt') ?? '',
  }),
};

export class SyncScheduleRepository {
  readonly #table: EntityTable<ScheduleRow>;

  constructor(storage: TableStorage) {
    this.#table = new EntityTable(storage, SYNC_SCHEDULE_TABLE, scheduleCodec);
  }

  async lastScheduledAt(tenantId: string, groupId: string): Promise<Date | undefined> {
    const row = await this.#table.find(scheduleKey(tenantId, groupId));
    return row?.lastScheduledAt ? new Date(row.lastScheduledAt) : undefined;
  }

  /**
   * Claims the group's next poll when at least `intervalInMs` passed since the last one.
   * True for exactly one caller per interval, even when several instances race.
   */
  async tryClaim(tenantId: string, groupId: string, now: Date, intervalInMs: number): Promise<boolean> {
    return (await this.claim(tenantId, groupId, now, intervalInMs)).claimed;
  }

  /** tryClaim, also saying when the group was claimed before (the safety poll of notified mailboxes counts from it). */
  async claim(tenantId: string, groupId: string, now: Date, intervalInMs: number): Promise<{ readonly claimed: boolean; readonly previous?: Date }> {
    const row: ScheduleRow = { tenantId, groupId, lastScheduledAt: now.toISOString() };
    const existing = await this.#table.find(scheduleKey(tenantId, groupId));
    const previous = existing ? new Date(existing.lastScheduledAt) : undefined;
    try {
      if (!existing) {
        await this.#table.create(row);
        return { claimed: true };
      }
      if (now.getTime() - new Date(existing.lastScheduledAt).getTime() < intervalInMs) return { claimed: false };
      await this.#table.replace(row, existing.etag);
      return { claimed: true, ...(previous ? { previous } : {}) };
    } catch (error) {
      if (error instanceof EntityConflictError || error instanceof PreconditionFailedError) return { claimed: false };
      throw error;
    }
  }
}
