import { randomUUID } from 'node:crypto';
import { HttpProblem } from '../http/problem';
import type { Page, PageRequest, Stored, TenantRecord } from '../storage';
import type { AdminDependencies } from './admin-dependencies';
import { auditDetailsOf, recordAudit } from './audit-trail';
import { preconditionFailed, updateOptimistically } from './concurrency';
import { assertOperatorAdmin, assertTenantAccess, tenantNotFound } from './principal';
import type { AdminPrincipal } from './principal';
import type { CreateTenantRequest, UpdateTenantRequest } from './schemas';
import { bindingConflict, entraTenantTaken } from './tenant-binding';

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
  const entraTenantId = input.entraTenantId?.toLowerCase();
  const tenant: TenantRecord = {
    id: randomUUID(),
    displayName: input.displayName,
    ...(entraTenantId ? { entraTenantId, entraTenantBoundBy: 'operator' as const } : {}),
    ...(input.allowSharedEntraTenant ? { allowSharedEntraTenant: true } : {}),
    status: input.status,
    createdAt: at,
    updatedAt: at,
  };
  if (entraTenantId) {
    const conflict = await bindingConflict(deps.tenants, entraTenantId, tenant);
    if (conflict) throw entraTenantTaken(conflict);
  }
  const created = await deps.tenants.create(tenant);
  await recordAudit(deps, principal, tenant.id, 'tenant.created', tenantPath(tenant.id), auditDetailsOf({ ...input }));
  if (entraTenantId) await recordAudit(deps, principal, tenant.id, 'tenant.entraTenantBound', tenantPath(tenant.id), { entraTenantId, method: 'operator' });
  return created;
}

/** Fields only a Connector.Admin may change: the Entra binding decides whose mailboxes the connector app's tokens reach. */
const OPERATOR_ONLY_FIELDS = ['entraTenantId', 'allowSharedEntraTenant', 'status'] as const;

function assertMayChange(principal: AdminPrincipal, input: UpdateTenantRequest): void {
  if (principal.scope.kind === 'all') return;
  const fields = OPERATOR_ONLY_FIELDS.filter((field) => input[field] !== undefined);
  if (fields.length === 0) return;
  const details: Record<(typeof OPERATOR_ONLY_FIELDS)[number], string> = {
    entraTenantId: "only a Connector.Admin may set or change it; the customer's administrator proves the binding by granting admin consent (POST .../consent)",
    allowSharedEntraTenant: 'only a Connector.Admin may change it',
    status: 'only a Connector.Admin may suspend a tenant or lift a suspension',
  };
  throw new HttpProblem(
    403,
    'OperatorAdminRequired',
    'Operator admin role required',
    `Only callers with the Connector.Admin role may change ${fields.join(', ')}.`,
    fields.map((field) => ({ pointer: `/${field}`, detail: details[field] })),
  );
}

export async function updateTenant(
  deps: AdminDependencies,
  principal: AdminPrincipal,
  tenantId: string,
  input: UpdateTenantRequest,
  ifMatch: string | undefined,
): Promise<Stored<TenantRecord>> {
  await loadTenant(deps, principal, tenantId);
  assertMayChange(principal, input);
  const { before, after } = await updateOptimistically(
    () => loadTenant(deps, principal, tenantId),
    ifMatch,
    async (current) => {
      const { etag: _etag, entraTenantId: currentEntraId, entraTenantBoundBy: currentBoundBy, allowSharedEntraTenant: currentShared, ...rest } = current;
      const entraTenantId = input.entraTenantId === null ? undefined : (input.entraTenantId?.toLowerCase() ?? currentEntraId);
      const allowSharedEntraTenant = input.allowSharedEntraTenant ?? currentShared;
      const rebound = entraTenantId !== currentEntraId;
      if (entraTenantId && (rebound || (currentShared && !allowSharedEntraTenant))) {
        const conflict = await bindingConflict(deps.tenants, entraTenantId, { id: tenantId, allowSharedEntraTenant });
        if (conflict) throw entraTenantTaken(conflict);
      }
      // An operator naming the binding (new, or the same value to confirm one stored before bindings were proved) vouches for it.
      const boundBy = rebound || (input.entraTenantId && !currentBoundBy) ? 'operator' : currentBoundBy;
      return {
        ...rest,
        ...(entraTenantId ? { entraTenantId, ...(boundBy ? { entraTenantBoundBy: boundBy } : {}) } : {}),
        ...(allowSharedEntraTenant ? { allowSharedEntraTenant: true } : {}),
        displayName: input.displayName ?? current.displayName,
        status: input.status ?? current.status,
        updatedAt: deps.now().toISOString(),
      };
    },
    (next, etag) => deps.tenants.replace(next, etag),
  );
  await recordAudit(deps, principal, tenantId, 'tenant.updated', tenantPath(tenantId), auditDetailsOf({ ...input }));
  if (before.entraTenantId !== after.entraTenantId || before.entraTenantBoundBy !== after.entraTenantBoundBy) {
    await recordAudit(deps, principal, tenantId, after.entraTenantId ? 'tenant.entraTenantBound' : 'tenant.entraTenantUnbound', tenantPath(tenantId), {
      entraTenantId: after.entraTenantId ?? null,
      previousEntraTenantId: before.entraTenantId ?? null,
      method: 'operator',
    });
  }
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
