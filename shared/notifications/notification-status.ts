/**
 * What an administrator sees of a mailbox's change notifications, and what the scheduler makes
 * of it: a mailbox whose notifications are healthy is polled only at the safety interval; any
 * other state falls back to the group's normal poll interval at once.
 */
import type { NotificationProtocol, NotificationSubscriptionRecord, SubscriptionStatus } from './subscription-records';

export interface MailboxNotificationStatus {
  readonly protocol: NotificationProtocol;
  /** The worst state among the mailbox's subscriptions (failed > renewing > unsupported > active). */
  readonly state: SubscriptionStatus;
  readonly lastNotificationAt?: string;
  /** The earliest expiry among the mailbox's subscriptions. */
  readonly expiresAt?: string;
}

const SEVERITY: Readonly<Record<SubscriptionStatus, number>> = { active: 0, unsupported: 1, renewing: 2, failed: 3 };

/** Undefined when the mailbox has no subscription records (notifications off, or not set up yet). */
export function mailboxNotificationStatus(records: readonly NotificationSubscriptionRecord[], now: Date = new Date()): MailboxNotificationStatus | undefined {
  if (records.length === 0) return undefined;
  let state: SubscriptionStatus = 'active';
  let lastNotificationAt: string | undefined;
  let expiresAt: string | undefined;
  for (const record of records) {
    // A subscription past its expiry is lost whatever its record says (the renewal timer missed it).
    const effective: SubscriptionStatus = record.status === 'active' && record.expiresAt !== undefined && Date.parse(record.expiresAt) <= now.getTime() ? 'failed' : record.status;
    if (SEVERITY[effective] > SEVERITY[state]) state = effective;
    if (record.lastNotificationAt && (!lastNotificationAt || record.lastNotificationAt > lastNotificationAt)) lastNotificationAt = record.lastNotificationAt;
    if (record.expiresAt && (!expiresAt || record.expiresAt < expiresAt)) expiresAt = record.expiresAt;
  }
  return { protocol: records[0]!.protocol, state, ...(lastNotificationAt ? { lastNotificationAt } : {}), ...(expiresAt ? { expiresAt } : {}) };
}

/**
 * The safety poll of a mailbox with healthy notifications: due once per `safetyIntervalInMs`,
 * at an offset per mailbox so a large group's safety polls spread over the interval. Stateless:
 * due when a bucket boundary lies between the group's previous poll claim and this one.
 */
export function safetyPollDue(mailbox: string, previousClaimAt: Date | undefined, now: Date, safetyIntervalInMs: number): boolean {
  if (!previousClaimAt) return true;
  const offset = offsetOf(mailbox, safetyIntervalInMs);
  const bucket = (at: number) => Math.floor((at + offset) / safetyIntervalInMs);
  return bucket(now.getTime()) > bucket(previousClaimAt.getTime());
}

function offsetOf(mailbox: string, range: number): number {
  let hash = 2166136261;
  for (const char of mailbox.toLowerCase()) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
  return hash % Math.max(1, range);
}
