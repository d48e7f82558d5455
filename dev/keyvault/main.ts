/**
 * `node dist/dev/keyvault/main.js`: the local Key Vault alone on https://localhost:8443, with
 * its state in .dev/keyvault.json. Processes that call it need NODE_EXTRA_CA_CERTS pointing at
 * .dev/certs/dev-cert.pem (printed below). Any non-empty bearer token is accepted here; the
 * full local stack (npm start) wires token verification against the local identity provider.
 */
import { join } from 'node:path';
import { devStateDir, ensureDevCertificate } from '../certs';
import { projectRoot } from '../project-paths';
import { startKeyVaultServer } from './keyvault-server';

const OPERATOR_TENANT_ID = '00000000-0000-4000-8000-000000000001';
const LOCAL_AUTHORITY_HOST = 'https://localhost:8444';
const DEFAULT_PORT = 8443;

async function main(): Promise<void> {
  const stateDir = devStateDir(projectRoot());
  const certificate = await ensureDevCertificate(join(stateDir, 'certs'));
  const server = await startKeyVaultServer({
    port: Number(process.env.KEY_VAULT_PORT ?? DEFAULT_PORT),
    tlsCertificate: certificate,
    tenantId: process.env.KEY_VAULT_TENANT_ID ?? OPERATOR_TENANT_ID,
    authorityHost: process.env.KEY_VAULT_AUTHORITY_HOST ?? LOCAL_AUTHORITY_HOST,
    persistPath: join(stateDir, 'keyvault.json'),
    onRequest: ({ method, path, status, errorCode }) => console.log(`keyvault ${method} ${path} -> ${status}${errorCode ? ` ${errorCode}` : ''}`),
  });
  console.log(`Local Key Vault listening at ${server.url} (state: ${join(stateDir, 'keyvault.json')}; trust ${certificate.certPath})`);
  const stop = (): void => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
