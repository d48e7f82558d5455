// /api/admin/tenants/{tenantId}/groups/{groupId}/invitations (POST), /invitations (GET), /registrations (DELETE).
import { registerAdminRoutes } from '../shared/admin/register-admin-routes';
import { invitationRoutes } from '../shared/consent/consent-routes';

registerAdminRoutes(invitationRoutes);
