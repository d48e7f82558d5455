/**
 * Metric and span attributes. Dimensions stay low-cardinality: tenant, group, protocol, queue,
 * error code; never a mailbox address, subject or item ID (those belong in logs, redacted).
 */
export type Protocol = 'ews' | 'graph';

export interface GroupDimensions {
  readonly tenantId: string;
  readonly groupId: string;
  readonly protocol?: Protocol;
}

export const ATTR = {
  tenant: 'connector.tenant.id',
  group: 'connector.group.id',
  protocol: 'connector.protocol',
  queue: 'messaging.destination.name',
  errorCode: 'error.type',
  credentialKind: 'connector.credential.kind',
  testStep: 'connector.connection_test.step',
  target: 'connector.delivery.target',
} as const;

export function groupAttributes(dimensions: GroupDimensions): Record<string, string> {
  return { [ATTR.tenant]: dimensions.tenantId, [ATTR.group]: dimensions.groupId, [ATTR.protocol]: dimensions.protocol ?? 'ews' };
}
