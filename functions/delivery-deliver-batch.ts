// deliver-batch: one attempt per `deliveries` queue message; retries are re-enqueued with a delay.
import type { InvocationContext } from '@azure/functions';
import { deliverBatch } from '../shared/delivery/batch-delivery';
import { deliveryServices } from '../shared/delivery/delivery-composition';
import { DELIVERIES_QUEUE } from '../shared/delivery/delivery-storage';
import { invocationLogger } from '../shared/logging';
import { defineStorageQueueFunction } from '../shared/runtime/function-registry';

defineStorageQueueFunction('deliver-batch', {
  queueName: DELIVERIES_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: async (message: unknown, context: InvocationContext): Promise<void> => {
    // Throwing (storage or Key Vault unavailable) lets the host retry the same message; failures
    // of the customer's target are handled inside as scheduled retries and dead letters.
    await deliverBatch(message, deliveryServices(), invocationLogger(context));
  },
});
