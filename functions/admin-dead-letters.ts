// /api/admin/tenants/{tenantId}/dead-letters[/{deadLetterId}/replay].
import { registerAdminRoutes } from '../shared/admin/register-admin-routes';
import { deliveryRoutes } from '../shared/delivery/delivery-admin-routes';

registerAdminRoutes(deliveryRoutes.filter((route) => route.name.startsWith('admin-dead-letter')));
