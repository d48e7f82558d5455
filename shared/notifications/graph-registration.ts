/** Registers the Graph adapter with the notification runtime (imported by the notification functions). */
import { openGraphClient } from '../sync/mailbox-access';
import { createGraphNotificationAdapter } from './graph-adapter';
import { registerNotificationAdapter } from './notifications-composition';

export function registerGraphNotifications(): void {
  registerNotificationAdapter('graph', (context) =>
    createGraphNotificationAdapter({ openClient: (group, mailbox) => openGraphClient(group, { smtpAddress: mailbox.smtpAddress, userId: mailbox.userId }, context.sync.access) }),
  );
}
