/**
 * The "Single-page application" platform, as Entra has it and the admin console uses it: codes
 * issued to a SPA redirect URI are redeemed by the browser (an Origin header, no secret, PKCE),
 * cross-origin with CORS; other codes must not be redeemed cross-origin, and SPA codes not
 * without an Origin. The control API and the HTML pages get no CORS headers.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { RunningIdentityProvider } from '../../dev/identity';
import { DEMO_IDENTITY, claimsOf, startTestIdentityProvider } from './identity-fixture';

const d = DEMO_IDENTITY;
const CONSOLE_ORIGIN = 'http://localhost:7071';
const REDIRECT_URI = `${CONSOLE_ORIGIN}/api/admin/`;
let idp: RunningIdentityProvider;

before(async () => {
  idp = await startTestIdentityProvider();
});

after(async () => {
  await idp?.close();
});

function tokenUrl(): string {
  return `${idp.url}/${d.operatorTenantId}/oauth2/v2.0/token`;
}

/** /authorize for the console app with PKCE and the dev auto sign-in; returns the code and verifier. */
async function authorize(clientId: string, redirectUri: string, scope: string): Promise<{ code: string; verifier: string }> {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const url = new URL(`${idp.url}/${d.operatorTenantId}/oauth2/v2.0/authorize`);
  const params = { client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope, code_challenge: challenge, code_challenge_method: 'S256', state: 's', login_hint: d.users.operatorAdmin.upn, dev_password: d.users.operatorAdmin.password, response_mode: 'fragment' };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const response = await fetch(url, { redirect: 'manual' });
  assert.equal(response.status, 302, (await response.text()).slice(0, 300));
  const location = new URL(response.headers.get('location')!);
  const code = new URLSearchParams(location.hash.slice(1)).get('code');
  assert.ok(code, `no code in ${location}`);
  return { code, verifier };
}

async function redeem(form: Record<string, string>, origin: string | undefined): Promise<{ status: number; body: Record<string, unknown>; cors: string | null }> {
  const response = await fetch(tokenUrl(), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...(origin ? { origin } : {}) }, body: new URLSearchParams(form) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, cors: response.headers.get('access-control-allow-origin') };
}

const CONSOLE_SCOPE = `${d.adminConsole.scope} openid profile offline_access`;

test('a SPA code is redeemed cross-origin without a secret; the token carries the admin API audience and the user roles', async () => {
  const { code, verifier } = await authorize(d.adminConsole.clientId, REDIRECT_URI, CONSOLE_SCOPE);
  const result = await redeem({ grant_type: 'authorization_code', client_id: d.adminConsole.clientId, code, redirect_uri: REDIRECT_URI, code_verifier: verifier, scope: CONSOLE_SCOPE }, CONSOLE_ORIGIN);
  assert.equal(result.status, 200, JSON.stringify(result.body));
  assert.equal(result.cors, '*');
  const claims = claimsOf(String(result.body.access_token));
  assert.equal(claims.aud, d.adminApi.audience);
  assert.deepEqual(claims.roles, ['Connector.Admin']);
  assert.equal(claims.appidacr ?? claims.azpacr, '0', 'a public client');
  assert.ok(result.body.id_token && result.body.refresh_token);

  // The browser renews with the refresh token, cross-origin and without a secret, too.
  const renewed = await redeem({ grant_type: 'refresh_token', client_id: d.adminConsole.clientId, refresh_token: String(result.body.refresh_token), scope: CONSOLE_SCOPE }, CONSOLE_ORIGIN);
  assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
});

test('a SPA code without an Origin header is refused (AADSTS9002327), and PKCE is still required', async () => {
  const { code, verifier } = await authorize(d.adminConsole.clientId, REDIRECT_URI, CONSOLE_SCOPE);
  const noOrigin = await redeem({ grant_type: 'authorization_code', client_id: d.adminConsole.clientId, code, redirect_uri: REDIRECT_URI, code_verifier: verifier }, undefined);
  assert.equal(noOrigin.status, 400);
  assert.match(String(noOrigin.body.error_description), /AADSTS9002327/);
  const second = await authorize(d.adminConsole.clientId, REDIRECT_URI, CONSOLE_SCOPE);
  const wrongVerifier = await redeem({ grant_type: 'authorization_code', client_id: d.adminConsole.clientId, code: second.code, redirect_uri: REDIRECT_URI, code_verifier: 'x'.repeat(43) }, CONSOLE_ORIGIN);
  assert.equal(wrongVerifier.status, 400);
});

test('attacker: a confidential client\'s code cannot be redeemed cross-origin, nor its refresh token without the secret', async () => {
  const redirect = 'http://localhost:7071/api/consent/signin/callback';
  const { code, verifier } = await authorize(d.connectorApp.clientId, redirect, 'https://graph.microsoft.com/User.Read openid offline_access');
  const fromBrowser = await redeem({ grant_type: 'authorization_code', client_id: d.connectorApp.clientId, code, redirect_uri: redirect, code_verifier: verifier }, 'https://evil.example');
  assert.equal(fromBrowser.status, 400);
  assert.match(String(fromBrowser.body.error_description), /AADSTS9002326/);
  const fromServer = await redeem({ grant_type: 'authorization_code', client_id: d.connectorApp.clientId, client_secret: d.connectorApp.clientSecret, code, redirect_uri: redirect, code_verifier: verifier }, undefined);
  assert.equal(fromServer.status, 200, JSON.stringify(fromServer.body));
  const publicRefresh = await redeem({ grant_type: 'refresh_token', client_id: d.connectorApp.clientId, refresh_token: String(fromServer.body.refresh_token) }, 'https://evil.example');
  assert.equal(publicRefresh.status, 400, 'a confidential client\'s refresh token needs its secret');
});

test('CORS: preflight and discovery answer any origin; the control API and the login page do not', async () => {
  const preflight = await fetch(tokenUrl(), { method: 'OPTIONS', headers: { origin: CONSOLE_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
  assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
  const discovery = await fetch(`${idp.url}/${d.operatorTenantId}/v2.0/.well-known/openid-configuration`, { headers: { origin: CONSOLE_ORIGIN } });
  assert.equal(discovery.headers.get('access-control-allow-origin'), '*');
  const control = await fetch(`${idp.url}/_control/tokens`, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'application/json' }, body: '{}' });
  assert.equal(control.headers.get('access-control-allow-origin'), null);
  const login = await fetch(`${idp.url}/${d.operatorTenantId}/oauth2/v2.0/authorize?client_id=${d.adminConsole.clientId}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&response_type=code&scope=openid`, { headers: { origin: 'https://evil.example' } });
  assert.equal(login.headers.get('access-control-allow-origin'), null);
});
