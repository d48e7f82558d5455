/**
 * The published OpenAPI document against what the app really registers: every admin HTTP
 * function (from every file in functions/, loaded as the Functions worker loads them) must
 * have each of its methods documented, and the document must have the OpenAPI 3.1 shape
 * that code generators and API portals rely on.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { appEntryPoints } from '../../dev/functions-host/app-loader';
import { projectRoot } from '../../dev/project-paths';
import { registeredFunctions } from '../../shared/runtime/function-registry';
import { startAdminStack } from './admin-stack';
import type { AdminStack } from './admin-stack';

type Json = Record<string, any>;

let stack: AdminStack;
let document: Json;

before(async () => {
  // Every function file, as Azure loads them; the stack's host then serves all of them too.
  for (const file of appEntryPoints(projectRoot())) require(file);
  stack = await startAdminStack();
  const response = await stack.request('GET', '/api/openapi.json', { token: null });
  assert.equal(response.status, 200, response.text);
  document = response.body;
});

after(async () => {
  await stack.close();
});

/** Functions route templates may carry constraints ({id:guid}); OpenAPI paths name the parameter only. */
function openApiPath(route: string): string {
  return '/' + route.replace(/\{([^}:=?]+)[^}]*\}/g, '{$1}');
}

function adminHttpFunctions(): { name: string; path: string; methods: string[] }[] {
  return registeredFunctions().flatMap((fn) =>
    // admin-console serves the web console's files under admin/{*path}: not an API operation.
    fn.kind === 'http' && fn.options.route?.startsWith('admin/') && fn.name !== 'admin-console'
      ? [{ name: fn.name, path: openApiPath(fn.options.route), methods: (fn.options.methods ?? ['GET', 'POST']).map((m) => m.toLowerCase()) }]
      : [],
  );
}

test('every method of every registered admin HTTP function is documented', () => {
  const functions = adminHttpFunctions();
  const names = functions.map((fn) => fn.name);
  for (const expected of ['admin-tenants', 'admin-group-delivery', 'admin-group-signing-key', 'admin-dead-letters', 'admin-dead-letter-replay', 'admin-send-mail', 'admin-invitations']) {
    assert.ok(names.includes(expected), `${expected} is registered (the functions loaded)`);
  }
  const missing = functions.flatMap((fn) => fn.methods.filter((method) => !document.paths[fn.path]?.[method]).map((method) => `${method.toUpperCase()} ${fn.path} (${fn.name})`));
  assert.deepEqual(missing, [], 'undocumented admin operations');
  // And the other way round: the document promises nothing the app does not serve.
  const served = new Set(functions.flatMap((fn) => fn.methods.map((method) => `${method} ${fn.path}`)));
  const documented = Object.entries(document.paths as Json).flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`));
  assert.deepEqual(documented.filter((op) => !served.has(op)), [], 'documented but not registered');
});

test('the delivery operations are described with their schemas', () => {
  const delivery = document.paths['/admin/tenants/{tenantId}/groups/{groupId}/delivery'].get;
  assert.equal(delivery.responses['200'].content['application/json'].schema.$ref, '#/components/schemas/DeliveryState');
  const replay = document.paths['/admin/tenants/{tenantId}/dead-letters/{deadLetterId}/replay'].post;
  assert.ok(replay.parameters.some((p: Json) => p.name === 'deadLetterId' && p.in === 'path' && p.required === true && p.description));
  const sendMail = document.paths['/admin/tenants/{tenantId}/groups/{groupId}/mailboxes/{mailbox}/send-mail'].post;
  assert.ok(sendMail.requestBody.content['application/json'].schema, 'send-mail documents its request body');
});

test('the document has the OpenAPI 3.1 shape', () => {
  assert.match(document.openapi, /^3\.1\.\d+$/);
  assert.equal(typeof document.info?.title, 'string');
  assert.equal(typeof document.info?.version, 'string');
  assert.equal(typeof document.paths, 'object');
  assert.equal(typeof document.components?.schemas, 'object');
  const schemes: Json = document.components.securitySchemes;
  const bearer = Object.entries(schemes).find(([, scheme]) => scheme.type === 'http' && String(scheme.scheme).toLowerCase() === 'bearer');
  assert.ok(bearer, 'a bearer security scheme');

  const operationIds = new Set<string>();
  const text = JSON.stringify(document);
  for (const ref of text.match(/"\$ref":"[^"]*"/g) ?? []) {
    const name = /#\/components\/schemas\/([^"]+)"$/.exec(ref)?.[1];
    assert.ok(name && document.components.schemas[name], `${ref} resolves`);
  }
  for (const [path, item] of Object.entries(document.paths as Json)) {
    assert.match(path, /^\//);
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const [method, op] of Object.entries(item as Json)) {
      assert.ok(['get', 'put', 'post', 'delete', 'patch'].includes(method), `${method} ${path}`);
      assert.ok(op.operationId && !operationIds.has(op.operationId), `${method} ${path}: unique operationId`);
      operationIds.add(op.operationId);
      const pathParams = op.parameters.filter((p: Json) => p.in === 'path');
      assert.deepEqual(pathParams.map((p: Json) => p.name).sort(), [...templated].sort(), `${method} ${path}: path parameters declared`);
      assert.ok(pathParams.every((p: Json) => p.required === true));
      assert.ok(Object.keys(op.responses).length > 0);
      for (const response of Object.values(op.responses as Json)) assert.equal(typeof response.description, 'string');
      for (const requirement of op.security) for (const scheme of Object.keys(requirement)) assert.ok(schemes[scheme], `${method} ${path}: security scheme ${scheme} exists`);
      assert.ok(op.security.length > 0, `${method} ${path}: admin operations need the bearer token`);
    }
  }
});
