export { SecretString, REDACTED_TEXT } from './secret-string';
export { redactText, redactValue } from './redaction';
export { createLogger, invocationLogger, isLevelEnabled, minimumLogLevel } from './logger';
export type { Logger, LogContext, LogFields, LogLevel, LogSink } from './logger';
