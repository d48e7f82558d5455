import { writeAdminToken } from './admin-token';
import type { DemoOrganisation } from './demo-organisation';
import { DEMO_MAILBOXES, DEMO_SERVICE_ACCOUNT } from './ews-simulator/seed/demo';
import { DEMO_IDENTITY } from './identity/demo-seed';
import type { LocalStack } from './local-stack';

/**
 * What a newcomer needs after `npm start`: where everything is and a token to try it with. Kept
 * short (the whole start stays under 40 lines before the first sync summary); the token is
 * also written to .dev/admin-token, and `npm run token` prints a fresh one.
 */
export function printWelcome(stack: LocalStack, demo: DemoOrganisation): void {
  const api = stack.apiBaseUrl;
  const token = stack.adminToken();
  if (stack.stateDir) writeAdminToken(token);
  const test = demo.connectionTest;
  const failedSteps = test?.steps.filter((s) => s.status === 'failed').map((s) => `${s.name}: ${s.message}`) ?? [];
  const lines = [
    '',
    'Exchange Connector is running locally.',
    `  Admin console ${api}/admin/  (sign in as ${DEMO_IDENTITY.users.operatorAdmin.upn} / ${DEMO_IDENTITY.users.operatorAdmin.password}; first accept the local certificate at ${stack.identity.url})`,
    `  API           ${api}/health, ${api}/openapi.json, ${api}/admin/... (Bearer $ADMIN_TOKEN)`,
    `  Identity      ${stack.identity.url} (operator tenant ${DEMO_IDENTITY.operatorTenantId})   Key Vault ${stack.keyVault.url}`,
    `  EWS           ${stack.ewsSimulator.url} (control ${stack.ewsSimulator.controlUrl})   Receiver ${stack.webhookReceiver.url}`,
    `  Graph         ${stack.graphSimulator.url} (control ${stack.graphSimulator.controlUrl}; same mailboxes as EWS)`,
    `  Demo tenant   ${demo.tenantId} (Contoso; IDs in .dev/demo-organisation.json)`,
    `  Groups        ${demo.groupId} (impersonation as ${DEMO_SERVICE_ACCOUNT.userPrincipalName}), ${demo.delegatedGroupId} (delegated: docs/consent.md)`,
    `  Mailboxes     ${DEMO_MAILBOXES.map((m) => `${m.address} / ${m.password}`).join(', ')}`,
    `  Connection test ${test ? test.outcome : 'not run'}${failedSteps.length ? `: ${failedSteps.join('; ')}` : ''}`,
    '',
    `export ADMIN_TOKEN=${token}`,
    `  (operator admin, valid 12 hours; also in .dev/admin-token: export ADMIN_TOKEN=$(cat .dev/admin-token); npm run token prints a fresh one)`,
    'The first sync starts on the next minute; a summary line follows. LOG_LEVEL=debug npm start shows every invocation. Ctrl+C stops everything.',
  ];
  console.log(lines.join('\n'));
}
