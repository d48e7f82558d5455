// POST/GET /api/admin/tenants/{t}/groups/{g}/mailboxes/{m}/operations[/{id}], GET/PUT .../groups/{g}/write-back;
// `write-operation` carries accepted operations out from the write-operations queue; `write-operation-poison`
// ends operations whose message the host gave up on as failed; `write-operations-cleanup` applies the retention.
import { registerAdminRoutes } from '../shared/admin/register-admin-routes';
import { invocationLogger } from '../shared/logging';
import type { Logger } from '../shared/logging';
import { defineStorageQueueFunction, defineTimerFunction } from '../shared/runtime/function-registry';
import { registerMailboxAccessForDelivery } from '../shared/sync/sync-composition';
import { InvalidWriteJobError, parseWriteJob, WRITE_OPERATIONS_POISON_QUEUE, WRITE_OPERATIONS_QUEUE } from '../shared/write/write-jobs';
import type { WriteJob } from '../shared/write/write-jobs';
import { writeRoutes } from '../shared/write/write-routes';
import { writeRuntime } from '../shared/write/write-composition';
import { failPoisonedOperation, runWriteJob } from '../shared/write/write-worker';
import { appConfig } from '../shared/config';

registerMailboxAccessForDelivery();

/** A malformed message never becomes valid: it is dropped (logged) instead of poisoning the queue five times. */
function jobOrDrop(message: unknown, log: Logger): WriteJob | undefined {
  try {
    return parseWriteJob(message);
  } catch (error) {
    if (!(error instanceof InvalidWriteJobError)) throw error;
    log.error('Dropped a malformed write job', { error: error.message });
    return undefined;
  }
}
registerAdminRoutes(writeRoutes);

defineStorageQueueFunction('write-operation', {
  queueName: WRITE_OPERATIONS_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: async (message, context) => {
    const log = invocationLogger(context);
    const job = jobOrDrop(message, log);
    if (!job) return;
    const outcome = await runWriteJob(job, { ...writeRuntime().worker, log });
    log.debug('Write job finished', { outcome: outcome.kind, ...(outcome.kind === 'completed' ? { status: outcome.status } : { reason: outcome.reason }) });
  },
});

defineStorageQueueFunction('write-operation-poison', {
  queueName: WRITE_OPERATIONS_POISON_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: async (message, context) => {
    const log = invocationLogger(context);
    const job = jobOrDrop(message, log);
    if (!job) return;
    await failPoisonedOperation(job, { ...writeRuntime().worker, log });
  },
});

// Daily at 03:17 UTC: finished operations, their idempotency keys and echo rows older than WRITE_OPERATION_RETENTION_DAYS.
defineTimerFunction('write-operations-cleanup', {
  schedule: '0 17 3 * * *',
  handler: async (_timer, context) => {
    const log = invocationLogger(context);
    const days = appConfig().write.operationRetentionDays;
    const removed = await writeRuntime().store.purgeFinishedBefore(new Date(Date.now() - days * 86_400_000));
    log.info('Write operation retention applied', { retentionDays: days, ...removed });
  },
});
