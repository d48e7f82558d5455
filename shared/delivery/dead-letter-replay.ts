import type { DeadLetterRecord, DeadLetterRepository, Stored } from '../storage';
import type { StorageDeliveryOutbox } from './outbox';

export class DeadLetterNotFoundError extends Error {
  readonly code = 'DeadLetterNotFound';
}

/**
 * Puts a dead-lettered batch back on the deliveries queue as a fresh first attempt (the blob
 * stays: the dead letter keeps pointing at it) and notes the replay on the dead letter.
 */
export async function replayDeadLetter(
  deps: { readonly deadLetters: DeadLetterRepository; readonly outbox: StorageDeliveryOutbox; readonly now: () => Date },
  tenantId: string,
  id: string,
): Promise<Stored<DeadLetterRecord>> {
  const record = await deps.deadLetters.find(tenantId, id);
  if (!record) throw new DeadLetterNotFoundError(`No dead letter ${id} in this tenant.`);
  const at = deps.now();
  await deps.outbox.schedule(
    {
      v: 1,
      batchId: record.batchId,
      tenantId: record.tenantId,
      groupId: record.groupId,
      mailbox: record.mailbox,
      attempt: 1,
      firstEnqueuedAt: at.toISOString(),
      replayOf: record.id,
      blobName: record.blobName,
    },
    0,
  );
  const { etag, ...current } = record;
  return deps.deadLetters.replace({ ...current, replayedAt: at.toISOString(), replayCount: current.replayCount + 1 }, etag);
}
