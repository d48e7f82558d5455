import { invocationLogger } from '../shared/logging';
import { defineTimerFunction } from '../shared/runtime/function-registry';
import { scheduleDueGroups } from '../shared/sync/scheduler';
import { syncRuntime } from '../shared/sync/sync-composition';

// Every minute on every instance; the per-group ETag claim keeps it to one enqueue per interval.
defineTimerFunction('schedule-due-groups', {
  schedule: '0 * * * * *',
  handler: async (_timer, context) => {
    const runtime = syncRuntime();
    await scheduleDueGroups({ ...runtime.scheduler, log: invocationLogger(context) });
  },
});
