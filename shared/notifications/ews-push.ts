/**
 * EWS push notifications (on-premises Exchange), on top of the protocol-neutral notification
 * core (subscription records, debounced sync trigger, per-mailbox status):
 *
 * - **Subscribe.** One push subscription per synced folder (`subscribePush`), with a callback URL
 *   `{base}/api/notifications/ews/{token}`. The token is 32 random bytes per subscription; only
 *   its SHA-256 is kept in the record (client-state.ts), it is never logged.
 * - **Answer.** `SendNotification` is answered `OK` only for a known subscription that is active
 *   and whose URL token matches (constant-time); anything else gets `Unsubscribe` and changes
 *   nothing. A change queues a debounced sync job; a keep-alive (StatusEvent) only refreshes the
 *   record's health. Notifications are a trigger, never the data: the sync reads SyncFolderItems.
 * - **Lost subscriptions.** Exchange sends a StatusEvent every StatusFrequency minutes when idle
 *   and drops a subscription whose callback failed for StatusFrequency minutes (it never says
 *   so). A subscription silent for more than twice StatusFrequency (Microsoft's advice) is lost:
 *   the renewal pass subscribes again from the stored watermark, so the new subscription reports
 *   what happened in between, and queues a sync.
 */
import type { SyncedFolder } from '../delivery/change-batch';
import { groupProtocol } from '../storage/records';
import { EwsError } from '../ews/errors';
import type { MailboxClient } from '../ews/mailbox-client';
import { subscribePush } from '../ews/operations/subscribe-push';
import { PushNotificationFormatError, readSendNotification, sendNotificationResult, type SubscriptionStatus } from '../ews/soap/push-notification';
import type { DistinguishedFolderName } from '../ews/types';
import { SecretString } from '../logging';
import type { Logger } from '../logging';
import { hashSubscriptionSecret, newSubscriptionSecret } from './client-state';
import type { EwsPushPendingTokens } from './ews-push-pending';
import { verifyNotification } from './notification-intake';
import type { NotificationProtocolAdapter, SubscribeResult, SubscriptionTarget } from './subscription-manager';
import type { MailboxRef } from './sync-trigger';
import type { NotificationSubscriptionRecord, NotificationSubscriptionsRepository } from './subscription-records';

/** Path of the anonymous callback function under /api (functions/notifications-ews.ts). */
export const EWS_CALLBACK_ROUTE = 'notifications/ews/{token}';

const DISTINGUISHED: Readonly<Record<SyncedFolder, DistinguishedFolderName>> = { inbox: 'inbox', calendar: 'calendar', contacts: 'contacts', tasks: 'tasks' };

/** Codes after which subscribing from the stored watermark cannot work: start without one. */
const WATERMARK_REFUSED = new Set(['ErrorInvalidWatermark', 'ErrorExpiredSubscription', 'ErrorInvalidSubscription']);
/** Codes that mean the server offers no push notifications at all (status `unsupported`). */
const UNSUPPORTED = new Set(['ErrorInvalidSubscriptionRequest', 'ErrorInvalidPushSubscriptionUrl', 'ErrorInvalidRequest']);

export interface EwsPushSettings {
  /** Public origin Exchange calls back (no trailing slash). */
  readonly callbackBaseUrl: string;
  /** StatusFrequency asked for, 1..1440 minutes. */
  readonly statusFrequencyInMinutes: number;
  /** Length of one StatusFrequency minute on the connector's clock (60,000; tests match a scaled simulator). */
  readonly minuteInMs: number;
}

export interface EwsPushDependencies {
  readonly records: Pick<NotificationSubscriptionsRepository, 'find' | 'findBySubscriptionId' | 'noteNotification'>;
  /** Tokens of subscriptions being created (ews-push-pending.ts). */
  readonly pending: Pick<EwsPushPendingTokens, 'find'>;
  readonly trigger: { trigger(ref: MailboxRef): Promise<unknown> };
  readonly settings: EwsPushSettings;
  readonly log?: Logger;
  readonly now?: () => Date;
}

export interface CallbackAnswer {
  readonly httpStatus: number;
  readonly contentType: string;
  readonly body: string;
  /** For the log line: never the token. */
  readonly outcome: 'change' | 'keepAlive' | 'refused' | 'malformed';
  readonly reason?: string;
}

