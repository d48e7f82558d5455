// /api/admin/tenants[/{tenantId}[/audit]]: tenants and their audit trail.
import { tenantRoutes } from '../shared/admin/admin-routes';
import { registerAdminRoutes } from '../shared/admin/register-admin-routes';

registerAdminRoutes(tenantRoutes);
