/**
 * The production function files running in the local Functions host against in-memory Azurite,
 * the local Key Vault and the identity provider (and, when asked, the EWS simulator), every
 * server on a random loopback port. The admin, consent and sync suites each start one of these
 * with the functions they exercise; what differs between them is an option, not a copy.
 */
import { join } from 'node:path';
import { TableClient, TableServiceClient } from '@azure/data-tables';
import { startAzurite } from '../../dev/azurite/azurite';
import type { AzuriteInstance } from '../../dev/azurite/azurite';
import { devStateDir, ensureDevCertificate } from '../../dev/certs';
import type { EwsStore } from '../../dev/ews-simulator/model';
import { startEwsSimulator } from '../../dev/ews-simulator/server';
import type { KerberosAcceptorOptions } from '../../dev/ews-simulator/kerberos';
import type { EwsSimulator } from '../../dev/ews-simulator/server';
import { startFunctionsHost } from '../../dev/functions-host/host';
import type { FunctionsHost, StartFunctionsHostOptions } from '../../dev/functions-host/host';
import { DEMO_IDENTITY, demoIdentitySeed } from '../../dev/identity/demo-seed';
import type { DemoSeedOptions } from '../../dev/identity/demo-seed';
import { startGraphSimulator } from '../../dev/graph-simulator/server';
import type { GraphSimulator, GraphSimulatorOptions } from '../../dev/graph-simulator/server';
import { startIdentityProvider } from '../../dev/identity/server';
import type { RunningIdentityProvider } from '../../dev/identity/server';
import { startKeyVaultServer } from '../../dev/keyvault';
import type { RunningKeyVaultServer } from '../../dev/keyvault';
import { projectRoot } from '../../dev/project-paths';
import { createAppCredential } from '../../shared/auth/azure-credential';
import { SecretString } from '../../shared/logging';
import { createSecretStore } from '../../shared/secrets/secret-store';
import type { SecretStore } from '../../shared/secrets/secret-store';
import { freeLoopbackPort } from './free-port';

/** A placeholder where no test reaches the host by its public URL. */
const UNUSED_PUBLIC_BASE_URL = 'http://127.0.0.1:7071';
/** Where EWS_DEFAULT_URL points when no simulator runs (nothing calls it then). */
const EXCHANGE_ONLINE_EWS_URL = 'https://outlook.office365.com/EWS/Exchange.asmx';

export interface ConnectorStackOptions {
  /** Files under dist/functions to load, without ".js". */
  readonly functions: readonly string[];
  /** Starts the EWS simulator with this seed; EWS_DEFAULT_URL then points at it. */
  readonly ews?: {
    readonly seed: (store: EwsStore) => void;
    /** The simulator accepts Bearer tokens the identity provider signed. */
    readonly trustIdentityProvider?: boolean;
    /** The simulator accepts Negotiate/Kerberos tickets for this service principal (a KDC from dev/kerberos/kdc.ts). */
    readonly kerberos?: KerberosAcceptorOptions;
    /** Push subscriptions: milliseconds per StatusFrequency minute (tests scale it down). */
    readonly pushMinuteInMs?: number;
  };
  /** Starts the Graph simulator over the EWS simulator's store (needs `ews`); GRAPH_ENDPOINT then points at it. */
  readonly graph?: Omit<GraphSimulatorOptions, 'store' | 'identity' | 'tls' | 'seed'>;
  /** Options of the identity provider's demo seed (e.g. Contoso's admin consent). */
  readonly identitySeed?: DemoSeedOptions;
  /**
   * Picks the host's port before anything starts, so PUBLIC_BASE_URL is the host's real URL and
   * the identity provider registers the connector app's redirect URIs on it (browser flows).
   */
  readonly publicBaseUrlIsHost?: boolean;
  /** Added to (or overriding) the app settings. */
  readonly extraSettings?: Readonly<Record<string, string>>;
  /** Runs after the servers and before the Functions host loads the app (records, secrets, overrides). */
  readonly beforeHost?: (stack: ConnectorServers) => Promise<void>;
  readonly functionKeys?: StartFunctionsHostOptions['functionKeys'];
  readonly queues?: StartFunctionsHostOptions['queues'];
  /** Default 2 s. */
  readonly shutdownGracePeriodInMs?: number;
}

export interface ConnectorServers {
  readonly projectRoot: string;
  readonly idp: RunningIdentityProvider;
  readonly azurite: AzuriteInstance;
  readonly vault: RunningKeyVaultServer;
  /** Present when `ews` was given. */
  readonly ews: EwsSimulator | undefined;
  /** Present when `graph` was given. */
  readonly graph: GraphSimulator | undefined;
  /** The app settings the host runs with. */
  readonly settings: Readonly<Record<string, string>>;
  /** A SecretStore on the same vault, as the app's own identity. */
  readonly secrets: SecretStore;
}

export interface ConnectorStack extends ConnectorServers {
  readonly host: FunctionsHost;
  /** Every line the host and the functions logged. */
  readonly logs: string[];
  /** Every entity in every table, as JSON text, for leak scans. */
  dumpTables(): Promise<string>;
  /** Stops the host first (in-flight invocations finish), then every server. */
  close(): Promise<void>;
}

