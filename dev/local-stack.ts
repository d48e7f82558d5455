/**
 * The whole product running locally: Azurite, the identity provider, the Key Vault server, the
 * EWS simulator, the Graph simulator (same mailbox store) and the local Functions host running the app, wired together with exactly the
 * settings an Azure deployment would have, only with local URLs and credentials.
 *
 * `npm start` runs it persistent (fixed ports, state under .dev/); the end-to-end test runs it
 * ephemeral (random ports, in memory). Callers must have NODE_EXTRA_CA_CERTS pointing at the
 * dev certificate before Node starts, because the app talks HTTPS to the vault and the IdP.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startAzurite, type AzuriteInstance } from './azurite/azurite';
import { devStateDir, ensureDevCertificate, type DevCertificate } from './certs';
import { startEwsSimulator, type EwsSimulator } from './ews-simulator/server';
import { DEMO_SERVICE_ACCOUNT, demoOrganisationSeed } from './ews-simulator/seed/demo';
import type { KerberosAcceptorOptions } from './ews-simulator/kerberos';
import { kdcAvailability, startKdc, type RunningKdc } from './kerberos/kdc';
import { kerberosAvailability } from '../shared/auth/kerberos/gss-library';
import { startFunctionsHost, type FunctionsHost } from './functions-host/host';
import { startGraphSimulator, type GraphSimulator } from './graph-simulator/server';
import { ensureLocalFunctionKeys, readLocalSettings } from './functions-host/local-settings';
import { startIdentityProvider, type RunningIdentityProvider } from './identity/server';
import { DEMO_IDENTITY, demoIdentitySeed, ensureAdminConsoleRegistration } from './identity/demo-seed';
import { startKeyVaultServer, type RunningKeyVaultServer } from './keyvault/keyvault-server';
import { startWebhookReceiver, type RunningWebhookReceiver } from './webhook-receiver/receiver';
import { createAppCredential } from '../shared/auth/azure-credential';
import { loadConfig } from '../shared/config';
import { SecretString } from '../shared/logging';
import { createSecretStore, secretNames } from '../shared/secrets';

export type LocalStackMode = 'persistent' | 'ephemeral';

/** The demo tenant's alert contact: the Contoso admin, with a mailbox in the simulator. */
export const DEMO_ALERT_CONTACT = 'admin@contoso.com';

export interface LocalStackOptions {
  readonly projectRoot: string;
  readonly mode: LocalStackMode;
  /** Start the Functions host with the app (default true). */
  readonly withFunctionsHost?: boolean;
  /** Extra app settings, applied last. */
  readonly settingsOverrides?: Readonly<Record<string, string>>;
  /** Identity provider tweaks for tests, e.g. short-lived access tokens so every use refreshes them. */
  readonly identity?: { readonly accessTokenLifetimeInSeconds?: number };
  /** Function keys for an ephemeral host (persistent stacks keep theirs in .dev/functions-host). */
  readonly functionKeys?: { readonly masterKey?: string };
  readonly log?: (line: string) => void;
}

export interface LocalStack {
  readonly settings: Readonly<Record<string, string>>;
  readonly azurite: AzuriteInstance;
  readonly identity: RunningIdentityProvider;
  readonly keyVault: RunningKeyVaultServer;
  readonly ewsSimulator: EwsSimulator;
  /** Microsoft Graph stand-in over the EWS simulator's store (one mailbox, two protocols). */
  readonly graphSimulator: GraphSimulator;
  readonly functionsHost?: FunctionsHost;
  /** The customer application's stand-in: verifies signatures with any secret given to `useSigningSecret`. */
  readonly webhookReceiver: RunningWebhookReceiver;
  useSigningSecret(secret: string): void;
  /** Where local state lives (persistent mode), undefined when ephemeral. */
  readonly stateDir: string | undefined;
  /** The demo realm's MIT KDC, when krb5-kdc and the `kerberos` addon are installed; otherwise why not. */
  readonly kerberos: DemoKerberos | { readonly unavailable: string };
  /** http://localhost:PORT/api */
  readonly apiBaseUrl: string;
  /** A bearer token for the admin API (operator admin, Connector.Admin), valid for `expiresInSeconds`. */
  adminToken(expiresInSeconds?: number): string;
  close(): Promise<void>;
}

