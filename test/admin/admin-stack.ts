/**
 * The admin API as it really runs: the production function files loaded by the local
 * Functions host, with Azurite, the local Key Vault and the identity provider, all on random
 * loopback ports. Tests talk HTTP to it and inspect storage, the vault and the captured logs.
 */
import { join } from 'node:path';
import { TableServiceClient, TableClient } from '@azure/data-tables';
import { devStateDir, ensureDevCertificate } from '../../dev/certs';
import { startAzurite } from '../../dev/azurite/azurite';
import type { AzuriteInstance } from '../../dev/azurite/azurite';
import { startFunctionsHost } from '../../dev/functions-host/host';
import type { FunctionsHost } from '../../dev/functions-host/host';
import { DEMO_IDENTITY, demoIdentitySeed } from '../../dev/identity/demo-seed';
import { startIdentityProvider } from '../../dev/identity/server';
import type { RunningIdentityProvider } from '../../dev/identity/server';
import { startKeyVaultServer } from '../../dev/keyvault';
import type { RunningKeyVaultServer } from '../../dev/keyvault';
import { projectRoot } from '../../dev/project-paths';
import { createAppCredential } from '../../shared/auth/azure-credential';
import { SecretString } from '../../shared/logging';
import { createSecretStore } from '../../shared/secrets/secret-store';
import type { SecretStore } from '../../shared/secrets/secret-store';

export const OPERATOR_TENANT = DEMO_IDENTITY.operatorTenantId;
export const ADMIN_AUDIENCE = DEMO_IDENTITY.adminApi.audience;

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** Parsed JSON body (undefined when empty or not JSON); loosely typed because tests probe arbitrary shapes. */
  readonly body: any;
}

export interface RequestOptions {
  readonly token?: string | null;
  readonly body?: unknown;
  /** Sent as is (no JSON encoding). */
  readonly rawBody?: string | Buffer;
  readonly headers?: Record<string, string>;
}

export interface AdminStack {
  readonly host: FunctionsHost;
  readonly idp: RunningIdentityProvider;
  readonly azurite: AzuriteInstance;
  readonly vault: RunningKeyVaultServer;
  /** A SecretStore on the same vault, as the app's identity. */
  readonly secrets: SecretStore;
  /** Every line the host and the functions logged. */
  readonly logs: string[];
  readonly settings: Readonly<Record<string, string>>;
  /** Connector.Admin token (all tenants). */
  adminToken(): string;
  /** Connector.TenantAdmin token limited to `tenantIds`. */
  tenantAdminToken(tenantIds: readonly string[]): string;
  request(method: string, path: string, options?: RequestOptions): Promise<ApiResponse>;
  /** Every entity in every table, as JSON text, for leak scans. */
  dumpTables(): Promise<string>;
  close(): Promise<void>;
}

export async function startAdminStack(extraSettings: Record<string, string> = {}): Promise<AdminStack> {
  const root = projectRoot();
  const cert = await ensureDevCertificate(join(devStateDir(root), 'certs'));
  const tls = { cert: cert.cert, key: cert.key };
  const idp = await startIdentityProvider({ port: 0, tlsCertificate: tls, seed: demoIdentitySeed() });
  const azurite = await startAzurite({ inMemory: true });
  const vault = await startKeyVaultServer({ port: 0, tlsCertificate: tls, tenantId: OPERATOR_TENANT, authorityHost: idp.url });
  const settings: Record<string, string> = {
    CONNECTOR_ENVIRONMENT: 'development',
    PUBLIC_BASE_URL: 'http://127.0.0.1:7071',
    AzureWebJobsStorage: azurite.connectionString,
    KEY_VAULT_URL: vault.url,
    AZURE_CLIENT_ID: DEMO_IDENTITY.appIdentity.clientId,
    AZURE_TENANT_ID: OPERATOR_TENANT,
    AZURE_CLIENT_SECRET: DEMO_IDENTITY.appIdentity.clientSecret,
    AZURE_AUTHORITY_HOST: idp.url,
    ADMIN_API_AUDIENCE: ADMIN_AUDIENCE,
    ADMIN_API_TENANT_ID: OPERATOR_TENANT,
    CONNECTOR_APP_CLIENT_ID: DEMO_IDENTITY.connectorApp.clientId,
    EWS_DEFAULT_URL: 'https://outlook.office365.com/EWS/Exchange.asmx',
    ...extraSettings,
  };
  const logs: string[] = [];
  const entryPoints = ['admin-ping', 'admin-tenants', 'admin-groups', 'admin-mailboxes', 'openapi'].map((name) => join(root, 'dist', 'functions', `${name}.js`));
  const host = await startFunctionsHost({
    projectRoot: root,
    port: 0,
    settings,
    appEntryPoints: entryPoints,
    log: (level, message) => logs.push(`${level} ${message}`),
    shutdownGracePeriodInMs: 2000,
  });
  const secrets = createSecretStore(
    vault.url,
    createAppCredential({ clientId: settings.AZURE_CLIENT_ID!, tenantId: OPERATOR_TENANT, clientSecret: new SecretString(settings.AZURE_CLIENT_SECRET!), authorityHost: idp.url }),
    { environment: 'development' },
  );

  const mint = (roles: string[], extraClaims: Record<string, unknown> = {}, oid: string = DEMO_IDENTITY.users.operatorAdmin.objectId, name = 'Operator Admin') =>
    idp.control.issueAccessToken({ tenantId: OPERATOR_TENANT, audience: ADMIN_AUDIENCE, roles, oid, name, upn: 'admin@operator.example.com', extraClaims });

  return {
    host,
    idp,
    azurite,
    vault,
    secrets,
    logs,
    settings,
    adminToken: () => mint(['Connector.Admin']),
    tenantAdminToken: (tenantIds) => mint(['Connector.TenantAdmin'], { connector_tenants: [...tenantIds] }, DEMO_IDENTITY.users.operatorTenantAdmin.objectId, 'Tenant Admin'),
    async request(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      if (options.token !== null) headers.authorization ??= `Bearer ${options.token ?? mint(['Connector.Admin'])}`;
      let body: string | Buffer | undefined;
      if (options.rawBody !== undefined) body = options.rawBody;
      else if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers['content-type'] ??= 'application/json';
      }
      const response = await fetch(host.url + path, { method, headers, body });
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: response.status, headers: response.headers, text, body: parsed };
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
      await vault.close();
      await azurite.close();
      await idp.close();
    },
  };
}
