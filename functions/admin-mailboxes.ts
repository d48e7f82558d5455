// /api/admin/tenants/{tenantId}/groups/{groupId}/mailboxes[/{mailbox}] and /mailbox-imports.
import { mailboxRoutes } from '../shared/admin/admin-routes';
import { registerAdminRoutes } from '../shared/admin/register-admin-routes';

registerAdminRoutes(mailboxRoutes);
