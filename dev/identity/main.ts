/**
 * `node dist/dev/identity/main.js`: the identity provider alone on https://localhost:8444
 * (IDENTITY_PORT overrides), seeded with the demo identities, state kept in .dev/identity/.
 * Clients must trust .dev/certs/dev-cert.pem (NODE_EXTRA_CA_CERTS).
 */
import { join } from 'node:path';
import { devStateDir, ensureDevCertificate } from '../certs';
import { projectRoot } from '../project-paths';
import { DEMO_IDENTITY, demoIdentitySeed } from './demo-seed';
import { startIdentityProvider } from './server';

async function main(): Promise<void> {
  const state = devStateDir(projectRoot());
  const certificate = await ensureDevCertificate(join(state, 'certs'));
  const idp = await startIdentityProvider({
    port: Number(process.env.IDENTITY_PORT ?? 8444),
    tlsCertificate: certificate,
    seed: demoIdentitySeed(),
    persistPath: join(state, 'identity', 'state.json'),
  });
  const d = DEMO_IDENTITY;
  const adminToken = idp.control.issueUserAccessToken({ user: d.users.operatorAdmin.upn, audience: d.adminApi.audience, expiresInSeconds: 12 * 3600 });
  console.log(`Identity provider: ${idp.url}  (AZURE_AUTHORITY_HOST)`);
  console.log(`  trust its certificate: NODE_EXTRA_CA_CERTS=${certificate.certPath}`);
  console.log(`  operator tenant ${d.operatorTenantId}, Contoso ${d.contosoTenantId}`);
  console.log(`  control API: ${idp.url}/_control/...   state: ${join(state, 'identity', 'state.json')}`);
  console.log(`ADMIN_TOKEN=${adminToken}`);
  const stop = (): void => {
    void idp.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
