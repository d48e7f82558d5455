// /api/admin/tenants/{tenantId}[/groups/{groupId}]/ews-url-discovery: the EWS URL from an email address (Autodiscover).
import { ewsUrlDiscoveryRoutes } from '../shared/admin/ews-url-discovery';
import { registerAdminRoutes } from '../shared/admin/register-admin-routes';

registerAdminRoutes(ewsUrlDiscoveryRoutes);
