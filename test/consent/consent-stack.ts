/**
 * The consent flows as they really run: the production function files in the local Functions
 * host (on a port chosen first, so PUBLIC_BASE_URL and the registered redirect URIs match),
 * Azurite, the local Key Vault, the identity provider and the EWS simulator with the Contoso
 * demo organisation. Tests drive it over HTTP like a browser and an admin would.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import { TableClient, TableServiceClient } from '@azure/data-tables';
import { devStateDir, ensureDevCertificate } from '../../dev/certs';
import { startAzurite } from '../../dev/azurite/azurite';
import { startEwsSimulator } from '../../dev/ews-simulator/server';
import type { EwsSimulator } from '../../dev/ews-simulator/server';
import { demoOrganisationSeed } from '../../dev/ews-simulator/seed';
import { startFunctionsHost } from '../../dev/functions-host/host';
import type { FunctionsHost } from '../../dev/functions-host/host';
import { DEMO_IDENTITY, demoIdentitySeed } from '../../dev/identity/demo-seed';
import { startIdentityProvider } from '../../dev/identity/server';
import type { RunningIdentityProvider } from '../../dev/identity/server';
import { startKeyVaultServer } from '../../dev/keyvault';
import type { RunningKeyVaultServer } from '../../dev/keyvault';
import { projectRoot } from '../../dev/project-paths';
import { createAppCredential } from '../../shared/auth/azure-credential';
import { loadConfig } from '../../shared/config';
import { createConsentDependencies } from '../../shared/consent/consent-composition';
import type { ConsentDependencies } from '../../shared/consent/consent-dependencies';
import { SecretString } from '../../shared/logging';
import { createSecretStore } from '../../shared/secrets/secret-store';
import type { SecretStore } from '../../shared/secrets/secret-store';
import { secretNames } from '../../shared/secrets/secret-names';

export const d = DEMO_IDENTITY;

export interface ApiResponse {
  readonly status: number;
  readonly text: string;
  /** Parsed JSON; loosely typed because tests probe arbitrary shapes. */
  readonly body: any;
}

export interface ConsentStack {
  readonly baseUrl: string;
  readonly idp: RunningIdentityProvider;
  readonly ews: EwsSimulator;
  readonly secrets: SecretStore;
  readonly logs: string[];
  readonly settings: Readonly<Record<string, string>>;
  /** The same use cases in this process (same tables and vault): the sync engine's view. */
  readonly inProcess: ConsentDependencies;
  request(method: string, path: string, body?: unknown): Promise<ApiResponse>;
  dumpTables(): Promise<string>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const ENTRY_POINTS = [
  'admin-tenants',
  'admin-groups',
  'admin-mailboxes',
  'admin-consent',
  'admin-invitations',
  'admin-delegated-users',
  'admin-credential-status',
  'consent-admin-callback',
  'consent-signin',
];

export async function startConsentStack(): Promise<ConsentStack> {
  const root = projectRoot();
  const cert = await ensureDevCertificate(join(devStateDir(root), 'certs'));
  const tls = { cert: cert.cert, key: cert.key };
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const idp = await startIdentityProvider({ port: 0, tlsCertificate: tls, seed: demoIdentitySeed({ connectorOrigins: [baseUrl] }) });
  const azurite = await startAzurite({ inMemory: true });
  const vault: RunningKeyVaultServer = await startKeyVaultServer({ port: 0, tlsCertificate: tls, tenantId: d.operatorTenantId, authorityHost: idp.url });
  const ews = await startEwsSimulator({ identity: { authorityHost: idp.url }, seed: (store) => void demoOrganisationSeed({ itemsPerFolder: 2 }).apply(store) });
  const settings: Record<string, string> = {
    CONNECTOR_ENVIRONMENT: 'development',
    PUBLIC_BASE_URL: baseUrl,
    AzureWebJobsStorage: azurite.connectionString,
    KEY_VAULT_URL: vault.url,
    AZURE_CLIENT_ID: d.appIdentity.clientId,
    AZURE_TENANT_ID: d.operatorTenantId,
    AZURE_CLIENT_SECRET: d.appIdentity.clientSecret,
    AZURE_AUTHORITY_HOST: idp.url,
    ADMIN_API_AUDIENCE: d.adminApi.audience,
    ADMIN_API_TENANT_ID: d.operatorTenantId,
    CONNECTOR_APP_CLIENT_ID: d.connectorApp.clientId,
    EWS_DEFAULT_URL: ews.url,
  };
  const secrets = createSecretStore(
    vault.url,
    createAppCredential({ clientId: d.appIdentity.clientId, tenantId: d.operatorTenantId, clientSecret: new SecretString(d.appIdentity.clientSecret), authorityHost: idp.url }),
    { environment: 'development' },
  );
  await secrets.setSecret(secretNames.connectorAppClientSecret(), new SecretString(d.connectorApp.clientSecret), { expiresOn: new Date(Date.now() + 365 * 24 * 3600_000) });
  const logs: string[] = [];
  const host: FunctionsHost = await startFunctionsHost({
    projectRoot: root,
    port,
    settings,
    appEntryPoints: ENTRY_POINTS.map((name) => join(root, 'dist', 'functions', `${name}.js`)),
    log: (level, message) => logs.push(`${level} ${message}`),
    shutdownGracePeriodInMs: 2000,
  });
  const adminToken = idp.control.issueAccessToken({ tenantId: d.operatorTenantId, audience: d.adminApi.audience, roles: ['Connector.Admin'], oid: d.users.operatorAdmin.objectId, name: 'Operator Admin', upn: d.users.operatorAdmin.upn });
  return {
    baseUrl,
    idp,
    ews,
    secrets,
    logs,
    settings,
    inProcess: createConsentDependencies(loadConfig(settings)),
    async request(method, path, body) {
      const headers: Record<string, string> = { authorization: `Bearer ${adminToken}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(baseUrl + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: response.status, text, body: parsed };
    },
    async dumpTables() {
      const service = TableServiceClient.fromConnectionString(azurite.connectionString, { allowInsecureConnection: true });
      const all: unknown[] = [];
      for await (const table of service.listTables()) {
        const client = TableClient.fromConnectionString(azurite.connectionString, table.name ?? '', { allowInsecureConnection: true });
        for await (const entity of client.listEntities()) all.push({ table: table.name, ...entity });
      }
      return JSON.stringify(all);
    },
    async close() {
      await host.close();
      await ews.close();
      await vault.close();
      await azurite.close();
      await idp.close();
    },
  };
}

/** The stable result code the HTML result pages carry. */
export function resultCode(html: string): string | undefined {
  return /data-result-code="([^"]+)"/.exec(html)?.[1];
}
