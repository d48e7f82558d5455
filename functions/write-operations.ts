// POST/GET /api/admin/tenants/{t}/groups/{g}/mailboxes/{m}/operations[/{id}], GET/PUT .../groups/{g}/write-back;
// `write-operation` carries accepted operations out from the write-operations queue.
import { registerAdminRoutes } from '../shared/admin/register-admin-routes';
import { invocationLogger } from '../shared/logging';
import { defineStorageQueueFunction } from '../shared/runtime/function-registry';
import { registerMailboxAccessForDelivery } from '../shared/sync/sync-composition';
import { InvalidWriteJobError, parseWriteJob, WRITE_OPERATIONS_QUEUE } from '../shared/write/write-jobs';
import { writeRoutes } from '../shared/write/write-routes';
import { writeRuntime } from '../shared/write/write-composition';
import { runWriteJob } from '../shared/write/write-worker';

registerMailboxAccessForDelivery();
registerAdminRoutes(writeRoutes);

defineStorageQueueFunction('write-operation', {
  queueName: WRITE_OPERATIONS_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: async (message, context) => {
    const log = invocationLogger(context);
    let job;
    try {
      job = parseWriteJob(message);
    } catch (error) {
      // A malformed message never becomes valid: drop it (logged) instead of poisoning the queue five times.
      if (error instanceof InvalidWriteJobError) {
        log.error('Dropped a malformed write job', { error: error.message });
        return;
      }
      throw error;
    }
    const outcome = await runWriteJob(job, { ...writeRuntime().worker, log });
    log.debug('Write job finished', { outcome: outcome.kind, ...(outcome.kind === 'completed' ? { status: outcome.status } : { reason: outcome.reason }) });
  },
});
