import { HttpProblem } from '../http/problem';

/**
 * Who is calling, as the admin token validator (shared/auth/admin-token.ts) describes it.
 * Connector.Admin callers see every tenant; Connector.TenantAdmin callers only the connector
 * tenant IDs their token lists.
 */
export interface AdminPrincipal {
  readonly objectId: string;
  readonly name: string;
  readonly roles: readonly string[];
  readonly scope: { readonly kind: 'all' } | { readonly kind: 'tenant'; readonly tenantIds: readonly string[] };
}

/** What the admin API needs from the token validator. */
export interface AdminAuthenticator {
  /** Rejects with an error whose `code` is 'Unauthorized' (401) or 'Forbidden' (403). */
  validate(authorizationHeader: string | undefined): Promise<AdminPrincipal>;
}

export function canAccessTenant(principal: AdminPrincipal, tenantId: string): boolean {
  if (principal.scope.kind === 'all') return true;
  const wanted = tenantId.toLowerCase();
  return principal.scope.tenantIds.some((id) => id.toLowerCase() === wanted);
}

/**
 * Tenants outside a tenant admin's scope answer exactly like tenants that do not exist (404),
 * so a tenant admin cannot learn which other tenants exist.
 */
export function tenantNotFound(): HttpProblem {
  return new HttpProblem(404, 'TenantNotFound', 'Tenant not found', 'No tenant with this ID exists, or you may not manage it.');
}

export function assertTenantAccess(principal: AdminPrincipal, tenantId: string): void {
  if (!canAccessTenant(principal, tenantId)) throw tenantNotFound();
}

/** Creating and deleting tenants is for operator admins (Connector.Admin) only. */
export function assertOperatorAdmin(principal: AdminPrincipal): void {
  if (principal.scope.kind !== 'all') {
    throw new HttpProblem(403, 'OperatorAdminRequired', 'Operator admin role required', 'Only callers with the Connector.Admin role may create or delete tenants.');
  }
}
