import type { QueueClient } from '@azure/storage-queue';
import { z } from 'zod';
import { encodeTracedQueueMessage, sendEncodedQueueMessage, sendQueueMessage } from '../storage';
import type { ChangeBatch, DeliveryOutbox, OutboxReceipt } from './change-batch';
import type { BatchBlobStore } from './delivery-storage';

/** Storage queue messages are capped at 64 KiB of base64 text; leave room for the envelope. */
export const MAX_INLINE_MESSAGE_CHARS = 64 * 1024;

/** One message on the `deliveries` queue: a batch (inline or by claim-check) and its attempt number. */
export const deliveryMessageSchema = z.object({
  v: z.literal(1),
  batchId: z.string().min(1),
  tenantId: z.string().min(1),
  groupId: z.string().min(1),
  mailbox: z.string(),
  /** 1 for the first attempt. */
  attempt: z.number().int().min(1),
  firstEnqueuedAt: z.string(),
  /** Set when the message comes from an admin replay of a dead letter. */
  replayOf: z.string().optional(),
  /** Queue targets: parts of a split batch that earlier attempts delivered (the retry resumes after them). */
  partsAccepted: z.number().int().min(0).optional(),
  batch: z.unknown().optional(),
  blobName: z.string().optional(),
});
export type DeliveryMessage = Omit<z.infer<typeof deliveryMessageSchema>, 'batch'> & { readonly batch?: ChangeBatch };

export function batchBlobName(batch: Pick<ChangeBatch, 'tenantId' | 'groupId' | 'batchId'>): string {
  return `${groupBatchesPrefix(batch.tenantId, batch.groupId)}${batch.batchId}.json`;
}

/** Every claim-check and dead-letter blob of a group lives under this prefix. */
export function groupBatchesPrefix(tenantId: string, groupId: string): string {
  return `batches/${tenantId}/${groupId}/`;
}

export interface StorageDeliveryOutboxOptions {
  readonly now?: () => Date;
}

/**
 * The durable outbox: enqueue resolves after the batch is in the `deliveries` queue (and in
 * blob storage first when it is too large for a queue message). The sync engine saves its
 * SyncState only after this, so a crash in between re-syncs rather than loses changes.
 */
export class StorageDeliveryOutbox implements DeliveryOutbox {
  constructor(
    private readonly queue: QueueClient,
    private readonly blobs: BatchBlobStore,
    private readonly options: StorageDeliveryOutboxOptions = {},
  ) {}

  async enqueue(batch: ChangeBatch): Promise<OutboxReceipt> {
    const message: DeliveryMessage = {
      v: 1,
      batchId: batch.batchId,
      tenantId: batch.tenantId,
      groupId: batch.groupId,
      mailbox: batch.mailbox,
      attempt: 1,
      firstEnqueuedAt: (this.options.now?.() ?? new Date()).toISOString(),
      batch,
    };
    // Serialised once: the size check and the message are the same text (a batch of 100 records with bodies is large).
    const encoded = encodeTracedQueueMessage(message);
    if (encoded.length <= MAX_INLINE_MESSAGE_CHARS) {
      await sendEncodedQueueMessage(this.queue, encoded);
      return { batchId: batch.batchId, claimCheck: false };
    }
    const blobName = batchBlobName(batch);
    await this.blobs.put(blobName, JSON.stringify(batch));
    const { batch: _inline, ...reference } = message;
    await sendQueueMessage(this.queue, { ...reference, blobName });
    return { batchId: batch.batchId, claimCheck: true };
  }

  /** Sends a message again for a later attempt, invisible for `delayInSeconds`. */
  async schedule(message: DeliveryMessage, delayInSeconds: number): Promise<void> {
    await sendQueueMessage(this.queue, message, { visibilityTimeoutInSeconds: Math.max(0, Math.round(delayInSeconds)) });
  }
}
