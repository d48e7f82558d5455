import type { HttpResponseInit } from '@azure/functions';
import { defineHttpFunction } from '../shared/runtime/function-registry';

const startedAt = new Date().toISOString();

// Liveness only: it touches no dependency and says nothing about configuration or secrets.
defineHttpFunction('health', {
  route: 'health',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: async (): Promise<HttpResponseInit> => ({
    status: 200,
    jsonBody: { status: 'ok', startedAt },
  }),
});
