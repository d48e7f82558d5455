/**
 * Tokens for Graph from the local identity provider, the way the connector gets them: MSAL client
 * credentials with https://graph.microsoft.com/.default carry the consented application
 * permissions as roles, and the Graph simulator accepts them; a token without roles gets 403.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ConfidentialClientApplication } from '@azure/msal-node';
import { DEMO_IDENTITY } from '../../dev/identity';
import { claimsOf } from '../identity/identity-fixture';
import { graphCall, startGraphFixture, type GraphFixture } from './fixture';

const d = DEMO_IDENTITY;
let f: GraphFixture;
before(async () => {
  f = await startGraphFixture();
});
after(async () => {
  await f.close();
});

async function clientCredentialsToken(): Promise<string> {
  const app = new ConfidentialClientApplication({
    auth: { clientId: d.connectorApp.clientId, clientSecret: d.connectorApp.clientSecret, authority: `${f.idp.url}/${d.contosoTenantId}`, knownAuthorities: [new URL(f.idp.url).host] },
  });
  const result = await app.acquireTokenByClientCredential({ scopes: ['https://graph.microsoft.com/.default'] });
  return result!.accessToken;
}

test('a Graph token without roles (no application permission consented) gets 403 ErrorAccessDenied', async () => {
  const response = await graphCall<{ error: { code: string } }>(f.graph, f.appToken([]), '/users/alice@contoso.com/mailFolders');
  assert.equal(response.status, 403);
  assert.equal(response.body.error.code, 'ErrorAccessDenied');
});

test('after admin consent, MSAL client credentials give roles that the Graph simulator accepts', async () => {
  f.idp.control.grantAdminConsent(d.contosoTenantId, d.connectorApp.clientId);
  const token = await clientCredentialsToken();
  const claims = claimsOf(token);
  assert.equal(claims.aud, 'https://graph.microsoft.com');
  assert.deepEqual([...(claims.roles as string[])].sort(), ['Calendars.ReadWrite', 'Contacts.ReadWrite', 'Mail.ReadWrite', 'Mail.Send', 'Tasks.ReadWrite.All']);
  const response = await graphCall(f.graph, token, '/users/alice@contoso.com/mailFolders/inbox/messages/delta');
  assert.equal(response.status, 200);
});
