/**
 * Finds the groups due for polling and enqueues one sync job per enabled mailbox. Runs on every
 * instance every minute; the ETag-guarded claim in SyncScheduleRepository makes exactly one
 * instance enqueue a group's jobs per poll interval.
 */
import type { Logger } from '../logging';
import type { GroupsRepository } from '../storage/groups-repository';
import type { MailboxesRepository } from '../storage/mailboxes-repository';
import type { SyncScheduleRepository } from '../storage/sync-schedule-repository';
import type { TenantsRepository } from '../storage/tenants-repository';
import { newSyncJob } from './sync-jobs';
import type { SyncJobQueue } from './sync-jobs';

export interface SchedulerDependencies {
  readonly tenants: TenantsRepository;
  readonly groups: GroupsRepository;
  readonly mailboxes: MailboxesRepository;
  readonly schedule: SyncScheduleRepository;
  readonly jobs: SyncJobQueue;
  readonly log?: Logger;
}

export interface ScheduleResult {
  readonly groupsDue: number;
  readonly jobsEnqueued: number;
  /** Mailboxes of due groups left out because they wait for their user to sign in again. */
  readonly pausedMailboxes: number;
}

/** The timer fires about once a minute, a little late at times: a group counts as due this much early. */
const SCHEDULE_TOLERANCE_IN_MS = 5_000;

export async function scheduleDueGroups(deps: SchedulerDependencies, now: Date = new Date()): Promise<ScheduleResult> {
  let groupsDue = 0;
  let jobsEnqueued = 0;
  let paused = 0;
  const activeTenants = new Map<string, boolean>();
  for await (const group of deps.groups.listAll()) {
    if (!group.enabled || group.folders.length === 0) continue;
    if (!activeTenants.has(group.tenantId)) activeTenants.set(group.tenantId, (await deps.tenants.find(group.tenantId))?.status === 'active');
    if (!activeTenants.get(group.tenantId)) continue;
    const intervalInMs = Math.max(1, group.pollIntervalMinutes) * 60_000 - SCHEDULE_TOLERANCE_IN_MS;
    if (!(await deps.schedule.tryClaim(group.tenantId, group.id, now, intervalInMs))) continue;
    groupsDue++;
    try {
      for await (const mailbox of deps.mailboxes.list(group.tenantId, group.id)) {
        if (!mailbox.enabled) continue;
        // Paused until the user signs in again; the sign-in sets it back to pending and the next poll picks it up.
        if (mailbox.status === 'needsReauthentication') {
          paused++;
          continue;
        }
        await deps.jobs.enqueue(newSyncJob(group.tenantId, group.id, mailbox.smtpAddress, 'scheduled', now));
        jobsEnqueued++;
      }
    } catch (error) {
      // One group's trouble must not stop the others; its next interval schedules it again.
      deps.log?.error('Could not enqueue the sync jobs of a group', { tenantId: group.tenantId, groupId: group.id, error: error instanceof Error ? error.message : String(error) });
    }
  }
  deps.log?.debug('Scheduled due groups', { groupsDue, jobsEnqueued, pausedMailboxes: paused });
  return { groupsDue, jobsEnqueued, pausedMailboxes: paused };
}
