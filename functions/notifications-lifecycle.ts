import { invocationLogger } from '../shared/logging';
import { registerEwsPushAdapter } from '../shared/notifications/ews-push-composition';
import { registerGraphNotifications } from '../shared/notifications/graph-registration';
import { handleLifecycleEvent, InvalidLifecycleMessageError, NOTIFICATION_LIFECYCLE_QUEUE, parseLifecycleMessage } from '../shared/notifications/lifecycle';
import { notificationsRuntime } from '../shared/notifications/notifications-composition';
import { defineStorageQueueFunction } from '../shared/runtime/function-registry';

registerGraphNotifications();
registerEwsPushAdapter();

defineStorageQueueFunction('notification-lifecycle', {
  queueName: NOTIFICATION_LIFECYCLE_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: async (message, context) => {
    const log = invocationLogger(context);
    let event;
    try {
      event = parseLifecycleMessage(message);
    } catch (error) {
      // A malformed message never becomes valid: drop it (logged) rather than poison the queue.
      if (error instanceof InvalidLifecycleMessageError) return log.error('Dropped a malformed lifecycle message', { error: error.message });
      throw error;
    }
    const runtime = notificationsRuntime();
    const outcome = await handleLifecycleEvent({ manager: { ...runtime.manager, log }, trigger: runtime.trigger, log }, event);
    log.debug('Lifecycle event handled', { outcome });
  },
});
