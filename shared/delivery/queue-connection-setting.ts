/**
 * The app settings a queue target may name: CUSTOMER_QUEUE or CUSTOMER_QUEUE_<suffix>. Only the
 * operator creates app settings, so a tenant admin can pick among the connections the operator
 * provided but never reach AzureWebJobsStorage (the connector's own queues, tables and blobs) or
 * read any other setting through a delivery. Kept free of SDK imports: the admin schemas use it.
 */
export const QUEUE_CONNECTION_SETTING = /^CUSTOMER_QUEUE(?:_[A-Za-z0-9_]{1,100})?$/;

export function isAllowedQueueConnectionSetting(name: string): boolean {
  return QUEUE_CONNECTION_SETTING.test(name);
}
