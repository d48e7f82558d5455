// GET /api/schemas/change-record.json, change-batch.json and contact-candidate.json: the published, versioned JSON shape.
import type { HttpResponseInit } from '@azure/functions';
import { z } from 'zod';
import { changeBatchSchema, changeRecordSchema, contactCandidateRecordSchema } from '../shared/delivery/change-batch';
import { defineHttpFunction } from '../shared/runtime/function-registry';

// A Map, not an object literal: a route value such as "constructor" must not find Object.prototype's members.
// Built on the first request, not when the app loads (cold start, docs/sync.md).
let documents: Map<string, string> | undefined;
function schemaDocuments(): Map<string, string> {
  documents ??= new Map<string, string>([
    ['change-record.json', JSON.stringify(z.toJSONSchema(changeRecordSchema, { target: 'draft-2020-12', io: 'output' }))],
    ['change-batch.json', JSON.stringify(z.toJSONSchema(changeBatchSchema, { target: 'draft-2020-12', io: 'output' }))],
    ['contact-candidate.json', JSON.stringify(z.toJSONSchema(contactCandidateRecordSchema, { target: 'draft-2020-12', io: 'output' }))],
  ]);
  return documents;
}

// Anonymous on purpose: a schema holds no data, and receivers' build tools fetch it.
defineHttpFunction('delivery-schemas', {
  route: 'schemas/{name}',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: async (request): Promise<HttpResponseInit> => {
    const document = schemaDocuments().get(request.params.name ?? '');
    if (!document) return { status: 404, headers: { 'content-type': 'application/problem+json' }, body: JSON.stringify({ type: 'about:blank', title: 'Not found', status: 404 }) };
    return { status: 200, headers: { 'content-type': 'application/schema+json', 'cache-control': 'public, max-age=3600' }, body: document };
  },
});
