// POST /api/admin/tenants/{t}/groups/{g}/mailboxes/{m}/send-mail enqueues; `send-mail` sends from the outbound-mail queue.
import type { InvocationContext } from '@azure/functions';
import { registerAdminRoutes } from '../shared/admin/register-admin-routes';
import { deliveryRoutes } from '../shared/delivery/delivery-admin-routes';
import { deliveryServices } from '../shared/delivery/delivery-composition';
import { OUTBOUND_MAIL_QUEUE } from '../shared/delivery/delivery-storage';
import { sendOutboundMail } from '../shared/delivery/outbound-mail';
import { invocationLogger } from '../shared/logging';
import { defineStorageQueueFunction } from '../shared/runtime/function-registry';

registerAdminRoutes(deliveryRoutes.filter((route) => route.name === 'admin-send-mail'));

defineStorageQueueFunction('send-mail', {
  queueName: OUTBOUND_MAIL_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: async (message: unknown, context: InvocationContext): Promise<void> => {
    // EWS failures throw: the host retries (maxDequeueCount 5) and then moves the message to outbound-mail-poison.
    const services = deliveryServices();
    await sendOutboundMail(message, { groups: services.groups, blobs: services.blobs, mailboxClients: services.mailboxClients, graphMailboxes: services.graphMailboxes }, invocationLogger(context));
  },
});
