export * from './attributes';
export * from './metrics';
export * from './tracing';
export { activity, formatSummary } from './activity';
export { ensureTelemetryStarted, startTelemetry, telemetrySettingsFrom, resolvedExporter, type TelemetryExporter } from './setup';
