/**
 * The rule behind every Entra tenant binding (docs/security.md): the connector app's tokens for
 * an Entra tenant are used on behalf of the connector tenant bound to it, so one Entra tenant
 * belongs to at most one connector tenant, unless a Connector.Admin allowed sharing on the
 * tenant being bound. Used by the admin API (operator binding) and the admin-consent callback.
 */
import { HttpProblem } from '../http/problem';
import type { TenantRecord, TenantsRepository } from '../storage';

/** The connector tenants (other than `tenantId`) already bound to `entraTenantId`. */
export async function tenantsBoundTo(tenants: Pick<TenantsRepository, 'list'>, entraTenantId: string, tenantId: string): Promise<TenantRecord[]> {
  const wanted = entraTenantId.toLowerCase();
  const bound: TenantRecord[] = [];
  // Tenants are few and live in one partition; a scan is one range query.
  for await (const tenant of tenants.list()) {
    if (tenant.id !== tenantId && tenant.entraTenantId?.toLowerCase() === wanted) bound.push(tenant);
  }
  return bound;
}

/** Undefined when `tenant` may be bound to `entraTenantId`; otherwise why not (safe to show to the operator). */
export async function bindingConflict(tenants: Pick<TenantsRepository, 'list'>, entraTenantId: string, tenant: { id: string; allowSharedEntraTenant?: boolean | undefined }): Promise<string | undefined> {
  if (tenant.allowSharedEntraTenant) return undefined;
  const others = await tenantsBoundTo(tenants, entraTenantId, tenant.id);
  if (others.length === 0) return undefined;
  return `Entra tenant ${entraTenantId} is already bound to connector tenant ${others[0]!.id}; a Connector.Admin must set allowSharedEntraTenant to bind it to another one.`;
}

export function entraTenantTaken(detail: string): HttpProblem {
  return new HttpProblem(409, 'EntraTenantAlreadyBound', 'The Entra tenant is bound to another connector tenant', detail, [{ pointer: '/entraTenantId', detail }]);
}

/**
 * The Entra tenant the connector app may act in for this connector tenant: only a binding that
 * was proved (admin consent by a signed-in administrator, or set by a Connector.Admin). A value
 * stored before bindings were proved has no `entraTenantBoundBy` and is not trusted.
 */
export function verifiedEntraTenant(tenant: Pick<TenantRecord, 'entraTenantId' | 'entraTenantBoundBy'>): string | undefined {
  return tenant.entraTenantId && tenant.entraTenantBoundBy ? tenant.entraTenantId : undefined;
}