function answer(status: SubscriptionStatus, outcome: CallbackAnswer['outcome'], reason?: string): CallbackAnswer {
  return { httpStatus: 200, contentType: 'text/xml; charset=utf-8', body: sendNotificationResult(status), outcome, ...(reason ? { reason } : {}) };
}

/** Writes of lastNotificationAt per subscription at most this often (a burst must not be a write per notification). */
function refreshIntervalInMs(settings: EwsPushSettings): number {
  return Math.min(30_000, (settings.statusFrequencyInMinutes * settings.minuteInMs) / 4);
}

/**
 * Answers one SendNotification. `token` is the last path segment of the callback URL; `body` the
 * raw request. Does no sync inline: a change queues a (debounced) sync job.
 */
export async function handleEwsNotification(deps: EwsPushDependencies, token: string | undefined, body: string): Promise<CallbackAnswer> {
  let notification;
  try {
    notification = readSendNotification(body);
  } catch (error) {
    if (error instanceof PushNotificationFormatError) return { httpStatus: 400, contentType: 'text/plain; charset=utf-8', body: 'Not a SendNotification request.', outcome: 'malformed', reason: error.message };
    throw error;
  }
  const now = (deps.now ?? (() => new Date()))();
  const change = !notification.statusOnly;
  const verified = await verifyNotification({ subscriptions: deps.records }, { protocol: 'ews', subscriptionId: notification.subscriptionId, secret: token });
  if (verified.kind === 'refused' && verified.reason === 'unknownSubscription' && token) {
    // Exchange may call before Subscribe's answer is saved: the fresh token alone proves it is that subscription.
    const pending = await deps.pending.find(hashSubscriptionSecret(token), now);
    // Only until the record is saved: from then on the token counts with its own subscription id alone.
    const saved = pending && (await deps.records.find(pending.tenantId, pending.groupId, pending.mailbox, pending.folder))?.secretHash === pending.secretHash;
    if (pending && !saved) {
      if (change) await deps.trigger.trigger({ tenantId: pending.tenantId, groupId: pending.groupId, mailbox: pending.mailbox });
      return answer('OK', change ? 'change' : 'keepAlive', 'subscription being saved');
    }
  }
  // One answer for every refusal, so a caller learns nothing about which part was wrong.
  if (verified.kind === 'refused') return answer('Unsubscribe', 'refused', verified.reason);
  const record = verified.record;
  if (record.status !== 'active' && record.status !== 'renewing') return answer('Unsubscribe', 'refused', `subscription ${record.status}`);

  if (change) await deps.trigger.trigger({ tenantId: record.tenantId, groupId: record.groupId, mailbox: record.mailbox });
  // Keep-alives are the subscription's health: the renewal timer resubscribes when they stop. Best effort.
  await deps.records
    .noteNotification(record, now, { minIntervalInMs: refreshIntervalInMs(deps.settings), expiresAt: silenceDeadline(deps.settings, now), ...(notification.lastWatermark ? { watermark: notification.lastWatermark } : {}) })
    .catch((error: unknown) => deps.log?.debug('Could not note the EWS notification', { detail: error instanceof Error ? error.message : String(error) }));
  return answer('OK', change ? 'change' : 'keepAlive');
}

/**
 * When the subscription counts as lost if nothing arrives before: the record's `expiresAt`, moved
 * on by every notification. The core then treats it as failed (normal poll interval at once, shown
 * in the admin status) and the renewal timer replaces it.
 */
export function silenceDeadline(settings: Pick<EwsPushSettings, 'statusFrequencyInMinutes' | 'minuteInMs'>, from: Date): string {
  return new Date(from.getTime() + (2 * settings.statusFrequencyInMinutes + 1) * settings.minuteInMs).toISOString();
}

/** True when Exchange has been silent for more than twice StatusFrequency (plus a minute's grace for load). */
export function pushSubscriptionLost(record: NotificationSubscriptionRecord, settings: EwsPushSettings, now: Date): boolean {
  if (record.status !== 'active' || !record.subscriptionId) return false;
  const heardAt = Math.max(Date.parse(record.lastNotificationAt ?? '') || 0, Date.parse(record.updatedAt) || 0);
  return now.getTime() - heardAt > (2 * settings.statusFrequencyInMinutes + 1) * settings.minuteInMs;
}

