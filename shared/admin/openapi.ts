import { z } from 'zod';
import type { AdminRoute, OperationDescription, RouteParam } from './admin-endpoint';
import { problemResponse } from './schemas';

type JsonObject = { [key: string]: unknown };

// Typed by RouteParam: a new path parameter does not compile until it is documented here.
const PARAM_DOCS: Record<RouteParam, { description: string; format?: string }> = {
  tenantId: { description: 'Tenant ID (GUID) from POST /admin/tenants.', format: 'uuid' },
  groupId: { description: 'Group ID (GUID) from POST .../groups.', format: 'uuid' },
  mailbox: { description: 'Primary SMTP address (URL-encoded).', format: 'email' },
  deadLetterId: { description: 'Dead letter ID from GET .../dead-letters.' },
  operationId: { description: 'Write operation ID (GUID) from POST .../operations.', format: 'uuid' },
};

/**
 * Zod schema -> JSON Schema 2020-12 (OpenAPI 3.1's dialect). Schemas with a meta `id` are
 * hoisted into components.schemas and referenced, so each shape is described once.
 */
class SchemaCatalogue {
  readonly components: Record<string, unknown> = {};

  ref(schema: z.ZodType, io: 'input' | 'output'): unknown {
    const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12', reused: 'inline' }) as JsonObject;
    delete json.$schema;
    const defs = (json.$defs ?? {}) as Record<string, unknown>;
    delete json.$defs;
    for (const [name, def] of Object.entries(defs)) this.components[name] ??= this.rewriteRefs(def);
    const id = typeof json.id === 'string' ? json.id : undefined;
    const rewritten = this.rewriteRefs(json) as JsonObject;
    if (!id) return rewritten;
    delete rewritten.id;
    this.components[id] ??= rewritten;
    return { $ref: `#/components/schemas/${id}` };
  }

  /** Zod writes local refs (#/$defs/X); in OpenAPI they live under components. */
  private rewriteRefs(node: unknown): unknown {
    if (Array.isArray(node)) return node.map((item) => this.rewriteRefs(item));
    if (node === null || typeof node !== 'object') return node;
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(node)) {
      out[key] = key === '$ref' && typeof value === 'string' ? value.replace('#/$defs/', '#/components/schemas/') : this.rewriteRefs(value);
    }
    return out;
  }
}

function queryParameters(catalogue: SchemaCatalogue, schema: z.ZodType | undefined): unknown[] {
  if (!schema) return [];
  const json = catalogue.ref(schema, 'input') as JsonObject;
  const properties = (json.properties ?? {}) as Record<string, JsonObject>;
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: 'query',
    required: false,
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
    schema: property,
  }));
}

function operationObject(catalogue: SchemaCatalogue, route: AdminRoute, op: OperationDescription): JsonObject {
  const parameters = [
    ...route.params.map((name) => ({ name, in: 'path', required: true, description: PARAM_DOCS[name].description, schema: { type: 'string', ...(PARAM_DOCS[name].format ? { format: PARAM_DOCS[name].format } : {}) } })),
    ...queryParameters(catalogue, op.query),
    ...(['PATCH', 'DELETE'].includes(op.method) ? [{ name: 'If-Match', in: 'header', required: false, description: 'ETag from a previous read; the change applies only if the resource is unchanged.', schema: { type: 'string' } }] : []),
  ];
  const responses: Record<string, unknown> = {};
  for (const [status, response] of Object.entries(op.responses)) {
    const isProblem = Number(status) >= 400;
    const schema = response.schema ? catalogue.ref(response.schema, 'output') : isProblem ? catalogue.ref(problemResponse, 'output') : undefined;
    responses[status] = {
      description: response.description,
      ...(schema ? { content: { [isProblem ? 'application/problem+json' : 'application/json']: { schema } } } : {}),
      ...(status === '401' ? { headers: { 'WWW-Authenticate': { schema: { type: 'string' }, description: 'Bearer' } } } : {}),
    };
  }
  if (!responses['413'] && op.body) {
    responses['413'] = { description: `Body over ${op.maxBodyBytes} bytes.`, content: { 'application/problem+json': { schema: catalogue.ref(problemResponse, 'output') } } };
  }
  return {
    operationId: op.operationId,
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: [...op.tags],
    parameters,
    ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: catalogue.ref(op.body, 'input') } } } } : {}),
    responses,
    security: op.anonymous ? [] : [{ entraBearer: [] }],
  };
}

export interface OpenApiOptions {
  readonly serverUrl: string;
  readonly audience: string;
  readonly version: string;
}

/** The OpenAPI 3.1 document of the admin API, generated from the same routes and zod schemas that serve it. */
export function buildOpenApiDocument(routes: readonly AdminRoute[], options: OpenApiOptions): JsonObject {
  const catalogue = new SchemaCatalogue();
  const paths: Record<string, JsonObject> = {};
  for (const route of routes) {
    const path = '/' + route.route;
    const item: JsonObject = (paths[path] ??= {});
    for (const op of route.operations) item[op.description.method.toLowerCase()] = operationObject(catalogue, route, op.description);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Exchange Connector admin API',
      version: options.version,
      description:
        'Manage tenants, groups, mailboxes and credentials, and test connections to Exchange. Every operation needs an Entra access token ' +
        `for audience ${options.audience} with the app role Connector.Admin (all tenants) or Connector.TenantAdmin (its own tenants). ` +
        'Errors are RFC 9457 problem details.',
    },
    servers: [{ url: options.serverUrl }],
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      schemas: catalogue.components,
      securitySchemes: {
        entraBearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: `Entra access token, audience ${options.audience}.` },
      },
    },
  };
}
