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
import { mailboxNotificationStatus, safetyPollDue } from '../notifications/notification-status';
import type { NotificationSubscriptionRecord } from '../notifications/subscription-records';

export interface SchedulerDependencies {
  readonly tenants: TenantsRepository;
  readonly groups: GroupsRepository;
  readonly mailboxes: MailboxesRepository;
  readonly schedule: SyncScheduleRepository;
  readonly jobs: SyncJobQueue;
  readonly log?: Logger;
  /**
   * Change notifications: a mailbox whose notifications are healthy is polled only at the safety
   * interval (shared/notifications/notification-status.ts); any other mailbox at the group's.
   */
  readonly notifications?: {
    readonly safetyIntervalInMs: number;
    listGroup(tenantId: string, groupId: string): Promise<readonly NotificationSubscriptionRecord[]>;
  };
}

export interface ScheduleResult {
  readonly groupsDue: number;
  readonly jobsEnqueued: number;
  /** Mailboxes of due groups left out because they wait for their user to sign in again. */
  readonly pausedMailboxes: number;
  /** Mailboxes of due groups left out because their notifications are healthy and their safety poll is not due. */
  readonly notifiedMailboxes?: number;
}

/** The timer fires about once a minute, a little late at times: a group counts as due this much early. */
const SCHEDULE_TOLERANCE_IN_MS = 5_000;

export async function scheduleDueGroups(deps: SchedulerDependencies, now: Date = new Date()): Promise<ScheduleResult> {
  let groupsDue = 0;
  let jobsEnqueued = 0;
  let paused = 0;
  let notified = 0;
  const activeTenants = new Map<string, boolean>();
  for await (const group of deps.groups.listAll()) {
    if (!group.enabled || group.folders.length === 0) continue;
    if (!activeTenants.has(group.tenantId)) activeTenants.set(group.tenantId, (await deps.tenants.find(group.tenantId))?.status === 'active');
    if (!activeTenants.get(group.tenantId)) continue;
    const intervalInMs = Math.max(1, group.pollIntervalMinutes) * 60_000 - SCHEDULE_TOLERANCE_IN_MS;
    const claim = await deps.schedule.claim(group.tenantId, group.id, now, intervalInMs);
    if (!claim.claimed) continue;
    groupsDue++;
    try {
      const healthy = await healthyMailboxes(deps, group.tenantId, group.id, now);
      for await (const mailbox of deps.mailboxes.list(group.tenantId, group.id)) {
        if (!mailbox.enabled) continue;
        // Paused until the user signs in again; the sign-in sets it back to pending and the next poll picks it up.
        if (mailbox.status === 'needsReauthentication') {
          paused++;
          continue;
        }
        if (healthy.has(mailbox.smtpAddress) && !safetyPollDue(mailbox.smtpAddress, claim.previous, now, deps.notifications!.safetyIntervalInMs)) {
          notified++;
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
  deps.log?.debug('Scheduled due groups', { groupsDue, jobsEnqueued, pausedMailboxes: paused, notifiedMailboxes: notified });
  return { groupsDue, jobsEnqueued, pausedMailboxes: paused, notifiedMailboxes: notified };
}

/** Mailboxes of the group whose every subscription is active and unexpired (one partition query; none without notifications). */
async function healthyMailboxes(deps: SchedulerDependencies, tenantId: string, groupId: string, now: Date): Promise<Set<string>> {
  if (!deps.notifications) return new Set();
  const byMailbox = new Map<string, NotificationSubscriptionRecord[]>();
  for (const record of await deps.notifications.listGroup(tenantId, groupId)) byMailbox.set(record.mailbox, [...(byMailbox.get(record.mailbox) ?? []), record]);
  return new Set([...byMailbox].filter(([, records]) => mailboxNotificationStatus(records, now)?.state === 'active').map(([mailbox]) => mailbox));
}
