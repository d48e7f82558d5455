// /api/admin/tenants/{tenantId}/groups/{groupId}/delivery[/signing-key], .../mailboxes/{mailbox}/graph-ids.
import { registerAdminRoutes } from '../shared/admin/register-admin-routes';
import { deliveryRoutes } from '../shared/delivery/delivery-admin-routes';

registerAdminRoutes(deliveryRoutes.filter((route) => route.name === 'admin-group-delivery' || route.name === 'admin-group-signing-key' || route.name === 'admin-mailbox-graph-ids'));
