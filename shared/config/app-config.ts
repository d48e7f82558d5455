import { z } from 'zod';
import { SecretString } from '../logging/secret-string';
import { GRAPH_ENDPOINT_OF_CLOUD, graphCloud, graphEndpointProblem } from '../graph/endpoints';
import type { GraphCloud } from '../graph/endpoints';
import { ConfigurationError } from './errors';
import { MICROSOFT_CLOUD_NAMES, MICROSOFT_CLOUDS } from './microsoft-clouds';
import type { MicrosoftCloudName } from './microsoft-clouds';
import { SETTINGS } from './settings-catalogue';

export type ConnectorEnvironment = 'production' | 'development';

export type StorageConfig =
  | { readonly kind: 'connectionString'; readonly connectionString: SecretString }
  | {
      readonly kind: 'identity';
      readonly accountName: string;
      readonly tableEndpoint: string;
      readonly queueEndpoint: string;
      readonly managedIdentityClientId?: string;
    };

export interface AppConfig {
  readonly environment: ConnectorEnvironment;
  readonly publicBaseUrl: string;
  readonly storage: StorageConfig;
  readonly keyVault: { readonly url: string };
  readonly identity: {
    readonly clientId: string;
    readonly tenantId?: string;
    readonly clientSecret?: SecretString;
    readonly authorityHost: string;
  };
  readonly adminApi: { readonly audience: string; readonly tenantId: string };
  /** The web console's SPA registration; absent: the console is not configured. */
  readonly adminConsole: { readonly clientId?: string };
  readonly connectorApp: { readonly clientId: string };
  /**
   * Exchange Online in the deployment's Microsoft cloud (MICROSOFT_CLOUD): `defaultUrl` is the only
   * URL the connector app's tokens are sent to; `resource` is the audience of Exchange tokens.
   */
  readonly ews: { readonly defaultUrl: string; readonly resource: string; readonly cloud: MicrosoftCloudName };
  /** Microsoft Graph in the deployment's cloud: where requests go and the token audience (shared/graph/endpoints.ts). */
  readonly graph: GraphCloud;
  readonly sync: {
    readonly timeBudgetInMs: number;
    /** Concurrent syncs per service account / app-only application / delegated user (1-27). */
    readonly maxConcurrencyPerAccount: number;
    /** Concurrent syncs per connector tenant (1-200). */
    readonly maxConcurrencyPerTenant: number;
    /** Mailbox lease lifetime (renewed while a job runs). */
    readonly leaseDurationInMs: number;
    readonly configCacheTtlInMs: number;
    /** Base delay before a job that found its mailbox busy runs again. */
    readonly busyRetryDelayInMs: number;
  };
  readonly delivery: { readonly maxAttempts: number; readonly retryBaseDelayInSeconds: number; readonly webhookTimeoutInMs: number };
  /** Write-back: how long finished operations are kept (docs/write-back.md). */
  readonly write: { readonly operationRetentionDays: number };
  /** Change notifications (shared/notifications, docs/notifications.md). */
  readonly notifications: {
    readonly enabled: boolean;
    /** Origin of the notification callbacks, without a trailing slash. */
    readonly callbackBaseUrl: string;
    readonly safetyPollIntervalInMs: number;
    /** EWS push StatusFrequency (minutes) and the length of its minute (tests scale it with the simulator's). */
    readonly ewsStatusFrequencyInMinutes: number;
    readonly ewsMinuteInMs: number;
  };
  readonly operations: {
    readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
    readonly summaryIntervalInSeconds: number;
    readonly telemetryExporter: 'auto' | 'azureMonitor' | 'console' | 'otlp' | 'none';
    readonly persistentFailureAfterInMinutes: number;
  };
}

const httpsUrl = z.url({ protocol: /^https$/, error: 'must be an https URL' });
const anyHttpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
const nonEmpty = z.string().trim().min(1, 'must not be empty');

function defaultOf(name: string): string | undefined {
  return SETTINGS.find((s) => s.name === name)?.defaultValue;
}

