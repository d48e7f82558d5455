import { randomUUID } from 'node:crypto';
import { HttpProblem } from '../http/problem';
import type { Page, PageRequest, Stored, TenantRecord } from '../storage';
import type { AdminDependencies } from './admin-dependencies';
import { auditDetailsOf, recordAudit } from './audit-trail';
import { preconditionFailed, updateOptimistically } from './concurrency';
import { assertOperatorAdmin, assertTenantAccess, tenantNotFound } from './principal';
import type { AdminPrincipal } from './principal';
import type { CreateTenantRequest, UpdateTenantRequest } from './schemas';

export function tenantPath(tenantId: string): string {
  return `/tenants/${tenantId}`;
}

/** A tenant the caller may manage; 404 alike for absent and out-of-scope tenants. */
export async function loadTenant(deps: AdminDependencies, principal: AdminPrincipal, tenantId: string): Promise<Stored<TenantRecord>> {
  assertTenantAccess(principal, tenantId);
  const tenant = await deps.tenants.find(tenantId);
  if (!tenant) throw tenantNotFound();
  return tenant;
}

export async function listTenants(deps: AdminDependencies, principal: AdminPrincipal, request: PageRequest): Promise<Page<Stored<TenantRecord>>> {
  if (principal.scope.kind === 'all') return deps.tenants.page(request);
  // A tenant admin's list is the tenants named in its token: few, read directly, one page.
  const found = await Promise.all(principal.scope.tenantIds.slice(0, 200).map((id) => deps.tenants.find(id)));
  return { items: found.filter((tenant): tenant is Stored<TenantRecord> => tenant !== undefined) };
}

export async function createTenant(deps: AdminDependencies, principal: AdminPrincipal, input: CreateTenantRequest): Promise<Stored<TenantRecord>> {
  assertOperatorAdmin(principal);
  const at = deps.now().toISOString();
  const tenant: TenantRecord = {
    id: randomUUID(),
    displayName: input.displayName,
    ...(input.entraTenantId ? { entraTenantId: input.entraTenantId.toLowerCase() } : {}),
    status: input.status,
    createdAt: at,
    updatedAt: at,
  };
  const created = await deps.tenants.create(tenant);
  await recordAudit(deps, principal, tenant.id, 'tenant.created', tenantPath(tenant.id), auditDetailsOf({ ...input }));
  return created;
}

export async function updateTenant(
  deps: AdminDependencies,
  principal: AdminPrincipal,
  tenantId: string,
  input: UpdateTenantRequest,
  ifMatch: string | undefined,
): Promise<Stored<TenantRecord>> {
  await loadTenant(deps, principal, tenantId);
  const { after } = await updateOptimistically(
    () => loadTenant(deps, principal, tenantId),
    ifMatch,
    (current) => {
      const { etag: _etag, entraTenantId: currentEntraId, ...rest } = current;
      const entraTenantId = input.entraTenantId === null ? undefined : (input.entraTenantId?.toLowerCase() ?? currentEntraId);
      return {
        ...rest,
        ...(entraTenantId ? { entraTenantId } : {}),
        displayName: input.displayName ?? current.displayName,
        status: input.status ?? current.status,
        updatedAt: deps.now().toISOString(),
      };
    },
    (next, etag) => deps.tenants.replace(next, etag),
  );
  await recordAudit(deps, principal, tenantId, 'tenant.updated', tenantPath(tenantId), auditDetailsOf({ ...input }));
  return after;
}

export async function deleteTenant(deps: AdminDependencies, principal: AdminPrincipal, tenantId: string, ifMatch: string | undefined): Promise<void> {
  const tenant = await loadTenant(deps, principal, tenantId);
  assertOperatorAdmin(principal);
  if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== tenant.etag) throw preconditionFailed();
  if (await deps.groups.hasAny(tenantId)) {
    throw new HttpProblem(409, 'TenantNotEmpty', 'The tenant still has groups', 'Delete the tenant\'s groups first.');
  }
  await deps.tenants.delete(tenantId, tenant.etag);
  await recordAudit(deps, principal, tenantId, 'tenant.deleted', tenantPath(tenantId), { displayName: tenant.displayName });
}
