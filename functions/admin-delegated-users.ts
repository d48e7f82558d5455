// /api/admin/tenants/{tenantId}/delegated-users (GET ?status=all|errors|ok) and .../mailboxes/{mailbox}/delegated-user (PUT link).
import { registerAdminRoutes } from '../shared/admin/register-admin-routes';
import { delegatedUserRoutes } from '../shared/consent/consent-routes';

registerAdminRoutes(delegatedUserRoutes);
