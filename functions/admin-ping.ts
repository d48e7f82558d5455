// GET /api/admin/ping: who the bearer token says the caller is.
import { pingRoute } from '../shared/admin/admin-routes';
import { registerAdminRoutes } from '../shared/admin/register-admin-routes';

registerAdminRoutes([pingRoute]);
