import { invocationLogger } from '../shared/logging';
import { registerEwsPushAdapter } from '../shared/notifications/ews-push-composition';
import { registerGraphNotifications } from '../shared/notifications/graph-registration';
import { notificationsRuntime } from '../shared/notifications/notifications-composition';
import { reconcileSubscriptions, removeAllSubscriptions } from '../shared/notifications/subscription-manager';
import { defineTimerFunction } from '../shared/runtime/function-registry';

registerGraphNotifications();
registerEwsPushAdapter();

// Every 10 minutes: renews subscriptions once half their lifetime is gone (days ahead of expiry),
// recreates failed or missing ones (EWS push: also lost ones, silent for 2× StatusFrequency), and deletes those of removed or disabled mailboxes and groups.
defineTimerFunction('notifications-renew', {
  schedule: '0 */10 * * * *',
  handler: async (_timer, context) => {
    const log = invocationLogger(context);
    const runtime = notificationsRuntime();
    if (!runtime.enabled) {
      const removed = await removeAllSubscriptions({ ...runtime.manager, log });
      if (removed > 0) log.info('Change notifications are off: subscriptions removed', { removed });
      return;
    }
    await reconcileSubscriptions({ ...runtime.manager, log });
  },
});
