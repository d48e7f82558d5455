/**
 * Wires EWS push into the notification core: registers the EWS adapter (the renewal timer then
 * subscribes, detects lost subscriptions and resubscribes EWS mailboxes) and builds the callback's
 * dependencies. Imported by functions/notifications-ews.ts; every function file of the app runs in
 * one process, so the registration also serves the core's renewal timer.
 */
import { createAppCredential } from '../auth/azure-credential';
import { appConfig } from '../config';
import { createLogger } from '../logging';
import { TableStorage } from '../storage';
import { openMailboxClient } from '../sync/mailbox-access';
import type { EwsPushDependencies } from './ews-push';
import { createEwsPushAdapter } from './ews-push';
import { EwsPushPendingTokens } from './ews-push-pending';
import { notificationsRuntime, registerNotificationAdapter } from './notifications-composition';

let pendingTokens: EwsPushPendingTokens | undefined;

function pending(): EwsPushPendingTokens {
  if (!pendingTokens) {
    const config = appConfig();
    pendingTokens = new EwsPushPendingTokens(new TableStorage({ storage: config.storage, credential: createAppCredential(config.identity) }));
  }
  return pendingTokens;
}

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
      pending: pending(),
      // The core's adapter interface passes no logger; these lines say why a subscription was replaced.
      log: createLogger({ component: 'ews-push' }),
    }),
  );
}

/** What the callback function needs, from the process-wide notifications runtime. */
export function ewsPushCallbackDependencies(): EwsPushDependencies {
  const runtime = notificationsRuntime();
  return {
    records: runtime.subscriptions,
    pending: pending(),
    trigger: runtime.trigger,
    settings: { callbackBaseUrl: runtime.config.callbackBaseUrl, statusFrequencyInMinutes: runtime.config.ewsStatusFrequencyInMinutes, minuteInMs: runtime.config.ewsMinuteInMs },
  };
}
