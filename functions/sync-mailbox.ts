import { invocationLogger } from '../shared/logging';
import { defineStorageQueueFunction } from '../shared/runtime/function-registry';
import { registerMailboxAccessForDelivery, syncRuntime } from '../shared/sync/sync-composition';
import { InvalidSyncJobError, parseSyncJob, SYNC_JOBS_QUEUE } from '../shared/sync/sync-jobs';
import { runSyncJob } from '../shared/sync/sync-worker';

registerMailboxAccessForDelivery();

defineStorageQueueFunction('sync-mailbox', {
  queueName: SYNC_JOBS_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: async (message, context) => {
    const log = invocationLogger(context);
    let job;
    try {
      job = parseSyncJob(message);
    } catch (error) {
      // A malformed message never becomes valid: drop it (logged) instead of poisoning the queue five times.
      if (error instanceof InvalidSyncJobError) {
        log.error('Dropped a malformed sync job', { error: error.message });
        return;
      }
      throw error;
    }
    const outcome = await runSyncJob(job, { ...syncRuntime().worker, log });
    log.debug('Sync job finished', { outcome: outcome.kind });
  },
});
