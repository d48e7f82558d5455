/**
 * The one path every push notification takes, whatever the protocol: find the subscription by
 * the server's id, check the per-subscription secret in constant time, note the time, and queue
 * a debounced sync of the mailbox. No Exchange call, no sync work: callbacks must answer within
 * seconds (Graph: 3 s), and the data is read by the sync through delta / SyncFolderItems.
 */
import type { Logger } from '../logging';
import { subscriptionSecretMatches } from './client-state';
import type { NotificationProtocol, NotificationSubscriptionRecord, NotificationSubscriptionsRepository } from './subscription-records';
import type { Stored } from '../storage/entity-table';
import type { NotificationSyncTrigger, TriggerOutcome } from './sync-trigger';

export interface NotificationIntakeDependencies {
  readonly subscriptions: Pick<NotificationSubscriptionsRepository, 'findBySubscriptionId' | 'noteNotification'>;
  readonly trigger: Pick<NotificationSyncTrigger, 'trigger'>;
  readonly log?: Logger;
  readonly now?: () => Date;
}

export interface PresentedNotification {
  readonly protocol: NotificationProtocol;
  readonly subscriptionId: string;
  /** Graph: clientState; EWS: the token from the callback URL. */
  readonly secret: string | undefined;
}

export type IntakeResult =
  | { readonly kind: 'accepted'; readonly record: Stored<NotificationSubscriptionRecord>; readonly trigger: TriggerOutcome | 'none' }
  /** Unknown subscription id, or the secret does not match: nothing happened. */
  | { readonly kind: 'refused'; readonly reason: 'unknownSubscription' | 'wrongSecret' };

/** Verifies a notification and returns its record, without triggering (lifecycle events decide themselves). */
export async function verifyNotification(deps: Pick<NotificationIntakeDependencies, 'subscriptions'>, presented: PresentedNotification): Promise<{ readonly kind: 'verified'; readonly record: Stored<NotificationSubscriptionRecord> } | { readonly kind: 'refused'; readonly reason: 'unknownSubscription' | 'wrongSecret' }> {
  const record = await deps.subscriptions.findBySubscriptionId(presented.protocol, presented.subscriptionId);
  if (!record) return { kind: 'refused', reason: 'unknownSubscription' };
  if (!subscriptionSecretMatches(presented.secret, record.secretHash)) return { kind: 'refused', reason: 'wrongSecret' };
  return { kind: 'verified', record };
}

/** A change notification: verify, then queue a debounced sync of the mailbox. */
export async function acceptChangeNotification(deps: NotificationIntakeDependencies, presented: PresentedNotification, options: { readonly triggerSync?: boolean } = {}): Promise<IntakeResult> {
  const verified = await verifyNotification(deps, presented);
  if (verified.kind === 'refused') {
    // Ids only: never the presented secret.
    deps.log?.warn('Refused a change notification', { protocol: presented.protocol, reason: verified.reason, subscriptionId: presented.subscriptionId.slice(0, 80) });
    return verified;
  }
  const record = verified.record;
  const now = (deps.now ?? (() => new Date()))();
  // The status is informational: a failed write must not lose the trigger.
  await deps.subscriptions.noteNotification(record, now).catch((error: unknown) => deps.log?.debug('Could not note the notification time', { detail: error instanceof Error ? error.message : String(error) }));
  const outcome = options.triggerSync === false ? 'none' : await deps.trigger.trigger({ tenantId: record.tenantId, groupId: record.groupId, mailbox: record.mailbox });
  return { kind: 'accepted', record, trigger: outcome };
}
