/**
 * "Sync this mailbox now", debounced. A notification never syncs inline: it queues a normal sync
 * job (reason `notification`) on the sync-jobs queue, which then reads through delta /
 * SyncFolderItems like a poll. Notifications are a trigger, never the data.
 *
 * Debounce: one marker row per mailbox (table `notifytriggers`) says "a notification job is
 * queued and has not started yet". Inserting it is the only way to queue a notification job, so
 * while it exists further notifications do nothing. The job deletes the marker when its sync
 * starts (after it holds the mailbox lease and its slots): a notification after that inserts a
 * new marker and queues exactly one follow-up, which waits for the lease (re-queued with a short
 * delay) and then reads what the first sync did not see. A burst of 500 notifications thus yields
 * one running sync and at most one follow-up.
 *
 * A marker whose job was lost (the enqueue failed after the insert, or a crash) is taken over once
 * it is older than STALE_MARKER_IN_MS, so a lost job delays notifications for one mailbox by that
 * much at worst, and the safety poll still runs.
 */
import { EntityTable } from '../storage/entity-table';
import type { EntityCodec, EntityKey } from '../storage/entity-table';
import { EntityConflictError, EntityNotFoundError, PreconditionFailedError } from '../storage/errors';
import { stringColumn } from '../storage/table-storage';
import type { TableStorage } from '../storage/table-storage';
import { encodeKeyPart, joinKeyParts } from '../storage/table-keys';
import { newSyncJob } from '../sync/sync-jobs';
import type { SyncJobQueue } from '../sync/sync-jobs';

export const NOTIFICATION_TRIGGERS_TABLE = 'notifytriggers';

/** Longer than a job normally waits on the queue (lease and slot retries are 2–4 s each). */
const STALE_MARKER_IN_MS = 5 * 60_000;

interface TriggerMarker {
  readonly tenantId: string;
  readonly groupId: string;
  readonly mailbox: string;
  readonly queuedAt: string;
}

function markerKey(tenantId: string, groupId: string, mailbox: string): EntityKey {
  return { partitionKey: joinKeyParts(encodeKeyPart(tenantId), encodeKeyPart(groupId)), rowKey: encodeKeyPart(mailbox.toLowerCase()) };
}

const markerCodec: EntityCodec<TriggerMarker> = {
  kind: 'NotificationTrigger',
  keyOf: (m) => markerKey(m.tenantId, m.groupId, m.mailbox),
  toColumns: (m) => ({ tenantId: m.tenantId, groupId: m.groupId, mailbox: m.mailbox, queuedAt: m.queuedAt }),
  fromEntity: (e) => ({ tenantId: stringColumn(e, 'tenantId') ?? '', groupId: stringColumn(e, 'groupId') ?? '', mailbox: stringColumn(e, 'mailbox') ?? '', queuedAt: stringColumn(e, 'queuedAt') ?? '' }),
};

export type TriggerOutcome = 'queued' | 'alreadyQueued';

export interface MailboxRef {
  readonly tenantId: string;
  readonly groupId: string;
  readonly mailbox: string;
}

export class NotificationSyncTrigger {
  readonly #markers: EntityTable<TriggerMarker>;

  constructor(
    storage: TableStorage,
    private readonly jobs: SyncJobQueue,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.#markers = new EntityTable(storage, NOTIFICATION_TRIGGERS_TABLE, markerCodec);
  }

  /** Queues one `notification` sync job for the mailbox unless one is queued and not yet started. */
  async trigger(ref: MailboxRef): Promise<TriggerOutcome> {
    const marker: TriggerMarker = { tenantId: ref.tenantId, groupId: ref.groupId, mailbox: ref.mailbox.toLowerCase(), queuedAt: this.now().toISOString() };
    try {
      await this.#markers.create(marker);
    } catch (error) {
      if (!(error instanceof EntityConflictError)) throw error;
      if (!(await this.takeOverStale(marker))) return 'alreadyQueued';
    }
    try {
      await this.jobs.enqueue(newSyncJob(ref.tenantId, ref.groupId, ref.mailbox, 'notification', this.now()));
    } catch (error) {
      // Without a job the marker would block this mailbox's notifications until it goes stale.
      await this.consume(ref).catch(() => undefined);
      throw error;
    }
    return 'queued';
  }

  /** The job's sync starts now: later notifications queue a follow-up. */
  async consume(ref: MailboxRef): Promise<void> {
    await this.#markers.delete(markerKey(ref.tenantId, ref.groupId, ref.mailbox), ref.mailbox).catch((error: unknown) => {
      if (!(error instanceof EntityNotFoundError)) throw error;
    });
  }

  private async takeOverStale(marker: TriggerMarker): Promise<boolean> {
    const existing = await this.#markers.find(markerKey(marker.tenantId, marker.groupId, marker.mailbox));
    if (!existing) {
      try {
        await this.#markers.create(marker);
        return true;
      } catch (error) {
        if (error instanceof EntityConflictError) return false;
        throw error;
      }
    }
    if (this.now().getTime() - Date.parse(existing.queuedAt) < STALE_MARKER_IN_MS) return false;
    try {
      await this.#markers.replace(marker, existing.etag);
      return true;
    } catch (error) {
      if (error instanceof PreconditionFailedError) return false;
      throw error;
    }
  }
}
