// GET /api/admin/credential-status: credentials expired or expiring within 30/14/7 days.
import { registerAdminRoutes } from '../shared/admin/register-admin-routes';
import { credentialStatusRoutes } from '../shared/consent/consent-routes';

registerAdminRoutes(credentialStatusRoutes);
