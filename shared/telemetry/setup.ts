/**
 * Starts the OpenTelemetry SDK the settings ask for. Loaded lazily (see ensureTelemetryStarted):
 * the exporters and Azure Monitor's distro cost hundreds of milliseconds to require, so a cold
 * start serves its first invocation before paying for them.
 *
 * TELEMETRY_EXPORTER: auto (Azure Monitor when APPLICATIONINSIGHTS_CONNECTION_STRING is set, else
 * none), azureMonitor, console, otlp (OTEL_EXPORTER_OTLP_ENDPOINT), none. Tests install an
 * in-memory SDK themselves (test/support/telemetry.ts).
 */
import { context, metrics, trace } from '@opentelemetry/api';

export type TelemetryExporter = 'auto' | 'azureMonitor' | 'console' | 'otlp' | 'none';

export interface TelemetrySettings {
  readonly exporter: TelemetryExporter;
  readonly applicationInsightsConnectionString?: string;
  /** The managed identity Application Insights accepts (local auth is disabled in the Bicep). */
  readonly managedIdentityClientId?: string;
}

export function telemetrySettingsFrom(env: NodeJS.ProcessEnv = process.env): TelemetrySettings {
  const raw = (env['TELEMETRY_EXPORTER'] ?? 'auto').trim();
  const exporter = (['auto', 'azureMonitor', 'console', 'otlp', 'none'] as const).find((name) => name.toLowerCase() === raw.toLowerCase()) ?? 'auto';
  const connectionString = env['APPLICATIONINSIGHTS_CONNECTION_STRING'];
  const clientId = env['AZURE_CLIENT_ID'];
  return { exporter, ...(connectionString ? { applicationInsightsConnectionString: connectionString } : {}), ...(clientId ? { managedIdentityClientId: clientId } : {}) };
}

export function resolvedExporter(settings: TelemetrySettings): Exclude<TelemetryExporter, 'auto'> {
  if (settings.exporter !== 'auto') return settings.exporter;
  return settings.applicationInsightsConnectionString ? 'azureMonitor' : 'none';
}

let started: Exclude<TelemetryExporter, 'auto'> | undefined;

/** Starts the SDK once per process; later calls return what was started. */
export function startTelemetry(settings: TelemetrySettings = telemetrySettingsFrom()): Exclude<TelemetryExporter, 'auto'> {
  if (started) return started;
  started = resolvedExporter(settings);
  switch (started) {
    case 'azureMonitor':
      startAzureMonitor(settings);
      break;
    case 'console':
    case 'otlp':
      startStandardSdk(started);
      break;
    case 'none':
      break;
  }
  return started;
}

let scheduled = false;

/** Starts telemetry soon, off the path of the invocation that triggered it (cold start). */
export function ensureTelemetryStarted(): void {
  if (scheduled || started) return;
  scheduled = true;
  if (resolvedExporter(telemetrySettingsFrom()) === 'none') {
    started = 'none';
    return;
  }
  setImmediate(() => {
    try {
      startTelemetry();
    } catch (error) {
      console.error(`Telemetry could not start: ${(error as Error).message}`);
    }
  });
}

function startAzureMonitor(settings: TelemetrySettings): void {
  if (!settings.applicationInsightsConnectionString) throw new Error('TELEMETRY_EXPORTER azureMonitor needs APPLICATIONINSIGHTS_CONNECTION_STRING');
  // Required here, not at the top: the distro loads its exporters and instrumentations eagerly.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { useAzureMonitor } = require('@azure/monitor-opentelemetry') as typeof import('@azure/monitor-opentelemetry');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { ManagedIdentityCredential } = require('@azure/identity') as typeof import('@azure/identity');
  useAzureMonitor({
    azureMonitorExporterOptions: {
      connectionString: settings.applicationInsightsConnectionString,
      // Application Insights has local auth disabled: telemetry is sent with the app's managed identity.
      credential: new ManagedIdentityCredential(settings.managedIdentityClientId ? { clientId: settings.managedIdentityClientId } : {}),
    },
    // The Functions host records requests itself; our spans carry the queue and outbound hops.
    instrumentationOptions: { http: { enabled: true }, azureSdk: { enabled: true } },
  });
}

function startStandardSdk(exporter: 'console' | 'otlp'): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks') as typeof import('@opentelemetry/context-async-hooks');
  const tracing = require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const sdkMetrics = require('@opentelemetry/sdk-metrics') as typeof import('@opentelemetry/sdk-metrics');
  const { resourceFromAttributes } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const spanExporter =
    exporter === 'console'
      ? new tracing.ConsoleSpanExporter()
      : new (require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
  const metricExporter =
    exporter === 'console'
      ? new sdkMetrics.ConsoleMetricExporter()
      : new (require('@opentelemetry/exporter-metrics-otlp-http') as typeof import('@opentelemetry/exporter-metrics-otlp-http')).OTLPMetricExporter();
  /* eslint-enable @typescript-eslint/no-require-imports */
  const resource = resourceFromAttributes({ 'service.name': process.env['OTEL_SERVICE_NAME'] ?? 'exchange-connector' });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(new tracing.BasicTracerProvider({ resource, spanProcessors: [new tracing.BatchSpanProcessor(spanExporter)] }));
  metrics.setGlobalMeterProvider(
    new sdkMetrics.MeterProvider({ resource, readers: [new sdkMetrics.PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 })] }),
  );
}

/** Tests: forget what was started so another setting can be tried. */
export function resetTelemetryForTests(): void {
  started = undefined;
  scheduled = false;
}