const PERSISTENT_PORTS = { functionsHost: 7071, keyVault: 8443, identity: 8444, ewsSimulator: 8445, webhookReceiver: 8446, graphSimulator: 8447 } as const;
/** The demo KDC's port under `npm start` (TCP and UDP on 127.0.0.1; 88 would need root). */
const PERSISTENT_KDC_PORT = 8488;

/** The Graph simulator's delta-token key, kept in the state dir so stored deltaLinks survive a restart. */
function persistentKey(path: string): Buffer {
  if (existsSync(path)) {
    const saved = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
    if (saved.length >= 32) return saved;
  }
  const key = randomBytes(32);
  writeFileSync(path, key.toString('base64'), { mode: 0o600 });
  return key;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The vault accepts only tokens the local IdP signed for Key Vault, as the real one does. */
function keyVaultTokenVerifier(identity: RunningIdentityProvider): (token: string) => Promise<boolean> {
  const jwks = createRemoteJWKSet(new URL(identity.jwksUri(DEMO_IDENTITY.operatorTenantId)));
  return async (token) => {
    try {
      await jwtVerify(token, jwks, { issuer: identity.issuer(DEMO_IDENTITY.operatorTenantId), audience: ['https://vault.azure.net', 'https://vault.azure.net/'] });
      return true;
    } catch {
      return false;
    }
  };
}

/**
 * What an operator does once after deploying (docs/deployment.md): put the connector app's
 * client secret into Key Vault. Done here with the app's own credential, as in Azure.
 */
async function storeConnectorAppSecret(settings: Readonly<Record<string, string>>): Promise<void> {
  const config = loadConfig(settings);
  const secrets = createSecretStore(config.keyVault.url, createAppCredential(config.identity), { environment: config.environment });
  const name = secretNames.connectorAppClientSecret();
  const current = await secrets.findSecret(name);
  if (current?.reveal() !== DEMO_IDENTITY.connectorApp.clientSecret) {
    await secrets.setSecret(name, new SecretString(DEMO_IDENTITY.connectorApp.clientSecret));
  }
}

interface Closable {
  close(): Promise<void>;
}

async function closeAll(started: readonly Closable[]): Promise<void> {
  for (const server of [...started].reverse()) {
    await server.close().catch(() => undefined);
  }
}

/**
 * The receiver prints a line per batch; an initial sync delivers dozens at once. Lines arriving
 * within two seconds of each other become one ("12 batches, 422 records for ..."); a lone batch
 * and refusals print as they are.
 */
function coalescedReceiverLines(print: (line: string) => void): (line: string) => void {
  let pending: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    const lines = pending;
    pending = [];
    timer = undefined;
    if (lines.length <= 2) return lines.forEach(print);
    const records = lines.reduce((sum, line) => sum + Number(/: (\d+) records?/.exec(line)?.[1] ?? 0), 0);
    const mailboxes = [...new Set(lines.map((line) => / for (\S+?):/.exec(line)?.[1]).filter(Boolean))];
    print(`${lines.length} batches, ${records} records for ${mailboxes.join(', ')} (signatures verified; GET /received lists them)`);
  };
  return (line) => {
    if (!line.startsWith('batch ')) return print(line);
    pending.push(line);
    clearTimeout(timer);
    timer = setTimeout(flush, 2000);
    timer.unref();
  };
}

/** What an administrator puts on a group to use the demo realm (docs/ews-client.md, "Kerberos"). */
export interface DemoKerberos {
  readonly realm: string;
  /** 127.0.0.1:PORT */
  readonly kdc: string;
  /** The EWS simulator's HTTP service principal. */
  readonly servicePrincipal: string;
  /** The demo service account's keytab (same keys as its password), for trying the keytab credential. */
  readonly serviceAccountKeytabPath: string;
}

export const DEMO_REALM = 'CONTOSO.COM';
export const DEMO_EWS_SPN = 'HTTP/mail.contoso.com';

