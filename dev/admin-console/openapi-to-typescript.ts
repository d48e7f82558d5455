/**
 * The admin console's API types, written from the app's own OpenAPI document (the one
 * /api/openapi.json serves, built from the same zod schemas that validate requests). The
 * console is type-checked against this file at build time, so a field renamed or removed in the
 * API fails `npm run build` instead of failing in a browser.
 *
 * Written here rather than with openapi-typescript: that tool builds its output with the
 * TypeScript compiler API, which TypeScript 7 (this project's compiler) no longer ships. The
 * document uses a small part of JSON Schema (zod's output), which maps directly.
 */

type Json = { [key: string]: unknown };

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function literal(value: unknown): string {
  return JSON.stringify(value);
}

function propertyKey(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
}

/** One JSON Schema (2020-12, as zod writes it) as a TypeScript type expression. */
export function schemaToType(schema: unknown, indent = ''): string {
  if (!isObject(schema)) return 'unknown';
  if (typeof schema.$ref === 'string') return `Schemas[${literal(schema.$ref.replace('#/components/schemas/', ''))}]`;
  if ('const' in schema) return literal(schema.const);
  if (Array.isArray(schema.enum)) return schema.enum.map(literal).join(' | ');
  for (const key of ['anyOf', 'oneOf'] as const) {
    const variants = schema[key];
    if (Array.isArray(variants)) return variants.map((v) => `(${schemaToType(v, indent)})`).join(' | ');
  }
  if (Array.isArray(schema.allOf)) return schema.allOf.map((v) => `(${schemaToType(v, indent)})`).join(' & ');
  const type = schema.type;
  if (Array.isArray(type)) return type.map((t) => schemaToType({ ...schema, type: t }, indent)).join(' | ');
  switch (type) {
    case 'string':
      return 'string';
    case 'number':
    case 'integer':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array':
      return `Array<${schemaToType(schema.items, indent)}>`;
    case 'object':
      return objectType(schema, indent);
    default:
      return 'unknown';
  }
}

function objectType(schema: Json, indent: string): string {
  const properties = isObject(schema.properties) ? schema.properties : {};
  const required = new Set(Array.isArray(schema.required) ? schema.required.map(String) : []);
  const inner = `${indent}  `;
  const lines = Object.entries(properties).map(([name, property]) => {
    const doc = isObject(property) && typeof property.description === 'string' ? `${inner}/** ${property.description.replace(/\*\//g, '* /')} */\n` : '';
    return `${doc}${inner}readonly ${propertyKey(name)}${required.has(name) ? '' : '?'}: ${schemaToType(property, inner)};`;
  });
  const additional = schema.additionalProperties;
  if (isObject(additional)) lines.push(`${inner}readonly [key: string]: ${schemaToType(additional, inner)};`);
  else if (additional === undefined && Object.keys(properties).length === 0) return 'Record<string, unknown>';
  return lines.length === 0 ? '{}' : `{\n${lines.join('\n')}\n${indent}}`;
}

interface OperationSummary {
  readonly operationId: string;
  readonly method: string;
  readonly path: string;
  readonly pathParams: string[];
  readonly query: Json[];
  readonly body: unknown;
  readonly success: { status: number; schema: unknown } | undefined;
}

function operations(document: Json): OperationSummary[] {
  const paths = isObject(document.paths) ? document.paths : {};
  const found: OperationSummary[] = [];
  for (const [path, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    for (const [method, op] of Object.entries(item)) {
      if (!isObject(op) || typeof op.operationId !== 'string') continue;
      const parameters = (Array.isArray(op.parameters) ? op.parameters : []).filter(isObject);
      const body = isObject(op.requestBody) ? (op.requestBody.content as Json | undefined)?.['application/json'] : undefined;
      const responses = isObject(op.responses) ? op.responses : {};
      const successStatus = Object.keys(responses).map(Number).filter((s) => s >= 200 && s < 300).sort()[0];
      const successResponse = successStatus !== undefined ? responses[String(successStatus)] : undefined;
      const content = isObject(successResponse) && isObject(successResponse.content) ? (successResponse.content['application/json'] as Json | undefined) : undefined;
      found.push({
        operationId: op.operationId,
        method: method.toUpperCase(),
        path,
        pathParams: parameters.filter((p) => p.in === 'path').map((p) => String(p.name)),
        query: parameters.filter((p) => p.in === 'query'),
        body: isObject(body) ? body.schema : undefined,
        success: successStatus !== undefined ? { status: successStatus, schema: content?.schema } : undefined,
      });
    }
  }
  return found.sort((a, b) => a.operationId.localeCompare(b.operationId));
}

/** The TypeScript module the console imports: schema types, operation types and the route table. */
export function openApiToTypeScript(document: Json): string {
  const components = isObject(document.components) && isObject(document.components.schemas) ? document.components.schemas : {};
  const out: string[] = [
    '// Generated by dev/admin-console/openapi-to-typescript.ts from the admin API\'s OpenAPI document. Do not edit.',
    '/* eslint-disable */',
    '',
    'export interface Schemas {',
  ];
  for (const [name, schema] of Object.entries(components).sort(([a], [b]) => a.localeCompare(b))) {
    out.push(`  readonly ${propertyKey(name)}: ${schemaToType(schema, '  ')};`);
  }
  out.push('}', '', 'export interface Operations {');
  const ops = operations(document);
  for (const op of ops) {
    const params = op.pathParams.length ? `{ ${op.pathParams.map((p) => `readonly ${propertyKey(p)}: string`).join('; ')} }` : 'Record<string, never>';
    const query = op.query.length
      ? `{ ${op.query.map((q) => `readonly ${propertyKey(String(q.name))}?: ${schemaToType(q.schema, '    ')}`).join('; ')} }`
      : 'Record<string, never>';
    out.push(
      `  readonly ${propertyKey(op.operationId)}: {`,
      `    readonly method: ${literal(op.method)};`,
      `    readonly params: ${params};`,
      `    readonly query: ${query};`,
      `    readonly body: ${op.body === undefined ? 'undefined' : schemaToType(op.body, '    ')};`,
      `    readonly response: ${op.success?.schema === undefined ? 'undefined' : schemaToType(op.success.schema, '    ')};`,
      '  };',
    );
  }
  out.push('}', '', '/** Method and path template of each operation, for the client. */');
  out.push('export const OPERATIONS: { readonly [K in keyof Operations]: { readonly method: Operations[K][\'method\']; readonly path: string } } = {');
  for (const op of ops) out.push(`  ${propertyKey(op.operationId)}: { method: ${literal(op.method)}, path: ${literal(op.path)} },`);
  out.push('};', '');
  return out.join('\n');
}
