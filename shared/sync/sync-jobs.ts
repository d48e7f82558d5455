/**
 * Jobs on the `sync-jobs` Storage queue: one message = "sync this mailbox now". Messages are
 * base64 JSON (what the Functions queue trigger expects). A delay becomes the message's
 * visibility timeout, so back-off never holds a function instance.
 */
import type { QueueClient } from '@azure/storage-queue';
import { z } from 'zod';
import { sendQueueMessage } from '../storage/queue-client-factory';

export const SYNC_JOBS_QUEUE = 'sync-jobs';

/** Storage queues hide a message for at most 7 days. */
const MAX_DELAY_IN_SECONDS = 7 * 24 * 3600;

/**
 * `signIn`: a delegated user just signed in (first time or after re-authentication); their mailbox syncs now, not at the next poll.
 * `notification`: Exchange pushed a change (shared/notifications/sync-trigger.ts, debounced per mailbox).
 */
export type SyncJobReason = 'scheduled' | 'continuation' | 'retry' | 'manual' | 'signIn' | 'notification';

export interface SyncJob {
  readonly version: 1;
  readonly tenantId: string;
  readonly groupId: string;
  /** Primary SMTP address (lower case). */
  readonly mailbox: string;
  readonly reason: SyncJobReason;
  /** ISO 8601. */
  readonly enqueuedAt: string;
}

const syncJobSchema = z.object({
  version: z.literal(1),
  tenantId: z.string().min(1),
  groupId: z.string().min(1),
  mailbox: z.string().min(3).transform((value) => value.toLowerCase()),
  reason: z.enum(['scheduled', 'continuation', 'retry', 'manual', 'signIn', 'notification']),
  enqueuedAt: z.string(),
});

export class InvalidSyncJobError extends Error {
  readonly code = 'InvalidSyncJob';
  constructor(detail: string) {
    super(`Not a sync job: ${detail}`);
    this.name = 'InvalidSyncJobError';
  }
}

/** Validates a dequeued message (the trigger hands over parsed JSON, or text when it was not JSON). */
export function parseSyncJob(value: unknown): SyncJob {
  let candidate = value;
  if (typeof candidate === 'string') {
    try {
      candidate = JSON.parse(candidate);
    } catch {
      throw new InvalidSyncJobError('the message is not JSON');
    }
  }
  const parsed = syncJobSchema.safeParse(candidate);
  if (!parsed.success) throw new InvalidSyncJobError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
  return parsed.data;
}

export function newSyncJob(tenantId: string, groupId: string, mailbox: string, reason: SyncJobReason, now: Date = new Date()): SyncJob {
  return { version: 1, tenantId, groupId, mailbox: mailbox.toLowerCase(), reason, enqueuedAt: now.toISOString() };
}

export interface SyncJobQueue {
  /** Sends the job; with `delayInMs` it becomes visible only after that delay. */
  enqueue(job: SyncJob, options?: { readonly delayInMs?: number }): Promise<void>;
}

export function storageSyncJobQueue(client: QueueClient): SyncJobQueue {
  return {
    async enqueue(job, options = {}) {
      const delayInSeconds = Math.min(MAX_DELAY_IN_SECONDS, Math.max(0, Math.ceil((options.delayInMs ?? 0) / 1000)));
      await sendQueueMessage(client, job, delayInSeconds > 0 ? { visibilityTimeoutInSeconds: delayInSeconds } : {});
    },
  };
}
