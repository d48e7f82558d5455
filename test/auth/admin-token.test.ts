import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RunningIdentityProvider } from '../../dev/identity';
import { AdminTokenError, createAdminTokenValidator, type AdminTokenValidator } from '../../shared/auth';
import { DEMO_IDENTITY, startTestIdentityProvider } from '../identity/identity-fixture';

const d = DEMO_IDENTITY;
const AUDIENCE = d.adminApi.audience;
let idp: RunningIdentityProvider;
let validator: AdminTokenValidator;

before(async () => {
  idp = await startTestIdentityProvider();
  // As production composes it (shared/admin/admin-composition.ts): one audience, ADMIN_API_AUDIENCE = the API's client id.
  validator = createAdminTokenValidator({ authorityHost: idp.url, tenantId: d.operatorTenantId, audience: AUDIENCE });
});

after(async () => {
  await idp?.close();
});

function operatorToken(overrides: { roles?: string[]; audience?: string; expiresInSeconds?: number; extraClaims?: Record<string, unknown> } = {}): string {
  return idp.control.issueAccessToken({
    tenantId: d.operatorTenantId,
    audience: overrides.audience ?? AUDIENCE,
    roles: overrides.roles ?? ['Connector.Admin'],
    oid: '0a000000-0000-4000-8000-0000000000f1',
    upn: 'someone@operator.example.com',
    name: 'Some One',
    scp: 'user_impersonation',
    expiresInSeconds: overrides.expiresInSeconds,
    extraClaims: overrides.extraClaims,
  });
}

async function rejection(header: string | undefined): Promise<AdminTokenError> {
  try {
    await validator.validate(header);
  } catch (error) {
    assert.ok(error instanceof AdminTokenError, `expected AdminTokenError, got ${String(error)}`);
    return error;
  }
  assert.fail('the token was accepted');
}

test('a Connector.Admin user token from the operator tenant is accepted for all tenants', async () => {
  const token = idp.control.issueUserAccessToken({ user: d.users.operatorAdmin.upn, audience: AUDIENCE });
  const principal = await validator.validate(`Bearer ${token}`);
  assert.deepEqual(principal.scope, { kind: 'all' });
  assert.equal(principal.objectId, d.users.operatorAdmin.objectId);
  assert.equal(principal.name, 'Operator Admin');
  assert.deepEqual(principal.roles, ['Connector.Admin']);
});

test('the client-id form of the audience is accepted when configured', async () => {
  const principal = await validator.validate(`Bearer ${operatorToken({ audience: d.adminApi.appId })}`);
  assert.equal(principal.scope.kind, 'all');
});

test('a token for another audience is 401', async () => {
  const error = await rejection(`Bearer ${operatorToken({ audience: 'https://outlook.office365.com' })}`);
  assert.equal(error.code, 'Unauthorized');
  assert.equal(error.status, 401);
  assert.match(error.reason, /audience/);
});

test('a token from another tenant (issuer) is 401', async () => {
  const token = idp.control.issueAccessToken({ tenantId: d.contosoTenantId, audience: AUDIENCE, roles: ['Connector.Admin'] });
  const error = await rejection(`Bearer ${token}`);
  assert.equal(error.code, 'Unauthorized');
  assert.match(error.reason, /issuer|admin tenant/);
});

test('an expired token is 401 with a reason that says so', async () => {
  const error = await rejection(`Bearer ${operatorToken({ expiresInSeconds: -600 })}`);
  assert.equal(error.code, 'Unauthorized');
  assert.match(error.reason, /expired/);
});

test('a token whose payload was changed after signing is 401', async () => {
  const [header, , signature] = operatorToken({ roles: ['Reader'] }).split('.');
  const forgedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(operatorToken().split('.')[1]!, 'base64url').toString()), roles: ['Connector.Admin'] })).toString('base64url');
  const error = await rejection(`Bearer ${header}.${forgedPayload}.${signature}`);
  assert.equal(error.code, 'Unauthorized');
  assert.match(error.reason, /signature/);
});

test('a token signed by another authority key is 401', async () => {
  const other = await startTestIdentityProvider();
  try {
    const token = other.control.issueAccessToken({ tenantId: d.operatorTenantId, audience: AUDIENCE, roles: ['Connector.Admin'] });
    // Same claims shape, but the issuer host differs and the key is unknown: refused either way.
    const error = await rejection(`Bearer ${token}`);
    assert.equal(error.code, 'Unauthorized');
  } finally {
    await other.close();
  }
});

