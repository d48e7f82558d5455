/**
 * Every app setting the product reads, described once. The configuration module validates
 * against this catalogue, the README and local.settings.example.json document it, and the
 * infrastructure test checks that the Bicep sets every setting marked `requiredInAzure`.
 */
export type SettingGroup = 'runtime' | 'storage' | 'keyVault' | 'identity' | 'adminApi' | 'ews' | 'graph' | 'sync' | 'delivery' | 'consent' | 'operations';

export interface SettingDescription {
  readonly name: string;
  readonly group: SettingGroup;
  readonly description: string;
  /** The Bicep must set it on the Function App. */
  readonly requiredInAzure: boolean;
  /** The value local.settings.example.json carries (the local stack's value). */
  readonly localExample?: string;
  readonly defaultValue?: string;
}

export const SETTINGS: readonly SettingDescription[] = [
  { name: 'CONNECTOR_ENVIRONMENT', group: 'runtime', requiredInAzure: true, defaultValue: 'production', localExample: 'development',
    description: "'production' or 'development'. Development allows plain-http loopback EWS URLs and webhook targets on loopback; nothing else changes." },
  { name: 'PUBLIC_BASE_URL', group: 'runtime', requiredInAzure: true, localExample: 'http://localhost:7071',
    description: 'The public https origin of the Function App; consent callbacks and invitation links are built from it.' },
  { name: 'AzureWebJobsStorage', group: 'storage', requiredInAzure: false,
    localExample: 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;',
    description: 'Storage connection string (local development with Azurite only). In Azure the identity-based AzureWebJobsStorage__* settings are used instead.' },
  { name: 'AzureWebJobsStorage__accountName', group: 'storage', requiredInAzure: true,
    description: 'Storage account name for identity-based connections (Azure). Used when AzureWebJobsStorage is not set.' },
  { name: 'AzureWebJobsStorage__credential', group: 'storage', requiredInAzure: true,
    description: "'managedidentity' in Azure, so the Functions host and the app use the managed identity for storage." },
  { name: 'AzureWebJobsStorage__clientId', group: 'storage', requiredInAzure: true,
    description: 'Client ID of the user-assigned managed identity the Functions host uses for storage.' },
  { name: 'KEY_VAULT_URL', group: 'keyVault', requiredInAzure: true, localExample: 'https://localhost:8443',
    description: 'Key Vault URL. The only place secrets are kept.' },
  { name: 'AZURE_CLIENT_ID', group: 'identity', requiredInAzure: true, localExample: 'c0ffee00-0000-4000-8000-00000000a99a',
    description: "Client ID of the app's own identity: the user-assigned managed identity in Azure, the local stack's service principal locally." },
  { name: 'AZURE_TENANT_ID', group: 'identity', requiredInAzure: false, localExample: '00000000-0000-4000-8000-000000000001',
    description: "Tenant of the app's own identity when it signs in with a client secret (local development only)." },
  { name: 'AZURE_CLIENT_SECRET', group: 'identity', requiredInAzure: false, localExample: 'local-dev-app-secret',
    description: "Client secret of the app's own identity (local development only; in Azure the managed identity needs none)." },
  { name: 'MICROSOFT_CLOUD', group: 'identity', requiredInAzure: false, defaultValue: 'global',
    description: "The Microsoft cloud the deployment serves, from a fixed list (shared/config/microsoft-clouds.ts): global, usGovernment (GCC High), usGovernmentDoD, china. It gives the defaults of AZURE_AUTHORITY_HOST and EWS_DEFAULT_URL and the resource of Exchange tokens." },
  { name: 'AZURE_AUTHORITY_HOST', group: 'identity', requiredInAzure: false, defaultValue: 'https://login.microsoftonline.com', localExample: 'https://localhost:8444',
    description: "Entra authority host for every token the app requests or validates. Default: the MICROSOFT_CLOUD's (login.microsoftonline.com for global)." },
  { name: 'ADMIN_API_AUDIENCE', group: 'adminApi', requiredInAzure: true, localExample: 'c0ffee00-0000-4000-8000-00000000ad01',
    description: "Application (client) ID of the admin API app registration: the `aud` of its v2.0 access tokens (the app sets requestedAccessTokenVersion 2; clients still ask for api://exchange-connector/.default). Not the api:// URI, which Entra never puts in a v2.0 token's aud." },
  { name: 'ADMIN_API_TENANT_ID', group: 'adminApi', requiredInAzure: true, localExample: '00000000-0000-4000-8000-000000000001',
    description: "Entra tenant that issues admin tokens (the operator's tenant, where the admin app roles are assigned)." },
  { name: 'ADMIN_CONSOLE_CLIENT_ID', group: 'adminApi', requiredInAzure: false, localExample: 'c0ffee00-0000-4000-8000-00000000c051',
    description: 'Client ID the admin console signs in as: the admin API app registration, with <PUBLIC_BASE_URL>/api/admin/ as a single-page application redirect URI (docs/deployment.md). Unset: /api/admin/ says the console is not configured.' },
  { name: 'CONNECTOR_APP_CLIENT_ID', group: 'consent', requiredInAzure: true, localExample: 'c0ffee00-0000-4000-8000-00000000c0de',
    description: "Client ID of the product's multi-tenant Entra app used for admin consent and per-user sign-in. Its secret lives in Key Vault." },
  { name: 'EWS_DEFAULT_URL', group: 'ews', requiredInAzure: false, defaultValue: 'https://outlook.office365.com/EWS/Exchange.asmx', localExample: 'http://127.0.0.1:8445/EWS/Exchange.asmx',
    description: "Exchange Online's EWS endpoint in the MICROSOFT_CLOUD (default: that cloud's). The only URL the connector app's own tokens (delegated groups, invitation and re-authentication emails) are ever sent to; also the default for app-only groups that name no ewsUrl. Operator-controlled: no tenant setting can change where those tokens go." },
  { name: 'GRAPH_ENDPOINT', group: 'graph', requiredInAzure: false, localExample: 'https://localhost:8447',
    description: "Microsoft Graph endpoint for groups with protocol 'graph' (default: the MICROSOFT_CLOUD's: https://graph.microsoft.com, https://graph.microsoft.us, https://dod-graph.microsoft.us or https://microsoftgraph.chinacloudapi.cn). Only Microsoft's Graph endpoints are accepted (in development also the local Graph simulator on loopback); operator-controlled, so the app's tokens go nowhere else. Tokens are requested for that cloud's Graph audience." },
  { name: 'SYNC_TIME_BUDGET_MS', group: 'sync', requiredInAzure: false, defaultValue: '240000',
    description: 'How long one sync invocation works before it enqueues a continuation.' },
  { name: 'SYNC_MAX_CONCURRENCY_PER_ACCOUNT', group: 'sync', requiredInAzure: false, defaultValue: '10',
    description: "Concurrent mailbox syncs per service account, app-only application or delegated user (1-27). Exchange throttles each account at EWSMaxConcurrency, 27 by default; above that its requests fail with ErrorExceededConnectionCount, and the customer's other EWS clients share the same budget, so leave headroom." },
  { name: 'SYNC_MAX_CONCURRENCY_PER_TENANT', group: 'sync', requiredInAzure: false, defaultValue: '20',
    description: 'Concurrent mailbox syncs per connector tenant, across all its groups (1-200). A job finding no free slot is re-queued after SYNC_BUSY_RETRY_DELAY_MS (2-4 s by default).' },
  { name: 'SYNC_CONFIG_CACHE_TTL_MS', group: 'sync', requiredInAzure: false, defaultValue: '30000',
    description: 'How long a sync worker reuses a tenant or group it has read (0-300,000): two Table reads fewer per job at scale. A change to a group (disabled, protocol switched) reaches running workers within this time.' },
  { name: 'SYNC_LEASE_DURATION_MS', group: 'sync', requiredInAzure: false, defaultValue: '120000',
    description: 'Lifetime of the mailbox lease a sync job holds (renewed while it runs; 2,000-600,000). After a worker crash the mailbox waits this long before another worker may sync it.' },
  { name: 'SYNC_BUSY_RETRY_DELAY_MS', group: 'sync', requiredInAzure: false, defaultValue: '2000',
    description: 'Delay (plus up to as much again in jitter) before a job that found its mailbox leased or no concurrency slot free runs again (100-300,000). A slot frees within about one job’s duration, so a short delay wastes little and keeps a tick from stretching (docs/sync.md).' },
  { name: 'DELIVERY_MAX_ATTEMPTS', group: 'delivery', requiredInAzure: false, defaultValue: '8',
    description: 'Delivery attempts per change batch (the first included) before it is dead-lettered.' },
  { name: 'DELIVERY_RETRY_BASE_DELAY_SECONDS', group: 'delivery', requiredInAzure: false, defaultValue: '30',
    description: 'Delay before the first retry; doubles per attempt (with jitter), capped at one hour.' },
  { name: 'DELIVERY_WEBHOOK_TIMEOUT_MS', group: 'delivery', requiredInAzure: false, defaultValue: '10000',
    description: 'How long a webhook receiver has to answer a delivery.' },
  { name: 'WRITE_OPERATION_RETENTION_DAYS', group: 'operations', requiredInAzure: false, defaultValue: '30',
    description: 'Days a finished write operation (its status, its idempotency key and its echo rows) is kept after it finished (1-3,650); the daily write-operations-cleanup timer removes older ones. The same idempotency key sent after that is a new operation. External id mappings are kept while the group exists (docs/write-back.md).' },
  { name: 'LOG_LEVEL', group: 'operations', requiredInAzure: false, defaultValue: 'info', localExample: 'info',
    description: "debug, info, warn or error. At info a healthy app logs one line per admin change, initial-sync progress and a periodic summary; per-invocation and per-job details are at debug." },
  { name: 'LOG_SUMMARY_INTERVAL_SECONDS', group: 'operations', requiredInAzure: false, defaultValue: '60',
    description: 'Seconds between the summary lines (mailboxes synced, items, batches delivered, failures) each instance logs while there is activity; 0 turns them off.' },
  { name: 'TELEMETRY_EXPORTER', group: 'operations', requiredInAzure: false, defaultValue: 'auto',
    description: "Where metrics and traces go: auto (Application Insights when APPLICATIONINSIGHTS_CONNECTION_STRING is set, else nowhere), azureMonitor, console, otlp (OTEL_EXPORTER_OTLP_ENDPOINT), none. docs/operations.md." },
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', group: 'operations', requiredInAzure: true,
    description: 'Application Insights connection string (set by the Bicep). Telemetry is sent with the managed identity (AZURE_CLIENT_ID): the resource has local authentication disabled.' },
  { name: 'ALERT_PERSISTENT_FAILURE_MINUTES', group: 'operations', requiredInAzure: false, defaultValue: '240',
    description: "A mailbox failing to sync for longer than this gets a notice to the tenant's alert contacts and an event to its group's delivery target (10-10080)." },
  { name: 'NOTIFICATIONS_ENABLED', group: 'sync', requiredInAzure: false, defaultValue: 'true',
    description: "Change notifications (Graph change notifications, EWS push): 'true' subscribes every synced folder so new mail is synced within seconds, with polling kept as the safety net; 'false' polls only (docs/notifications.md)." },
  { name: 'NOTIFICATIONS_CALLBACK_BASE_URL', group: 'sync', requiredInAzure: false,
    description: 'Public origin Exchange calls back with notifications (https in production; Graph refuses http). Default: PUBLIC_BASE_URL. Locally the simulators call the local functions host.' },
  { name: 'NOTIFICATIONS_SAFETY_POLL_MINUTES', group: 'sync', requiredInAzure: false, defaultValue: '15',
    description: "With healthy notifications a mailbox is polled only this often (1-1440) as a safety net; a mailbox whose notifications fail, renew or are unsupported falls back to its group's poll interval at once." },
  { name: 'EWS_PUSH_STATUS_FREQUENCY_MINUTES', group: 'sync', requiredInAzure: false, defaultValue: '5',
    description: 'EWS push: StatusFrequency asked of Exchange (1-1440 minutes): an idle subscription gets a keep-alive this often, and one silent for twice as long (plus a minute) counts as lost and is subscribed again from its watermark. Exchange also drops a subscription whose callback failed this long.' },
  { name: 'EWS_PUSH_MINUTE_MS', group: 'sync', requiredInAzure: false, defaultValue: '60000',
    description: "Length of one StatusFrequency minute on the connector's clock, for tests against the EWS simulator with a scaled minute (its EWS_SIMULATOR_PUSH_MINUTE_MS). Leave at 60000 in production." },
];
