import type { AuditDetailValue } from '../storage';
import type { AdminDependencies } from './admin-dependencies';
import type { AdminPrincipal } from './principal';

/**
 * Records one admin change. Details are built by the callers from non-secret fields only;
 * credential changes record the kind, secret reference and dates, never the value.
 */
export async function recordAudit(
  deps: AdminDependencies,
  principal: AdminPrincipal,
  tenantId: string,
  action: string,
  target: string,
  details: Record<string, AuditDetailValue> = {},
): Promise<void> {
  await deps.audit.append({ tenantId, actor: { objectId: principal.objectId, name: principal.name }, action, target, details }, deps.now());
}

/** Flattens changed fields into audit details (objects become JSON text). */
export function auditDetailsOf(changes: Record<string, unknown>): Record<string, AuditDetailValue> {
  const details: Record<string, AuditDetailValue> = {};
  for (const [field, value] of Object.entries(changes)) {
    if (value === undefined) continue;
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') details[field] = value;
    else details[field] = JSON.stringify(value);
  }
  return details;
}