test('a token with a non-RS256 algorithm is 401', async () => {
  const [, payload] = operatorToken().split('.');
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const error = await rejection(`Bearer ${header}.${payload}.c2lnbmF0dXJl`);
  assert.equal(error.code, 'Unauthorized');
  assert.match(error.reason, /RS256/);
});

test('a missing or non-Bearer Authorization header is 401', async () => {
  assert.equal((await rejection(undefined)).code, 'Unauthorized');
  assert.equal((await rejection('Basic dXNlcjpwYXNz')).code, 'Unauthorized');
  assert.equal((await rejection('Bearer not-a-jwt')).code, 'Unauthorized');
});

test('a valid token without an admin role is 403', async () => {
  const error = await rejection(`Bearer ${operatorToken({ roles: [] })}`);
  assert.equal(error.code, 'Forbidden');
  assert.equal(error.status, 403);
});

test('Connector.TenantAdmin.<id> role values scope the caller to those tenants', async () => {
  const principal = await validator.validate(`Bearer ${operatorToken({ roles: ['Connector.TenantAdmin.tenant-a', 'Connector.TenantAdmin.tenant-b'] })}`);
  assert.deepEqual(principal.scope, { kind: 'tenant', tenantIds: ['tenant-a', 'tenant-b'] });
});

test('Connector.TenantAdmin with a connector_tenants claim scopes the caller to those tenants', async () => {
  const principal = await validator.validate(`Bearer ${operatorToken({ roles: ['Connector.TenantAdmin'], extraClaims: { connector_tenants: ['tenant-c'] } })}`);
  assert.deepEqual(principal.scope, { kind: 'tenant', tenantIds: ['tenant-c'] });
});

test('Connector.TenantAdmin without any tenant is 403', async () => {
  const token = idp.control.issueUserAccessToken({ user: d.users.operatorTenantAdmin.upn, audience: AUDIENCE });
  const error = await rejection(`Bearer ${token}`);
  assert.equal(error.code, 'Forbidden');
  assert.match(error.reason, /no connector tenant/);
});

test('signing keys are cached: validation keeps working after the authority goes away', async () => {
  const own = await startTestIdentityProvider();
  const ownValidator = createAdminTokenValidator({ authorityHost: own.url, tenantId: d.operatorTenantId, audience: AUDIENCE });
  const token = own.control.issueUserAccessToken({ user: d.users.operatorAdmin.upn, audience: AUDIENCE });
  assert.equal((await ownValidator.validate(`Bearer ${token}`)).scope.kind, 'all');
  await own.close();
  assert.equal((await ownValidator.validate(`Bearer ${token}`)).scope.kind, 'all');
});

test('an unreachable authority is AuthorityUnavailable (503), not a caller error', async () => {
  const own = await startTestIdentityProvider();
  const url = own.url;
  const token = own.control.issueUserAccessToken({ user: d.users.operatorAdmin.upn, audience: AUDIENCE });
  await own.close();
  const unreachable = createAdminTokenValidator({ authorityHost: url, tenantId: d.operatorTenantId, audience: AUDIENCE }, { requestTimeoutInMs: 2000 });
  await assert.rejects(unreachable.validate(`Bearer ${token}`), (error: unknown) => {
    assert.ok(error instanceof AdminTokenError);
    assert.equal(error.code, 'AuthorityUnavailable');
    assert.equal(error.status, 503);
    return true;
  });
});

test("a token Entra issues for api://exchange-connector/.default (v2.0: aud = the API's client id) is accepted; the URI as aud is not", async () => {
  // Through the token endpoint, as a calling service would: client credentials for the identifier URI's .default.
  const response = await fetch(`${idp.url}/${d.operatorTenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: d.appIdentity.clientId, client_secret: d.appIdentity.clientSecret, scope: `${d.adminApi.identifierUri}/.default` }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  const accessToken = ((await response.json()) as { access_token: string }).access_token;
  const claims = JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()) as { aud: string; ver: string; iss: string };
  assert.equal(claims.aud, d.adminApi.appId);
  assert.equal(claims.ver, '2.0');
  assert.equal(claims.iss, `${idp.url}/${d.operatorTenantId}/v2.0`);
  // Valid audience and issuer: what remains is that this app holds no admin role (403, not 401).
  assert.equal((await rejection(`Bearer ${accessToken}`)).code, 'Forbidden');

  const user = idp.control.issueUserAccessToken({ user: d.users.operatorAdmin.upn, audience: d.adminApi.identifierUri });
  assert.equal((await validator.validate(`Bearer ${user}`)).scope.kind, 'all');
  const uriAudience = operatorToken({ audience: d.adminApi.identifierUri });
  assert.equal((await rejection(`Bearer ${uriAudience}`)).code, 'Unauthorized');
});
