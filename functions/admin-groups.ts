// /api/admin/tenants/{tenantId}/groups[/{groupId}[/credentials|/connection-tests]].
import { groupRoutes } from '../shared/admin/admin-routes';
import { registerAdminRoutes } from '../shared/admin/register-admin-routes';

registerAdminRoutes(groupRoutes);