/** Starts the demo realm's KDC like Azurite: its state in .dev/kerberos (persistent) or a temp dir. */
async function startDemoKdc(persistent: boolean, state: string): Promise<{ kdc: RunningKdc; kerberos: DemoKerberos; acceptor: KerberosAcceptorOptions } | { unavailable: string }> {
  const kdcState = kdcAvailability();
  if (!kdcState.available) return { unavailable: kdcState.reason };
  const addon = kerberosAvailability();
  if (!addon.available) return { unavailable: addon.reason };
  const serviceAccount = DEMO_SERVICE_ACCOUNT.userPrincipalName.split('@')[0]!;
  const kdc = await startKdc({
    realm: DEMO_REALM,
    principals: [
      { name: serviceAccount, password: DEMO_SERVICE_ACCOUNT.password, keytab: true },
      { name: DEMO_EWS_SPN, keytab: true },
    ],
    ...(persistent ? { stateDir: join(state, 'kerberos'), port: PERSISTENT_KDC_PORT } : {}),
  });
  return {
    kdc,
    kerberos: { realm: DEMO_REALM, kdc: kdc.address, servicePrincipal: DEMO_EWS_SPN, serviceAccountKeytabPath: kdc.keytabs[serviceAccount]! },
    acceptor: { servicePrincipal: DEMO_EWS_SPN, keytabPath: kdc.keytabs[DEMO_EWS_SPN]!, krb5ConfigPath: kdc.krb5ConfigPath },
  };
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const persistent = options.mode === 'persistent';
  const state = devStateDir(options.projectRoot);
  const log = options.log ?? (() => undefined);
  const certificate: DevCertificate = await ensureDevCertificate(join(state, 'certs'));
  const started: Closable[] = [];
  try {
    const azurite = await startAzurite(persistent ? { inMemory: false, location: join(state, 'azurite') } : { inMemory: true });
    started.push(azurite);

    const hostPort = persistent ? PERSISTENT_PORTS.functionsHost : await freePort();
    const publicBaseUrl = `http://localhost:${hostPort}`;
    const identity = await startIdentityProvider({
      port: persistent ? PERSISTENT_PORTS.identity : 0,
      tlsCertificate: certificate,
      // Contoso has consented to the connector app, so invitation emails can be sent app-only.
      seed: demoIdentitySeed({ connectorOrigins: [publicBaseUrl, `http://127.0.0.1:${hostPort}`], contosoAdminConsent: true }),
      ...(options.identity?.accessTokenLifetimeInSeconds !== undefined ? { accessTokenLifetimeInSeconds: options.identity.accessTokenLifetimeInSeconds } : {}),
      ...(persistent ? { persistPath: join(state, 'identity.json') } : {}),
    });
    started.push(identity);
    // State persisted by an older `npm start` predates the console's SPA registration.
    ensureAdminConsoleRegistration(identity.control, [publicBaseUrl, `http://127.0.0.1:${hostPort}`]);

    const keyVault = await startKeyVaultServer({
      port: persistent ? PERSISTENT_PORTS.keyVault : 0,
      tlsCertificate: certificate,
      tenantId: DEMO_IDENTITY.operatorTenantId,
      authorityHost: identity.url,
      verifyAccessToken: keyVaultTokenVerifier(identity),
      ...(persistent ? { persistPath: join(state, 'keyvault.json') } : {}),
    });
    started.push(keyVault);

    const demoKdc = await startDemoKdc(persistent, state);
    if ('kdc' in demoKdc) started.push(demoKdc.kdc);

    const demoSeed = demoOrganisationSeed();
    const ewsSimulator = await startEwsSimulator({
      // Exchange with Kerberos: tickets for HTTP/mail.contoso.com are accepted beside Basic, NTLM and Bearer.
      ...('acceptor' in demoKdc ? { kerberos: demoKdc.acceptor } : {}),
      port: persistent ? PERSISTENT_PORTS.ewsSimulator : 0,
      identity: { authorityHost: identity.url },
      seed: (store) => {
        demoSeed.apply(store);
        // Contoso's admin reads the connector's alert notices (credential expiry, failing mailboxes) here.
        store.addMailbox({ smtpAddress: DEMO_ALERT_CONTACT, displayName: 'Contoso Admin', password: 'Contoso-Admin-Pass1', entraObjectId: DEMO_IDENTITY.users.contosoAdmin.objectId });
      },
      // Kept across restarts so ids and the SyncStates the app stored stay valid.
      ...(persistent ? { persistPath: join(state, 'ews-simulator.json') } : {}),
    });
    started.push(ewsSimulator);

    const graphSimulator = await startGraphSimulator({
      port: persistent ? PERSISTENT_PORTS.graphSimulator : 0,
      tls: certificate,
      identity: { authorityHost: identity.url },
      store: ewsSimulator.store,
      ...(persistent ? { deltaTokenKey: persistentKey(join(state, 'graph-simulator-key')) } : {}),
    });
    started.push(graphSimulator);

    const signingSecrets = new Set<string>();
    const webhookReceiver = await startWebhookReceiver({
      port: persistent ? PERSISTENT_PORTS.webhookReceiver : 0,
      secret: () => [...signingSecrets],
      print: coalescedReceiverLines((line) => log(`webhook receiver: ${line}`)),
    });
    started.push(webhookReceiver);

    const base = readLocalSettings(options.projectRoot).values;
    const settings: Record<string, string> = {
      ...base,
      CONNECTOR_ENVIRONMENT: 'development',
      PUBLIC_BASE_URL: publicBaseUrl,
      AzureWebJobsStorage: azurite.connectionString,
      KEY_VAULT_URL: keyVault.url,
      AZURE_CLIENT_ID: DEMO_IDENTITY.appIdentity.clientId,
      AZURE_TENANT_ID: DEMO_IDENTITY.operatorTenantId,
      AZURE_CLIENT_SECRET: DEMO_IDENTITY.appIdentity.clientSecret,
      AZURE_AUTHORITY_HOST: identity.url,
      ADMIN_API_AUDIENCE: DEMO_IDENTITY.adminApi.audience,
      ADMIN_API_TENANT_ID: DEMO_IDENTITY.operatorTenantId,
      CONNECTOR_APP_CLIENT_ID: DEMO_IDENTITY.connectorApp.clientId,
      ADMIN_CONSOLE_CLIENT_ID: DEMO_IDENTITY.adminConsole.clientId,
      EWS_DEFAULT_URL: ewsSimulator.url,
      // Graph groups talk to the Graph simulator (same mailbox store as the EWS simulator).
      GRAPH_ENDPOINT: graphSimulator.origin,
      // The simulators push change notifications to this host.
      NOTIFICATIONS_CALLBACK_BASE_URL: publicBaseUrl,
      // `LOG_LEVEL=debug npm start` wins over local.settings.json.
      ...(process.env['LOG_LEVEL'] ? { LOG_LEVEL: process.env['LOG_LEVEL'] } : {}),
      ...options.settingsOverrides,
    };

    await storeConnectorAppSecret(settings);

    let functionsHost: FunctionsHost | undefined;
    if (options.withFunctionsHost ?? true) {
      const keys = persistent ? ensureLocalFunctionKeys(join(state, 'functions-host')).keys : options.functionKeys;
      functionsHost = await startFunctionsHost({ projectRoot: options.projectRoot, port: hostPort, settings, ...(keys ? { functionKeys: keys } : {}) });
      started.push(functionsHost);

    }

    // One line: the welcome lists the URLs a newcomer uses; Azurite's ports are only here.
    log(`Local stack up: Azurite (blob/queue/table ${[azurite.blobEndpoint, azurite.queueEndpoint, azurite.tableEndpoint].map((u) => new URL(u).port).join('/')}), identity provider, Key Vault, EWS simulator, webhook receiver${'kdc' in demoKdc ? `, Kerberos KDC (${DEMO_REALM} at ${demoKdc.kdc.address})` : ''}${functionsHost ? `, Functions host (${functionsHost.functions.length} functions)` : ''}`);
    if ('unavailable' in demoKdc) log(`Kerberos demo realm not started: ${demoKdc.unavailable}`);
    return {
      settings,
      azurite,
      identity,
      keyVault,
      ewsSimulator,
      graphSimulator,
      functionsHost,
      webhookReceiver,
      useSigningSecret: (secret) => {
        signingSecrets.add(secret);
      },
      stateDir: persistent ? state : undefined,
      kerberos: 'kerberos' in demoKdc ? demoKdc.kerberos : { unavailable: demoKdc.unavailable },
      apiBaseUrl: `${publicBaseUrl}/api`,
      adminToken: (expiresInSeconds = 12 * 3600) =>
        identity.control.issueUserAccessToken({ user: DEMO_IDENTITY.users.operatorAdmin.upn, audience: DEMO_IDENTITY.adminApi.audience, appId: DEMO_IDENTITY.adminApi.appId, expiresInSeconds }),
      close: () => closeAll(started),
    };
  } catch (error) {
    await closeAll(started);
    throw error;
  }
}
