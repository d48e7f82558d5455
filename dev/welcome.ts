import type { DemoOrganisation } from './demo-organisation';
import { DEMO_MAILBOXES, DEMO_SERVICE_ACCOUNT } from './ews-simulator/seed/demo';
import { DEMO_IDENTITY } from './identity/demo-seed';
import type { LocalStack } from './local-stack';

/** What a newcomer needs after `npm start`: where everything is and a token to try it with. */
export function printWelcome(stack: LocalStack, demo: DemoOrganisation): void {
  const api = stack.apiBaseUrl;
  const lines = [
    '',
    'Exchange Connector is running locally.',
    '',
    `  Health        curl ${api}/health`,
    `  Admin ping    curl -H "Authorization: Bearer $ADMIN_TOKEN" ${api}/admin/ping`,
    `  OpenAPI       ${api}/openapi.json`,
    `  Identity      ${stack.identity.url}  (Entra stand-in; operator tenant ${DEMO_IDENTITY.operatorTenantId})`,
    `  Key Vault     ${stack.keyVault.url}`,
    `  EWS           ${stack.ewsSimulator.url}  (control API ${stack.ewsSimulator.controlUrl})`,
    `  Graph         ${stack.graphSimulator.url}  (control API ${stack.graphSimulator.controlUrl}; same mailboxes as EWS)`,
    '',
    `  Demo tenant   ${demo.tenantId} (Contoso), group ${demo.groupId} (impersonation over NTLM as ${DEMO_SERVICE_ACCOUNT.userPrincipalName})`,
    `  Mailboxes     ${DEMO_MAILBOXES.map((m) => `${m.address} / ${m.password}`).join(', ')}`,
    `  Delegated     group ${demo.delegatedGroupId}: invite alice@contoso.com and let her sign in (docs/consent.md)`,
    `  Connection test: ${demo.connectionTest ? `${demo.connectionTest.outcome} (${demo.connectionTest.steps.map((s) => `${s.name} ${s.status}`).join(', ')})` : 'not run'}`,
    '',
    'Admin bearer token (operator admin, Connector.Admin, valid 12 hours):',
    '',
    `export ADMIN_TOKEN=${stack.adminToken()}`,
    '',
    'Ctrl+C stops everything.',
  ];
  console.log(lines.join('\n'));
}
