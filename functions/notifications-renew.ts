import { invocationLogger } from '../shared/logging';
import { registerEwsPushAdapter } from '../shared/notifications/ews-push-composition';
import { notificationsRuntime } from '../shared/notifications/notifications-composition';
import { reconcileSubscriptions } from '../shared/notifications/subscription-manager';
import { defineTimerFunction } from '../shared/runtime/function-registry';

registerEwsPushAdapter();

// The notification core's renewal timer: creates missing subscriptions, renews them before expiry,
// recreates failed or lost ones (EWS: no keep-alive for 2× StatusFrequency) and removes those of
// mailboxes and groups that went away.
defineTimerFunction('notifications-renew', {
  schedule: '30 * * * * *',
  handler: async (_timer, context) => {
    const runtime = notificationsRuntime();
    if (!runtime.enabled) return;
    await reconcileSubscriptions({ ...runtime.manager, log: invocationLogger(context) });
  },
});
