// /api/admin/tenants/{tenantId}/consent (GET status, POST new admin-consent link) and /consent-settings.
import { registerAdminRoutes } from '../shared/admin/register-admin-routes';
import { adminConsentRoutes } from '../shared/consent/consent-routes';

registerAdminRoutes(adminConsentRoutes);
