import { defineHttpFunction } from '../runtime/function-registry';
import type { AdminDependencies } from './admin-dependencies';
import { adminHttpHandler } from './admin-endpoint';
import type { AdminRoute } from './admin-endpoint';

/**
 * Registers admin routes with the Functions host. authLevel is 'anonymous' on purpose: the
 * Functions key would be a second shared secret with no identity behind it; every admin
 * operation instead requires an Entra bearer token with an admin app role, checked in the
 * handler (see admin-endpoint.ts).
 */
/**
 * The admin composition (Key Vault, MSAL, Table and Blob clients, the connection tester) is
 * required on the first admin request, not when the function files load: it is most of the
 * app's module graph and only admin calls need it (cold start, docs/sync.md).
 */
function lazyAdminDependencies(): Promise<AdminDependencies> {
  return (require('./admin-composition') as typeof import('./admin-composition')).adminDependencies();
}

export function registerAdminRoutes(routes: readonly AdminRoute[]): void {
  for (const route of routes) {
    defineHttpFunction(route.name, {
      route: route.route,
      methods: route.operations.map((op) => op.description.method),
      authLevel: 'anonymous',
      handler: adminHttpHandler(route, lazyAdminDependencies),
    });
  }
}
