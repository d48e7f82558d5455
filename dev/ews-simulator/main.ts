/**
 * `npm run simulator`: the EWS simulator on its own, loaded with the Contoso demo organisation.
 *
 * Settings (environment, or --name=value arguments):
 *   EWS_SIMULATOR_PORT (8445), EWS_SIMULATOR_HOST (127.0.0.1), EWS_SIMULATOR_TLS (0; 1 = https with the dev certificate),
 *   IDENTITY_AUTHORITY_HOST (https://localhost:8444; Bearer tokens are verified against its JWKS),
 *   EWS_SIMULATOR_ITEMS_PER_FOLDER (36), EWS_SIMULATOR_VALIDATE_REQUESTS (0; 1 = schema-validate requests),
 *   EWS_SIMULATOR_STATE_FILE (empty = in memory only; a path = keep the state there across restarts),
 *   EWS_SIMULATOR_PUSH_MINUTE_MS (60000; milliseconds per minute of push StatusFrequency and retries).
 */
import { join } from 'node:path';
import { devStateDir, ensureDevCertificate } from '../certs';
import { ewsSchemaDir, projectRoot } from '../project-paths';
import { DEMO_MAILBOXES, DEMO_ORGANISATION, DEMO_SERVICE_ACCOUNT, demoOrganisationSeed } from './seed';
import { startEwsSimulator } from './server';

function setting(name: string, fallback: string): string {
  const flag = `--${name.toLowerCase().replace(/^ews_simulator_/, '').replace(/_/g, '-')}=`;
  const arg = process.argv.find((a) => a.startsWith(flag));
  return arg ? arg.slice(flag.length) : (process.env[name] ?? fallback);
}

async function main(): Promise<void> {
  const port = Number(setting('EWS_SIMULATOR_PORT', '8445'));
  const host = setting('EWS_SIMULATOR_HOST', '127.0.0.1');
  const useTls = setting('EWS_SIMULATOR_TLS', '0') === '1';
  const authorityHost = setting('IDENTITY_AUTHORITY_HOST', 'https://localhost:8444');
  const itemsPerFolder = Number(setting('EWS_SIMULATOR_ITEMS_PER_FOLDER', '36'));
  const stateFile = setting('EWS_SIMULATOR_STATE_FILE', '');
  const pushMinuteInMs = Number(setting('EWS_SIMULATOR_PUSH_MINUTE_MS', '60000'));
  const schemaDir = setting('EWS_SIMULATOR_VALIDATE_REQUESTS', '0') === '1' ? ewsSchemaDir() : undefined;
  const tls = useTls ? await ensureDevCertificate(join(devStateDir(projectRoot()), 'certs')) : undefined;
  let summary = '';
  const simulator = await startEwsSimulator({
    port,
    host,
    ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}),
    identity: { authorityHost },
    ...(schemaDir ? { validateRequests: { schemaDir } } : {}),
    ...(stateFile ? { persistPath: stateFile } : {}),
    push: { minuteInMs: pushMinuteInMs },
    seed: (store) => {
      const result = demoOrganisationSeed({ itemsPerFolder }).apply(store);
      summary = `${result.itemCount} items in ${result.mailboxes.length} mailboxes`;
    },
  });
  if (simulator.restoredFromFile) summary = `state restored from ${stateFile} (delete it to reseed)`;
  else if (stateFile) summary += `; state kept in ${stateFile}`;
  const lines = [
    `EWS simulator listening: ${simulator.url}`,
    `Control API:             ${simulator.controlUrl}  (GET ${simulator.controlUrl}/health, /requests, /counters, /faults)`,
    `Organisation:            ${DEMO_ORGANISATION.name} (${DEMO_ORGANISATION.domain}), Entra tenant ${DEMO_ORGANISATION.entraTenantId}; ${summary}`,
    '',
    'Mailboxes (Basic or NTLM with these passwords):',
    ...DEMO_MAILBOXES.map((m) => `  ${m.address.padEnd(24)} ${m.password.padEnd(16)} ${m.kind}${m.kind === 'shared' ? ' (FullAccess: alice, bob)' : ''}`),
    '',
    `Service account with ApplicationImpersonation over all Contoso mailboxes:`,
    `  ${DEMO_SERVICE_ACCOUNT.userPrincipalName}  ${DEMO_SERVICE_ACCOUNT.password}`,
    '',
    `Bearer tokens: signed by the identity provider at ${authorityHost} (keys from <authority>/<tenant>/discovery/v2.0/keys),`,
    '  aud https://outlook.office365.com, tid = the organisation tenant. App-only tokens need role full_access_as_app and the',
    '  ExchangeImpersonation header; delegated tokens need scp EWS.AccessAsUser.All. For example, with the identity provider running:',
    `  curl -s --cacert .dev/certs/dev-cert.pem ${authorityHost}/${DEMO_ORGANISATION.entraTenantId}/oauth2/v2.0/token \\`,
    "    -d grant_type=client_credentials -d client_id=c0ffee00-0000-4000-8000-00000000c0de -d client_secret=local-dev-connector-secret \\",
    "    -d scope=https://outlook.office365.com/.default     (needs Contoso's admin consent, see docs/identity.md)",
  ];
  console.log(lines.join('\n'));
  const stop = (): void => {
    simulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