const settingsSchema = z
  .object({
    CONNECTOR_ENVIRONMENT: z.enum(['production', 'development']).default('production'),
    PUBLIC_BASE_URL: anyHttpUrl,
    AzureWebJobsStorage: z.string().optional(),
    AzureWebJobsStorage__accountName: z.string().regex(/^[a-z0-9]{3,24}$/, 'must be a storage account name').optional(),
    AzureWebJobsStorage__clientId: z.string().optional(),
    AzureWebJobsStorage__tableServiceUri: httpsUrl.optional(),
    AzureWebJobsStorage__queueServiceUri: httpsUrl.optional(),
    KEY_VAULT_URL: httpsUrl,
    AZURE_CLIENT_ID: nonEmpty,
    AZURE_TENANT_ID: z.string().optional(),
    AZURE_CLIENT_SECRET: z.string().optional(),
    MICROSOFT_CLOUD: z.enum(MICROSOFT_CLOUD_NAMES, { error: `must be one of ${MICROSOFT_CLOUD_NAMES.join(', ')}` }).default('global'),
    AZURE_AUTHORITY_HOST: httpsUrl.optional(),
    // v2.0 access tokens (the admin API app sets requestedAccessTokenVersion 2) carry the client id as aud.
    ADMIN_API_AUDIENCE: z
      .string()
      .trim()
      .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, "must be the admin API app's Application (client) ID, a GUID: its v2.0 tokens carry that as aud, never the api:// identifier URI"),
    ADMIN_API_TENANT_ID: nonEmpty,
    CONNECTOR_APP_CLIENT_ID: nonEmpty,
    ADMIN_CONSOLE_CLIENT_ID: z.guid('must be a GUID (the app registration\'s client ID)').optional(),
    EWS_DEFAULT_URL: anyHttpUrl.optional(),
    GRAPH_ENDPOINT: anyHttpUrl.optional(),
    SYNC_TIME_BUDGET_MS: z.coerce.number().int().min(10_000).max(3_600_000).default(Number(defaultOf('SYNC_TIME_BUDGET_MS'))),
    // Exchange's default EWSMaxConcurrency is 27 per account: more concurrent syncs only earn ErrorExceededConnectionCount.
    SYNC_MAX_CONCURRENCY_PER_ACCOUNT: z.coerce.number().int().min(1).max(27, 'must be at most 27 (Exchange\'s default EWSMaxConcurrency per account)').default(Number(defaultOf('SYNC_MAX_CONCURRENCY_PER_ACCOUNT'))),
    // A full pool is checked slot by slot (one table request each), so the cap stays modest.
    SYNC_MAX_CONCURRENCY_PER_TENANT: z.coerce.number().int().min(1).max(200).default(Number(defaultOf('SYNC_MAX_CONCURRENCY_PER_TENANT'))),
    SYNC_CONFIG_CACHE_TTL_MS: z.coerce.number().int().min(0).max(300_000).default(Number(defaultOf('SYNC_CONFIG_CACHE_TTL_MS'))),
    SYNC_LEASE_DURATION_MS: z.coerce.number().int().min(2_000).max(600_000).default(Number(defaultOf('SYNC_LEASE_DURATION_MS'))),
    SYNC_BUSY_RETRY_DELAY_MS: z.coerce.number().int().min(100).max(300_000).default(Number(defaultOf('SYNC_BUSY_RETRY_DELAY_MS'))),
    DELIVERY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(Number(defaultOf('DELIVERY_MAX_ATTEMPTS'))),
    DELIVERY_RETRY_BASE_DELAY_SECONDS: z.coerce.number().min(0).max(3600).default(Number(defaultOf('DELIVERY_RETRY_BASE_DELAY_SECONDS'))),
    DELIVERY_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(Number(defaultOf('DELIVERY_WEBHOOK_TIMEOUT_MS'))),
    WRITE_OPERATION_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(Number(defaultOf('WRITE_OPERATION_RETENTION_DAYS'))),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    LOG_SUMMARY_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(Number(defaultOf('LOG_SUMMARY_INTERVAL_SECONDS'))),
    TELEMETRY_EXPORTER: z.enum(['auto', 'azureMonitor', 'console', 'otlp', 'none']).default('auto'),
    ALERT_PERSISTENT_FAILURE_MINUTES: z.coerce.number().int().min(10).max(10_080).default(Number(defaultOf('ALERT_PERSISTENT_FAILURE_MINUTES'))),
    NOTIFICATIONS_ENABLED: z.enum(['true', 'false'], { error: "must be 'true' or 'false'" }).default('true'),
    NOTIFICATIONS_CALLBACK_BASE_URL: anyHttpUrl.optional(),
    // Fractions of a minute let tests and benchmarks see the safety poll; production wants minutes.
    NOTIFICATIONS_SAFETY_POLL_MINUTES: z.coerce.number().min(0.05).max(1440).default(Number(defaultOf('NOTIFICATIONS_SAFETY_POLL_MINUTES'))),
    EWS_PUSH_STATUS_FREQUENCY_MINUTES: z.coerce.number().int().min(1).max(1440).default(Number(defaultOf('EWS_PUSH_STATUS_FREQUENCY_MINUTES'))),
    EWS_PUSH_MINUTE_MS: z.coerce.number().int().min(100).max(60_000).default(Number(defaultOf('EWS_PUSH_MINUTE_MS'))),
  })
  .superRefine((s, ctx) => {
    if (!s.AzureWebJobsStorage && !s.AzureWebJobsStorage__accountName) {
      ctx.addIssue({ code: 'custom', path: ['AzureWebJobsStorage__accountName'], message: 'set this (Azure) or AzureWebJobsStorage (local connection string)' });
    }
    const graphProblem = s.GRAPH_ENDPOINT === undefined ? undefined : graphEndpointProblem(s.GRAPH_ENDPOINT, s.CONNECTOR_ENVIRONMENT);
    if (graphProblem) ctx.addIssue({ code: 'custom', path: ['GRAPH_ENDPOINT'], message: graphProblem });
    if (s.AZURE_CLIENT_SECRET && !s.AZURE_TENANT_ID) {
      ctx.addIssue({ code: 'custom', path: ['AZURE_TENANT_ID'], message: 'required when AZURE_CLIENT_SECRET is set' });
    }
  });

