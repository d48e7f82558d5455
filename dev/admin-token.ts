/**
 * The operator admin's bearer token for the local stack: `npm start` writes one to
 * .dev/admin-token (mode 0600) as well as printing it; `npm run token` asks the running local
 * identity provider for a fresh one, prints it and rewrites the file.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { dirname, join } from 'node:path';
import { devStateDir } from './certs';
import { DEMO_IDENTITY } from './identity/demo-seed';
import { projectRoot } from './project-paths';

export const ADMIN_TOKEN_LIFETIME_IN_SECONDS = 12 * 3600;

export function adminTokenPath(root: string = projectRoot()): string {
  return join(devStateDir(root), 'admin-token');
}

export function writeAdminToken(token: string, path: string = adminTokenPath()): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
}

/** A fresh token from the identity provider `npm start` runs (its signing key is the one the app trusts). */
export async function requestAdminToken(identityUrl: string, caPem: string): Promise<string> {
  const user = encodeURIComponent(DEMO_IDENTITY.users.operatorAdmin.upn);
  const body = JSON.stringify({ audience: DEMO_IDENTITY.adminApi.audience, appId: DEMO_IDENTITY.adminApi.appId, expiresInSeconds: ADMIN_TOKEN_LIFETIME_IN_SECONDS });
  return new Promise((resolve, reject) => {
    const call = request(`${identityUrl}/_control/users/${user}/tokens`, { method: 'POST', ca: caPem, headers: { 'content-type': 'application/json' }, timeout: 5000 }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        if (response.statusCode !== 200) return reject(new Error(`the identity provider answered ${response.statusCode}: ${text.slice(0, 200)}`));
        resolve((JSON.parse(text) as { access_token: string }).access_token);
      });
    });
    call.on('timeout', () => call.destroy(new Error('the identity provider did not answer within 5 s')));
    call.on('error', reject);
    call.end(body);
  });
}

async function main(): Promise<void> {
  const root = projectRoot();
  const caPath = join(devStateDir(root), 'certs', 'dev-cert.pem');
  if (!existsSync(caPath)) throw new Error('no .dev/certs/dev-cert.pem: run `npm start` first');
  const token = await requestAdminToken(process.env['IDENTITY_URL'] ?? 'https://localhost:8444', readFileSync(caPath, 'utf8'));
  writeAdminToken(token, adminTokenPath(root));
  console.error(`Admin bearer token (operator admin, Connector.Admin, valid 12 hours), also in .dev/admin-token:`);
  console.log(token);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`npm run token failed: ${message}${/ECONNREFUSED/.test(message) ? ' (is `npm start` running? The token is signed by its identity provider.)' : ''}`);
    process.exit(1);
  });
}
