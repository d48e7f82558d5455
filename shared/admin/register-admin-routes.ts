import { defineHttpFunction } from '../runtime/function-registry';
import { adminDependencies } from './admin-composition';
import { adminHttpHandler } from './admin-endpoint';
import type { AdminRoute } from './admin-endpoint';

/**
 * Registers admin routes with the Functions host. authLevel is 'anonymous' on purpose: the
 * Functions key would be a second shared secret with no identity behind it; every admin
 * operation instead requires an Entra bearer token with an admin app role, checked in the
 * handler (see admin-endpoint.ts).
 */
export function registerAdminRoutes(routes: readonly AdminRoute[]): void {
  for (const route of routes) {
    defineHttpFunction(route.name, {
      route: route.route,
      methods: route.operations.map((op) => op.description.method),
      authLevel: 'anonymous',
      handler: adminHttpHandler(route, adminDependencies),
    });
  }
}
