import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareRoutePrecedence, parseRouteTemplate, RouteTemplateError } from '../../dev/functions-host/route-template';

test('literal and parameter segments', () => {
  const route = parseRouteTemplate('tenants/{tenantId}/groups/{groupId}');
  assert.deepEqual(route.match('tenants/t1/groups/g%201'), { tenantId: 't1', groupId: 'g 1' });
  assert.deepEqual(route.match('TENANTS/t1/Groups/g'), { tenantId: 't1', groupId: 'g' });
  assert.equal(route.match('tenants/t1/groups'), undefined);
  assert.equal(route.match('tenants/t1/groups/g/extra'), undefined);
});

test('inline constraints', () => {
  const id = parseRouteTemplate('items/{id:int}');
  assert.deepEqual(id.match('items/-12'), { id: '-12' });
  assert.equal(id.match('items/1.5'), undefined);
  assert.equal(id.match('items/99999999999'), undefined, 'outside int32');
  const guid = parseRouteTemplate('t/{id:guid}');
  assert.ok(guid.match('t/00000000-0000-4000-8000-000000000001'));
  assert.equal(guid.match('t/not-a-guid'), undefined);
  const ranged = parseRouteTemplate('p/{n:int:range(1,10)}');
  assert.ok(ranged.match('p/10'));
  assert.equal(ranged.match('p/11'), undefined);
  const code = parseRouteTemplate('c/{code:regex(^[a-z]{{3}}$)}');
  assert.ok(code.match('c/abc'));
  assert.equal(code.match('c/abcd'), undefined);
  assert.ok(parseRouteTemplate('b/{flag:bool}').match('b/True'));
  assert.equal(parseRouteTemplate('a/{name:alpha:minlength(2)}').match('a/x'), undefined);
});

test('optional, default and catch-all parameters', () => {
  const optional = parseRouteTemplate('greet/{name?}');
  assert.deepEqual(optional.match('greet'), {});
  assert.deepEqual(optional.match('greet/ana'), { name: 'ana' });
  assert.deepEqual(parseRouteTemplate('page/{n=1}').match('page'), { n: '1' });
  const rest = parseRouteTemplate('files/{*path}');
  assert.deepEqual(rest.match('files/a/b/c.txt'), { path: 'a/b/c.txt' });
  assert.deepEqual(rest.match('files'), {});
});

test('complex segments', () => {
  assert.deepEqual(parseRouteTemplate('files/{name}.{ext}').match('files/report.final.pdf'), { name: 'report', ext: 'final.pdf' });
});

test('bad templates are rejected with a typed error', () => {
  assert.throws(() => parseRouteTemplate('a/{*rest}/b'), RouteTemplateError);
  assert.throws(() => parseRouteTemplate('a/{id:unknown}'), RouteTemplateError);
  assert.throws(() => parseRouteTemplate('a/{id'), RouteTemplateError);
});

test('literal segments take precedence over parameters, parameters over catch-alls', () => {
  const routes = ['items/{*rest}', 'items/{id}', 'items/new', 'items/{id:int}'].map(parseRouteTemplate);
  routes.sort(compareRoutePrecedence);
  assert.deepEqual(routes.map((r) => r.template), ['items/new', 'items/{id:int}', 'items/{id}', 'items/{*rest}']);
});
