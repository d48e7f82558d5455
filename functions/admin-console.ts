// GET /api/admin/ (the web console), /api/admin/assets/* and /api/admin/config.json. The admin API's own
// routes (/api/admin/tenants/...) are literal and win over this catch-all, as in the Functions host.
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { ConsoleSite } from '../shared/admin-console/console-site';
import { appConfig } from '../shared/config';
import { defineHttpFunction } from '../shared/runtime/function-registry';

const site = new ConsoleSite();

// Anonymous on purpose: the page and its code hold no data; every API call it makes carries a bearer token.
defineHttpFunction('admin-console', {
  route: 'admin/{*path}',
  methods: ['GET', 'HEAD'],
  authLevel: 'anonymous',
  handler: async (request: HttpRequest): Promise<HttpResponseInit> => {
    const config = appConfig();
    return site.serve(request.params.path ?? '', new URL(request.url).pathname, {
      clientId: config.adminConsole.clientId,
      authorityHost: config.identity.authorityHost,
      tenantId: config.adminApi.tenantId,
      audience: config.adminApi.audience,
    });
  },
});
