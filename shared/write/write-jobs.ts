/**
 * Messages on the `write-operations` queue: "carry out this accepted operation". The message
 * holds ids only; the operation itself is read back from Table Storage (validated again), so a
 * message cannot carry a request the API never accepted.
 */
import type { QueueClient } from '@azure/storage-queue';
import { z } from 'zod';
import { sendQueueMessage } from '../storage/queue-client-factory';

export const WRITE_OPERATIONS_QUEUE = 'write-operations';
/** Where the Functions host moves a message after maxDequeueCount failed runs (host.json). */
export const WRITE_OPERATIONS_POISON_QUEUE = `${WRITE_OPERATIONS_QUEUE}-poison`;
const MAX_DELAY_IN_SECONDS = 7 * 24 * 3600;

// Not strict: sendQueueMessage adds the W3C trace context (traceparent) to every message.
const writeJobSchema = z.object({
  v: z.literal(1),
  tenantId: z.string().min(1).max(64),
  groupId: z.string().min(1).max(64),
  mailbox: z.string().min(3).max(320).transform((value) => value.toLowerCase()),
  operationId: z.uuid(),
  enqueuedAt: z.string().max(40),
});
export type WriteJob = z.infer<typeof writeJobSchema>;

export class InvalidWriteJobError extends Error {
  readonly code = 'InvalidWriteJob';
  constructor(detail: string) {
    super(`Not a write job: ${detail}`);
    this.name = 'InvalidWriteJobError';
  }
}

export function parseWriteJob(value: unknown): WriteJob {
  let candidate = value;
  if (typeof candidate === 'string') {
    try {
      candidate = JSON.parse(candidate);
    } catch {
      throw new InvalidWriteJobError('the message is not JSON');
    }
  }
  const parsed = writeJobSchema.safeParse(candidate);
  if (!parsed.success) throw new InvalidWriteJobError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
  return parsed.data;
}

export interface WriteJobQueue {
  enqueue(job: WriteJob, options?: { readonly delayInMs?: number }): Promise<void>;
}

export function storageWriteJobQueue(client: QueueClient): WriteJobQueue {
  return {
    async enqueue(job, options = {}) {
      const delayInSeconds = Math.min(MAX_DELAY_IN_SECONDS, Math.max(0, Math.ceil((options.delayInMs ?? 0) / 1000)));
      await sendQueueMessage(client, job, delayInSeconds > 0 ? { visibilityTimeoutInSeconds: delayInSeconds } : {});
    },
  };
}
