/**
 * Wires EWS push into the notification core: registers the EWS adapter (the renewal timer then
 * subscribes, detects lost subscriptions and resubscribes EWS mailboxes) and builds the callback's
 * dependencies. Imported by functions/notifications-ews.ts; every function file of the app runs in
 * one process, so the registration also serves the core's renewal timer.
 */
import { openMailboxClient } from '../sync/mailbox-access';
import type { EwsPushDependencies } from './ews-push';
import { createEwsPushAdapter } from './ews-push';
import { notificationsRuntime, registerNotificationAdapter } from './notifications-composition';

let registered = false;

export function registerEwsPushAdapter(): void {
  if (registered) return;
  registered = true;
  registerNotificationAdapter('ews', ({ config, sync }) =>
    createEwsPushAdapter({
      settings: { statusFrequencyInMinutes: config.notifications.ewsStatusFrequencyInMinutes, minuteInMs: config.notifications.ewsMinuteInMs },
      openClient: (target) => openMailboxClient(target.group, { smtpAddress: target.mailbox.smtpAddress, ...(target.mailbox.userId ? { userId: target.mailbox.userId } : {}) }, sync.access),
      // Built lazily: the runtime that holds the trigger is the one building this adapter.
      trigger: (ref) => notificationsRuntime().trigger.trigger(ref),
    }),
  );
}

/** What the callback function needs, from the process-wide notifications runtime. */
export function ewsPushCallbackDependencies(): EwsPushDependencies {
  const runtime = notificationsRuntime();
  return {
    records: runtime.subscriptions,
    trigger: runtime.trigger,
    settings: { callbackBaseUrl: runtime.config.callbackBaseUrl, statusFrequencyInMinutes: runtime.config.ewsStatusFrequencyInMinutes, minuteInMs: runtime.config.ewsMinuteInMs },
  };
}
