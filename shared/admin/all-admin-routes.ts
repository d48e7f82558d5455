/**
 * Every admin route of every module, for the OpenAPI document. Kept apart from admin-routes.ts
 * because the consent and delivery route modules build on shared/admin (services, endpoint);
 * collecting them here keeps the import graph one-way (modules -> shared/admin, never back).
 */
import { CONSENT_ADMIN_ROUTES } from '../consent/consent-routes';
import { deliveryRoutes } from '../delivery/delivery-admin-routes';
import type { AdminRoute } from './admin-endpoint';
import { groupRoutes, mailboxRoutes, pingRoute, tenantRoutes } from './admin-routes';
import { writeRoutes } from '../write/write-routes';
import { ewsUrlDiscoveryRoutes } from './ews-url-discovery';
import { directoryRoutes } from '../directory/directory-routes';

export const ALL_ADMIN_ROUTES: readonly AdminRoute[] = [pingRoute, ...tenantRoutes, ...groupRoutes, ...mailboxRoutes, ...deliveryRoutes, ...CONSENT_ADMIN_ROUTES, ...writeRoutes, ...ewsUrlDiscoveryRoutes, ...directoryRoutes];
