/**
 * Lifecycle events (Graph: reauthorizationRequired, subscriptionRemoved, missed; EWS push may add
 * its own lost-subscription event) need calls to Exchange, which a callback must not make inline.
 * The callback verifies the event and puts it on the `notification-lifecycle` queue; the queue
 * function acts on it here:
 *   reauthorizationRequired → renew now (a renewal reauthorizes);
 *   subscriptionRemoved     → recreate the mailbox's subscriptions, then a delta sync;
 *   missed                  → a delta sync (notifications were dropped; delta has every change).
 */
import { z } from 'zod';
import type { Logger } from '../logging';
import type { QueueClient } from '@azure/storage-queue';
import { sendQueueMessage } from '../storage/queue-client-factory';
import { SYNCED_FOLDERS } from '../delivery/change-batch';
import { reconcileMailbox } from './subscription-manager';
import type { SubscriptionManagerDependencies } from './subscription-manager';
import type { NotificationSyncTrigger } from './sync-trigger';

export const NOTIFICATION_LIFECYCLE_QUEUE = 'notification-lifecycle';

export const LIFECYCLE_EVENTS = ['reauthorizationRequired', 'subscriptionRemoved', 'missed'] as const;
export type LifecycleEventName = (typeof LIFECYCLE_EVENTS)[number];

const lifecycleMessageSchema = z.object({
  version: z.literal(1),
  protocol: z.enum(['graph', 'ews']),
  subscriptionId: z.string().min(1).max(256),
  tenantId: z.string().min(1),
  groupId: z.string().min(1),
  mailbox: z.string().min(3),
  folder: z.enum(SYNCED_FOLDERS),
  event: z.enum(LIFECYCLE_EVENTS),
  receivedAt: z.string(),
});

export type LifecycleMessage = z.infer<typeof lifecycleMessageSchema>;

export class InvalidLifecycleMessageError extends Error {
  readonly code = 'InvalidLifecycleMessage';
}

export function parseLifecycleMessage(value: unknown): LifecycleMessage {
  let candidate = value;
  if (typeof candidate === 'string') {
    try {
      candidate = JSON.parse(candidate);
    } catch {
      throw new InvalidLifecycleMessageError('the message is not JSON');
    }
  }
  const parsed = lifecycleMessageSchema.safeParse(candidate);
  if (!parsed.success) throw new InvalidLifecycleMessageError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return parsed.data;
}

export interface LifecycleQueue {
  enqueue(message: LifecycleMessage): Promise<void>;
}

export function storageLifecycleQueue(client: QueueClient): LifecycleQueue {
  return { enqueue: async (message) => void (await sendQueueMessage(client, message)) };
}

export interface LifecycleDependencies {
  readonly manager: SubscriptionManagerDependencies;
  readonly trigger: Pick<NotificationSyncTrigger, 'trigger'>;
  readonly log?: Logger;
}

export type LifecycleOutcome = 'renewed' | 'recreated' | 'synced' | 'stale';

export async function handleLifecycleEvent(deps: LifecycleDependencies, message: LifecycleMessage): Promise<LifecycleOutcome> {
  const ref = { tenantId: message.tenantId, groupId: message.groupId, mailbox: message.mailbox };
  const record = await deps.manager.subscriptions.find(ref.tenantId, ref.groupId, ref.mailbox, message.folder);
  // An event for a subscription already replaced (or removed with its mailbox) changes nothing.
  if (!record || record.subscriptionId !== message.subscriptionId) return 'stale';
  const log = deps.log?.with({ ...ref, folder: message.folder, event: message.event });
  switch (message.event) {
    case 'reauthorizationRequired':
      await reconcileMailbox(deps.manager, ref, { renewNow: true, folder: message.folder });
      log?.info('Change-notification subscription reauthorized');
      return 'renewed';
    case 'subscriptionRemoved':
      // Polling falls back to the normal interval until the new subscription is active.
      await deps.manager.subscriptions.save({ ...record, status: 'failed', lastError: { code: 'SubscriptionRemoved', message: 'Exchange removed the subscription; recreating it.', at: new Date().toISOString() }, updatedAt: new Date().toISOString() }, record.etag);
      await reconcileMailbox(deps.manager, ref, { recreate: true, folder: message.folder });
      await deps.trigger.trigger(ref);
      log?.info('Change-notification subscription recreated after the server removed it; delta sync queued');
      return 'recreated';
    case 'missed':
      await deps.trigger.trigger(ref);
      log?.info('Notifications were missed; delta sync queued');
      return 'synced';
  }
}