type Settings = z.infer<typeof settingsSchema>;

function storageFrom(s: Settings): StorageConfig {
  if (s.AzureWebJobsStorage) {
    return { kind: 'connectionString', connectionString: new SecretString(s.AzureWebJobsStorage) };
  }
  const account = s.AzureWebJobsStorage__accountName ?? '';
  return {
    kind: 'identity',
    accountName: account,
    tableEndpoint: s.AzureWebJobsStorage__tableServiceUri ?? `https://${account}.table.core.windows.net`,
    queueEndpoint: s.AzureWebJobsStorage__queueServiceUri ?? `https://${account}.queue.core.windows.net`,
    managedIdentityClientId: s.AzureWebJobsStorage__clientId,
  };
}

/** Validates the settings once; throws ConfigurationError naming every setting at fault. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): AppConfig {
  // Empty strings come from blank entries in local.settings.json; they mean "not set".
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = settingsSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigurationError(
      parsed.error.issues.map((issue) => ({
        setting: String(issue.path[0] ?? '(settings)'),
        message: issue.code === 'invalid_type' && issue.input === undefined ? 'is required but not set' : issue.message,
      })),
    );
  }
  const s = parsed.data;
  const cloud = MICROSOFT_CLOUDS[s.MICROSOFT_CLOUD];
  return {
    environment: s.CONNECTOR_ENVIRONMENT,
    publicBaseUrl: s.PUBLIC_BASE_URL.replace(/\/+$/, ''),
    storage: storageFrom(s),
    keyVault: { url: s.KEY_VAULT_URL },
    identity: {
      clientId: s.AZURE_CLIENT_ID,
      tenantId: s.AZURE_TENANT_ID,
      clientSecret: s.AZURE_CLIENT_SECRET ? new SecretString(s.AZURE_CLIENT_SECRET) : undefined,
      authorityHost: (s.AZURE_AUTHORITY_HOST ?? cloud.authorityHost).replace(/\/+$/, ''),
    },
    adminApi: { audience: s.ADMIN_API_AUDIENCE, tenantId: s.ADMIN_API_TENANT_ID },
    adminConsole: s.ADMIN_CONSOLE_CLIENT_ID ? { clientId: s.ADMIN_CONSOLE_CLIENT_ID } : {},
    connectorApp: { clientId: s.CONNECTOR_APP_CLIENT_ID },
    ews: { defaultUrl: s.EWS_DEFAULT_URL ?? cloud.ewsUrl, resource: cloud.ewsResource, cloud: s.MICROSOFT_CLOUD },
    graph: graphCloud(s.GRAPH_ENDPOINT ?? GRAPH_ENDPOINT_OF_CLOUD[s.MICROSOFT_CLOUD]),
    sync: {
      timeBudgetInMs: s.SYNC_TIME_BUDGET_MS,
      maxConcurrencyPerAccount: s.SYNC_MAX_CONCURRENCY_PER_ACCOUNT,
      maxConcurrencyPerTenant: s.SYNC_MAX_CONCURRENCY_PER_TENANT,
      leaseDurationInMs: s.SYNC_LEASE_DURATION_MS,
      configCacheTtlInMs: s.SYNC_CONFIG_CACHE_TTL_MS,
      busyRetryDelayInMs: s.SYNC_BUSY_RETRY_DELAY_MS,
    },
    delivery: {
      maxAttempts: s.DELIVERY_MAX_ATTEMPTS,
      retryBaseDelayInSeconds: s.DELIVERY_RETRY_BASE_DELAY_SECONDS,
      webhookTimeoutInMs: s.DELIVERY_WEBHOOK_TIMEOUT_MS,
    },
    write: { operationRetentionDays: s.WRITE_OPERATION_RETENTION_DAYS },
    notifications: {
      enabled: s.NOTIFICATIONS_ENABLED === 'true',
      callbackBaseUrl: (s.NOTIFICATIONS_CALLBACK_BASE_URL ?? s.PUBLIC_BASE_URL).replace(/\/+$/, ''),
      safetyPollIntervalInMs: Math.round(s.NOTIFICATIONS_SAFETY_POLL_MINUTES * 60_000),
      ewsStatusFrequencyInMinutes: s.EWS_PUSH_STATUS_FREQUENCY_MINUTES,
      ewsMinuteInMs: s.EWS_PUSH_MINUTE_MS,
    },
    operations: {
      logLevel: s.LOG_LEVEL,
      summaryIntervalInSeconds: s.LOG_SUMMARY_INTERVAL_SECONDS,
      telemetryExporter: s.TELEMETRY_EXPORTER,
      persistentFailureAfterInMinutes: s.ALERT_PERSISTENT_FAILURE_MINUTES,
    },
  };
}

let cached: AppConfig | undefined;

/** The process-wide configuration, validated on first use (at app start). */
export function appConfig(): AppConfig {
  cached ??= loadConfig();
  return cached;
}

/** Tests and the local host change settings between runs. */
export function resetAppConfigForTests(): void {
  cached = undefined;
}
