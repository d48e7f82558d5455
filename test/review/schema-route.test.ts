/**
 * Review fix: GET /api/schemas/{name} looked names up in an object literal, so "constructor" or
 * "toString" found Object.prototype's functions instead of answering 404.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HttpRequest, InvocationContext } from '@azure/functions';
import type { HttpHandler } from '@azure/functions';
import '../../functions/delivery-schemas';
import { registeredFunctions } from '../../shared/runtime/function-registry';

function schemaHandler(): HttpHandler {
  const found = registeredFunctions().find((fn) => fn.name === 'delivery-schemas');
  assert.ok(found && found.kind === 'http');
  return found.options.handler;
}

async function get(name: string) {
  const request = new HttpRequest({ method: 'GET', url: `http://localhost/api/schemas/${encodeURIComponent(name)}`, params: { name } });
  return schemaHandler()(request, new InvocationContext({ functionName: 'delivery-schemas' }));
}

describe('GET /api/schemas/{name}', () => {
  for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'nope.json']) {
    test(`"${name}" is 404 problem+json`, async () => {
      const response = await get(name);
      assert.equal(response.status, 404);
      assert.equal((response.headers as Record<string, string>)['content-type'], 'application/problem+json');
    });
  }

  test('the published change-record schema is served', async () => {
    const response = await get('change-record.json');
    assert.equal(response.status, 200);
    const schema = JSON.parse(String(response.body)) as { $schema?: string; $defs?: Record<string, { properties?: Record<string, unknown> }> };
    assert.match(schema.$schema ?? '', /2020-12/);
    assert.ok(schema.$defs?.ChangeRecord?.properties?.idempotencyKey, 'a change record has an idempotencyKey');
  });
});
