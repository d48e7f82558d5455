/**
 * The console's server side (no browser): what the Functions app answers under /api/admin/,
 * its security headers, that the catch-all never shadows the admin API, and that the page and
 * the API cannot drift: types come from the OpenAPI document, and a renamed field fails the build.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GENERATED_API, WEB_DIR, adminOpenApiDocument, typecheckWeb } from '../../dev/admin-console/build-console';
import { openApiToTypeScript, schemaToType } from '../../dev/admin-console/openapi-to-typescript';
import { DEMO_IDENTITY } from '../../dev/identity/demo-seed';
import { projectRoot } from '../../dev/project-paths';
import { ConsoleSite, type ConsoleSettings } from '../../shared/admin-console/console-site';
import { startConnectorStack, type ConnectorStack } from '../support/connector-stack';

const SETTINGS: ConsoleSettings = { clientId: DEMO_IDENTITY.adminConsole.clientId, authorityHost: 'https://login.microsoftonline.com', tenantId: DEMO_IDENTITY.operatorTenantId, audience: 'api://exchange-connector' };
const root = projectRoot();

function header(response: { headers?: unknown }, name: string): string {
  return String((response.headers as Record<string, string>)[name] ?? '');
}

describe('console site', () => {
  const site = new ConsoleSite(join(root, 'dist', 'admin-console'));

  it('serves the page with a strict CSP, no inline script and no framing', () => {
    const page = site.serve('', '/api/admin/', SETTINGS);
    assert.equal(page.status, 200);
    const csp = header(page, 'content-security-policy');
    for (const directive of ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", 'connect-src \'self\' https://login.microsoftonline.com']) assert.ok(csp.includes(directive), `${directive} in ${csp}`);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(header(page, 'x-frame-options'), 'DENY');
    const html = String(page.body);
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handler');
    const script = /src="assets\/([^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script);
    const asset = site.serve(`assets/${script}`, `/api/admin/assets/${script}`, SETTINGS);
    assert.equal(asset.status, 200);
    assert.match(header(asset, 'cache-control'), /immutable/);
  });

  it('redirects /api/admin to /api/admin/ so relative files and the sign-in redirect resolve', () => {
    const response = site.serve('', '/api/admin', SETTINGS);
    assert.equal(response.status, 308);
    assert.equal(header(response, 'location'), '/api/admin/');
  });

  it('config.json holds the public sign-in settings only, or says the console is not configured', () => {
    const config = JSON.parse(String(site.serve('config.json', '/api/admin/config.json', SETTINGS).body)) as Record<string, unknown>;
    assert.deepEqual(config, {
      clientId: DEMO_IDENTITY.adminConsole.clientId,
      authority: `https://login.microsoftonline.com/${DEMO_IDENTITY.operatorTenantId}`,
      knownAuthority: 'login.microsoftonline.com',
      scopes: ['api://exchange-connector/user_impersonation'],
      apiBase: '/api',
    });
    const missing = site.serve('config.json', '/api/admin/config.json', { ...SETTINGS, clientId: undefined });
    assert.equal(missing.status, 503);
    assert.match(String(missing.body), /ADMIN_CONSOLE_CLIENT_ID/);
  });

  it('attacker: unknown paths and traversal answer 404 problem+json, never a file', () => {
    for (const path of ['assets/../index.html', 'assets/..%2f..%2fpackage.json', '../package.json', 'tenants-typo', 'assets/nope.js']) {
      const response = site.serve(path, `/api/admin/${path}`, SETTINGS);
      assert.equal(response.status, 404, path);
      assert.equal(header(response, 'content-type'), 'application/problem+json');
      assert.ok(header(response, 'content-security-policy'));
    }
  });

  it('answers 503 naming the fix when the console was not built', () => {
    const response = new ConsoleSite(join(root, 'dist', 'no-such-dir')).serve('', '/api/admin/', SETTINGS);
    assert.equal(response.status, 503);
    assert.match(String(response.body), /npm run build/);
  });
});

describe('console through the Functions host', () => {
  let stack: ConnectorStack;
  before(async () => {
    stack = await startConnectorStack({ functions: ['admin-console', 'admin-tenants'], extraSettings: { ADMIN_CONSOLE_CLIENT_ID: DEMO_IDENTITY.adminConsole.clientId } });
  });
  after(async () => {
    await stack?.close();
  });

  it('serves the console at /api/admin/ while the admin API keeps its routes (literal routes win over the catch-all)', async () => {
    const page = await fetch(`${stack.host.url}/api/admin/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    const config = (await (await fetch(`${stack.host.url}/api/admin/config.json`)).json()) as { authority: string };
    assert.equal(config.authority, `${stack.idp.url}/${DEMO_IDENTITY.operatorTenantId}`);
    const api = await fetch(`${stack.host.url}/api/admin/tenants`);
    assert.equal(api.status, 401, 'the API answers, not the console');
    const post = await fetch(`${stack.host.url}/api/admin/`, { method: 'POST' });
    assert.notEqual(post.status, 200, 'the console is GET only');
  });
});

describe('page and API cannot drift', () => {
  it('writes schema types from JSON Schema as zod emits it', () => {
    assert.equal(schemaToType({ anyOf: [{ type: 'string' }, { type: 'null' }] }), '(string) | (null)');
    assert.equal(schemaToType({ type: 'string', enum: ['a', 'b'] }), '"a" | "b"');
    assert.equal(schemaToType({ $ref: '#/components/schemas/Tenant' }), 'Schemas["Tenant"]');
    assert.match(schemaToType({ type: 'object', properties: { id: { type: 'string' }, n: { type: 'integer' } }, required: ['id'] }), /readonly id: string;\s+readonly n\?: number;/);
  });

  it('the generated types in the build are the OpenAPI document\'s', () => {
    assert.equal(readFileSync(join(root, GENERATED_API), 'utf8'), openApiToTypeScript(adminOpenApiDocument()));
  });

  it('a field renamed in the API fails the console\'s type check, naming the field', () => {
    const work = mkdtempSync(join(root, 'dist', 'console-drift-'));
    try {
      const web = join(work, 'web');
      cpSync(join(root, WEB_DIR), web, { recursive: true });
      const generated = join(web, 'generated', 'admin-api.ts');
      assert.equal(typecheckWeb(web, root).ok, true, 'the copy type-checks before the change');

      const document = adminOpenApiDocument() as { components: { schemas: Record<string, { properties: Record<string, unknown>; required: string[] }> } };
      const mailbox = document.components.schemas.Mailbox!;
      mailbox.properties.primarySmtpAddress = mailbox.properties.smtpAddress;
      delete mailbox.properties.smtpAddress;
      mailbox.required = mailbox.required.map((name) => (name === 'smtpAddress' ? 'primarySmtpAddress' : name));
      writeFileSync(generated, openApiToTypeScript(document));
      const checked = typecheckWeb(web, root);
      assert.equal(checked.ok, false, 'the renamed field must break the build');
      assert.match(checked.output, /smtpAddress/);
      assert.match(checked.output, /mailboxes\.tsx/);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