export async function startConnectorStack(options: ConnectorStackOptions): Promise<ConnectorStack> {
  const root = projectRoot();
  const cert = await ensureDevCertificate(join(devStateDir(root), 'certs'));
  const tls = { cert: cert.cert, key: cert.key };
  const hostPort = options.publicBaseUrlIsHost ? await freeLoopbackPort() : 0;
  const publicBaseUrl = options.publicBaseUrlIsHost ? `http://127.0.0.1:${hostPort}` : UNUSED_PUBLIC_BASE_URL;
  const identitySeed = demoIdentitySeed({ ...options.identitySeed, ...(options.publicBaseUrlIsHost ? { connectorOrigins: [publicBaseUrl] } : {}) });
  const idp = await startIdentityProvider({ port: 0, tlsCertificate: tls, seed: identitySeed });
  const azurite = await startAzurite({ inMemory: true });
  const vault = await startKeyVaultServer({ port: 0, tlsCertificate: tls, tenantId: DEMO_IDENTITY.operatorTenantId, authorityHost: idp.url });
  const ews = options.ews
    ? await startEwsSimulator({ seed: options.ews.seed, ...(options.ews.trustIdentityProvider ? { identity: { authorityHost: idp.url } } : {}), ...(options.ews.kerberos ? { kerberos: options.ews.kerberos } : {}), ...(options.ews.pushMinuteInMs ? { push: { minuteInMs: options.ews.pushMinuteInMs } } : {}) })
    : undefined;
  const graph = options.graph && ews ? await startGraphSimulator({ ...options.graph, store: ews.store, identity: { authorityHost: idp.url }, tls }) : undefined;
  const settings: Record<string, string> = {
    CONNECTOR_ENVIRONMENT: 'development',
    PUBLIC_BASE_URL: publicBaseUrl,
    AzureWebJobsStorage: azurite.connectionString,
    KEY_VAULT_URL: vault.url,
    AZURE_CLIENT_ID: DEMO_IDENTITY.appIdentity.clientId,
    AZURE_TENANT_ID: DEMO_IDENTITY.operatorTenantId,
    AZURE_CLIENT_SECRET: DEMO_IDENTITY.appIdentity.clientSecret,
    AZURE_AUTHORITY_HOST: idp.url,
    ADMIN_API_AUDIENCE: DEMO_IDENTITY.adminApi.audience,
    ADMIN_API_TENANT_ID: DEMO_IDENTITY.operatorTenantId,
    CONNECTOR_APP_CLIENT_ID: DEMO_IDENTITY.connectorApp.clientId,
    EWS_DEFAULT_URL: ews?.url ?? EXCHANGE_ONLINE_EWS_URL,
    // Tests read debug lines (per-job details) from `logs`; the host keeps them off the console.
    LOG_LEVEL: 'debug',
    // Tests change groups and sync at once: workers read them fresh (production reuses them 30 s).
    SYNC_CONFIG_CACHE_TTL_MS: '0',
    ...(graph ? { GRAPH_ENDPOINT: graph.origin } : {}),
    ...options.extraSettings,
  };
  const appCredential = createAppCredential({
    clientId: DEMO_IDENTITY.appIdentity.clientId,
    tenantId: DEMO_IDENTITY.operatorTenantId,
    clientSecret: new SecretString(DEMO_IDENTITY.appIdentity.clientSecret),
    authorityHost: idp.url,
  });
  const secrets = createSecretStore(vault.url, appCredential, { environment: 'development' });
  const servers: ConnectorServers = { projectRoot: root, idp, azurite, vault, ews, graph, settings, secrets };
  const closeServers = async (): Promise<void> => {
    await graph?.close();
    await ews?.close();
    await vault.close();
    await azurite.close();
    await idp.close();
  };

  const logs: string[] = [];
  let host: FunctionsHost;
  try {
    await options.beforeHost?.(servers);
    host = await startFunctionsHost({
      projectRoot: root,
      port: hostPort,
      settings,
      appEntryPoints: options.functions.map((name) => join(root, 'dist', 'functions', `${name}.js`)),
      log: (level, message) => logs.push(`${level} ${message}`),
      shutdownGracePeriodInMs: options.shutdownGracePeriodInMs ?? 2000,
      ...(options.functionKeys ? { functionKeys: options.functionKeys } : {}),
      ...(options.queues ? { queues: options.queues } : {}),
    });
  } catch (error) {
    // A failed start must not leave servers listening: node --test would wait on them forever.
    await closeServers();
    throw error;
  }

  return {
    ...servers,
    host,
    logs,
    dumpTables: () => dumpTables(azurite.connectionString),
    async close() {
      await host.close();
      await closeServers();
    },
  };
}

async function dumpTables(connectionString: string): Promise<string> {
  const service = TableServiceClient.fromConnectionString(connectionString, { allowInsecureConnection: true });
  const all: unknown[] = [];
  for await (const table of service.listTables()) {
    const client = TableClient.fromConnectionString(connectionString, table.name ?? '', { allowInsecureConnection: true });
    for await (const entity of client.listEntities()) all.push({ table: table.name, ...entity });
  }
  return JSON.stringify(all);
}