/** An error text must never carry the callback token (it is part of the URL). */
function redactToken(message: string, token: SecretString): string {
  return message.split(token.reveal()).join('[redacted]');
}

export interface EwsPushAdapterOptions {
  readonly settings: Pick<EwsPushSettings, 'statusFrequencyInMinutes' | 'minuteInMs'>;
  /** A client for the mailbox with the group's credentials (the sync's mailbox access). */
  readonly openClient: (target: SubscriptionTarget) => Promise<MailboxClient>;
  /** Queues a (debounced) sync: after a resubscription, whatever changed meanwhile is read at once. */
  readonly trigger: (ref: MailboxRef) => Promise<unknown>;
  readonly pending: Pick<EwsPushPendingTokens, 'add' | 'remove'>;
  readonly log?: Logger;
  readonly now?: () => Date;
}

/**
 * The EWS side of the notification core's renewal timer (subscription-manager.ts). EWS push has
 * no expiry and no renewal call: a subscription lives while Exchange can reach the callback, so
 * "needs renewal" means "lost" (no keep-alive for twice StatusFrequency), and renewing means
 * subscribing again from the stored watermark. There is no call to end one either: Exchange ends
 * it when the callback answers Unsubscribe, which it does once the id is forgotten.
 */
export function createEwsPushAdapter(options: EwsPushAdapterOptions): NotificationProtocolAdapter {
  const settings = options.settings;
  return {
    protocol: 'ews',
    serves: (group) => groupProtocol(group) === 'ews',
    needsRenewal: (record, now) => pushSubscriptionLost(record, { ...settings, callbackBaseUrl: '' }, now),
    renew: async (target, record) => {
      options.log?.info('EWS push subscription lost (no keep-alive); subscribing again from its watermark', { mailbox: target.mailbox.smtpAddress, folder: target.folder, lastNotificationAt: record.lastNotificationAt ?? 'never' });
      return { kind: 'gone' };
    },
    unsubscribe: async () => undefined,
    subscribe: async (target, previous): Promise<SubscribeResult> => {
      const resource = DISTINGUISHED[target.folder];
      const secret = newSubscriptionSecret();
      const callbackUrl = new SecretString(`${target.callbackBaseUrl}/api/${EWS_CALLBACK_ROUTE.replace('{token}', secret.value.reveal())}`);
      const request = { folders: [{ distinguished: resource }], statusFrequencyInMinutes: settings.statusFrequencyInMinutes, callbackUrl };
      const client = await options.openClient(target);
      const ref = { tenantId: target.group.tenantId, groupId: target.group.id, mailbox: target.mailbox.smtpAddress };
      await options.pending.add({ secretHash: secret.hash, ...ref, folder: target.folder, createdAt: (options.now ?? (() => new Date()))().toISOString() });
      let subscription;
      try {
        try {
          subscription = await subscribePush(client, { ...request, ...(previous?.watermark ? { watermark: previous.watermark } : {}) });
        } catch (error) {
          if (!(error instanceof EwsError && WATERMARK_REFUSED.has(error.code)) || !previous?.watermark) throw error;
          options.log?.info('EWS push: the stored watermark is no longer valid; subscribing without it', { mailbox: target.mailbox.smtpAddress, folder: target.folder, code: error.code });
          subscription = await subscribePush(client, request);
        }
      } catch (error) {
        await options.pending.remove(secret.hash).catch(() => undefined);
        if (error instanceof EwsError && UNSUPPORTED.has(error.code)) return { kind: 'unsupported', resource, message: `Exchange refused a push subscription (${error.code}).` };
        throw tokenFree(error, secret.value);
      }
      if (previous?.secretHash) await options.pending.remove(previous.secretHash).catch(() => undefined);
      // A new subscription after an earlier one: what changed in between is read now, not at the next poll.
      if (previous) await options.trigger(ref);
      return { kind: 'created', subscriptionId: subscription.subscriptionId, resource, secretHash: secret.hash, watermark: previous?.watermark ?? subscription.watermark, expiresAt: silenceDeadline(settings, (options.now ?? (() => new Date()))()) };
    },
  };
}

/** The error with the token cut out of its message (the core records and logs the message). */
function tokenFree(error: unknown, token: SecretString): unknown {
  if (error instanceof Error && error.message.includes(token.reveal())) error.message = redactToken(error.message, token);
  return error;
}
