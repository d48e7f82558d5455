/**
 * "Sync this mailbox now", debounced. A notification never syncs inline: it queues a normal sync
 * job (reason `notification`) on the sync-jobs queue, which then reads through delta /
 * SyncFolderItems like a poll. Notifications are a trigger, never the data.
 *
 * Debounce: one marker row per mailbox (table `notifytriggers`):
 *   none     → the notification inserts `queued` and queues a job at once;
 *   queued   → a job is queued and has not started: nothing to do (it will read this change);
 *   running  → a sync runs and may have read past this change's folder already: the marker
 *              becomes `queued` and ONE follow-up is queued, delayed by the follow-up delay so
 *              that the rest of a burst lands before it starts (and finds it `queued`).
 * The job marks the row `running` when its sync starts (lease and slots held) and deletes it when
 * it ends, unless a notification queued a follow-up meanwhile. A burst of 500 notifications thus
 * yields one running sync and at most one follow-up.
 *
 * A marker whose job was lost (the enqueue failed after the insert, a crash) is taken over once
 * it is older than STALE_MARKER_IN_MS; the safety poll covers the mailbox meanwhile.
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
  readonly state: 'queued' | 'running';
  /** When the marker last changed state. */
  readonly queuedAt: string;
}

function markerKey(tenantId: string, groupId: string, mailbox: string): EntityKey {
  return { partitionKey: joinKeyParts(encodeKeyPart(tenantId), encodeKeyPart(groupId)), rowKey: encodeKeyPart(mailbox.toLowerCase()) };
}

const markerCodec: EntityCodec<TriggerMarker> = {
  kind: 'NotificationTrigger',
  keyOf: (m) => markerKey(m.tenantId, m.groupId, m.mailbox),
  toColumns: (m) => ({ tenantId: m.tenantId, groupId: m.groupId, mailbox: m.mailbox, state: m.state, queuedAt: m.queuedAt }),
  fromEntity: (e) => ({ tenantId: stringColumn(e, 'tenantId') ?? '', groupId: stringColumn(e, 'groupId') ?? '', mailbox: stringColumn(e, 'mailbox') ?? '', state: stringColumn(e, 'state') === 'running' ? 'running' : 'queued', queuedAt: stringColumn(e, 'queuedAt') ?? '' }),
};

export type TriggerOutcome = 'queued' | 'followUpQueued' | 'alreadyQueued';

/** Default delay of a follow-up queued while a sync runs: long enough for a burst to land. */
export const DEFAULT_FOLLOW_UP_DELAY_IN_MS = 1_000;

/** What the job got when its sync started; pass it back when the sync ends. */
export interface RunningMarker {
  readonly ref: MailboxRef;
  readonly etag: string;
}

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
    private readonly followUpDelayInMs: number = DEFAULT_FOLLOW_UP_DELAY_IN_MS,
  ) {
    this.#markers = new EntityTable(storage, NOTIFICATION_TRIGGERS_TABLE, markerCodec);
  }

  /** Queues a `notification` sync job for the mailbox unless one is queued and not yet started. */
  async trigger(ref: MailboxRef): Promise<TriggerOutcome> {
    const marker = this.marker(ref, 'queued');
    const key = markerKey(ref.tenantId, ref.groupId, ref.mailbox);
    let followUp = false;
    try {
      await this.#markers.create(marker);
    } catch (error) {
      if (!(error instanceof EntityConflictError)) throw error;
      const existing = await this.#markers.find(key);
      const stale = existing !== undefined && this.now().getTime() - Date.parse(existing.queuedAt) >= STALE_MARKER_IN_MS;
      if (existing && existing.state === 'queued' && !stale) return 'alreadyQueued';
      try {
        if (existing) await this.#markers.replace(marker, existing.etag);
        else await this.#markers.create(marker);
      } catch (raced) {
        // Another notification changed the marker first: it queued the job this one wanted.
        if (raced instanceof PreconditionFailedError || raced instanceof EntityConflictError) return 'alreadyQueued';
        throw raced;
      }
      followUp = existing?.state === 'running' && !stale;
    }
    try {
      await this.jobs.enqueue(newSyncJob(ref.tenantId, ref.groupId, ref.mailbox, 'notification', this.now()), followUp ? { delayInMs: this.followUpDelayInMs } : {});
    } catch (error) {
      // Without a job the marker would block this mailbox's notifications until it goes stale.
      await this.#markers.delete(key, ref.mailbox).catch(() => undefined);
      throw error;
    }
    return followUp ? 'followUpQueued' : 'queued';
  }

  /**
   * The job's sync starts now: later notifications queue one follow-up. Undefined when the marker
   * is gone (a poll ran the job's work already, or it went stale): the job just runs.
   */
  async started(ref: MailboxRef): Promise<RunningMarker | undefined> {
    const key = markerKey(ref.tenantId, ref.groupId, ref.mailbox);
    const existing = await this.#markers.find(key);
    if (!existing) return undefined;
    try {
      const running = await this.#markers.replace(this.marker(ref, 'running'), existing.etag);
      return { ref, etag: running.etag };
    } catch (error) {
      if (error instanceof PreconditionFailedError || error instanceof EntityNotFoundError) return undefined;
      throw error;
    }
  }

  /** The sync ended: the marker goes, unless a notification queued a follow-up meanwhile (then it stays `queued`). */
  async finished(marker: RunningMarker): Promise<void> {
    await this.#markers.delete(markerKey(marker.ref.tenantId, marker.ref.groupId, marker.ref.mailbox), marker.ref.mailbox, marker.etag).catch((error: unknown) => {
      if (!(error instanceof EntityNotFoundError) && !(error instanceof PreconditionFailedError)) throw error;
    });
  }

  private marker(ref: MailboxRef, state: TriggerMarker['state']): TriggerMarker {
    return { tenantId: ref.tenantId, groupId: ref.groupId, mailbox: ref.mailbox.toLowerCase(), state, queuedAt: this.now().toISOString() };
  }
}
