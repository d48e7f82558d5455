// GET /api/admin/tenants/{tenantId}/groups/{groupId}/directory?q=...: directory lookup (EWS ResolveNames, Graph /users and /people).
import { registerAdminRoutes } from '../shared/admin/register-admin-routes';
import { directoryRoutes } from '../shared/directory/directory-routes';

registerAdminRoutes(directoryRoutes);
