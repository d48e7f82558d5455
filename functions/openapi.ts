import type { HttpResponseInit } from '@azure/functions';
// Every admin route module and the document builder are required on the first request, not when the app loads (cold start, docs/sync.md).
import type * as AllAdminRoutes from '../shared/admin/all-admin-routes';
import type * as OpenApi from '../shared/admin/openapi';
import { appConfig } from '../shared/config';
import { defineHttpFunction } from '../shared/runtime/function-registry';

let document: string | undefined;

// Anonymous on purpose: the document describes the API, it holds no data.
defineHttpFunction('openapi', {
  route: 'openapi.json',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: async (): Promise<HttpResponseInit> => {
    const config = appConfig();
    const { ALL_ADMIN_ROUTES } = require('../shared/admin/all-admin-routes') as typeof AllAdminRoutes;
    const { buildOpenApiDocument } = require('../shared/admin/openapi') as typeof OpenApi;
    document ??= JSON.stringify(buildOpenApiDocument(ALL_ADMIN_ROUTES, { serverUrl: `${config.publicBaseUrl}/api`, audience: config.adminApi.audience, version: '0.1.0' }));
    return { status: 200, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'public, max-age=300' }, body: document };
  },
});
