import type { InvocationContext } from '@azure/functions';
import { redactText, redactValue } from './redaction';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Who a log line is about; every line carries it so one tenant's or invocation's lines can be found. */
export interface LogContext {
  readonly invocationId?: string;
  readonly functionName?: string;
  readonly tenantId?: string;
  readonly groupId?: string;
  readonly mailbox?: string;
  readonly [key: string]: string | undefined;
}

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger whose lines also carry `context`. */
  with(context: LogContext): Logger;
}

export type LogSink = (level: LogLevel, line: string) => void;

const LEVEL_ORDER: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

/** LOG_LEVEL (debug, info, warn, error; default info), read per line so a test or host can change it. */
export function minimumLogLevel(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const value = env['LOG_LEVEL']?.trim().toLowerCase();
  return value === 'debug' || value === 'info' || value === 'warn' || value === 'error' ? value : 'info';
}

export function isLevelEnabled(level: LogLevel, minimum: LogLevel = minimumLogLevel()): boolean {
  return LEVEL_ORDER[level] >= LEVEL_ORDER[minimum];
}

class StructuredLogger implements Logger {
  constructor(
    private readonly sink: LogSink,
    private readonly context: LogContext,
  ) {}

  debug(message: string, fields?: LogFields): void {
    this.write('debug', message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.write('info', message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.write('warn', message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.write('error', message, fields);
  }
  with(context: LogContext): Logger {
    return new StructuredLogger(this.sink, { ...this.context, ...context });
  }

  private write(level: LogLevel, message: string, fields?: LogFields): void {
    // Filtered before redaction and JSON: debug lines cost nothing when LOG_LEVEL is info.
    if (!isLevelEnabled(level)) return;
    // Redaction happens here, on every line, so no caller can forget it.
    const record = { level, msg: redactText(message), ...(redactValue(this.context) as object), ...(fields ? (redactValue(fields) as object) : {}) };
    this.sink(level, JSON.stringify(record));
  }
}

const consoleSink: LogSink = (level, line) => {
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
};

/** A logger writing JSON lines through `sink` (console by default). */
export function createLogger(context: LogContext = {}, sink: LogSink = consoleSink): Logger {
  return new StructuredLogger(sink, context);
}

/** A logger for one function invocation: lines go to the Functions host's log with the invocation's id. */
export function invocationLogger(context: InvocationContext, extra: LogContext = {}): Logger {
  const sink: LogSink = (level, line) => {
    if (level === 'error') context.error(line);
    else if (level === 'warn') context.warn(line);
    else if (level === 'debug') context.debug(line);
    else context.info(line);
  };
  return new StructuredLogger(sink, { invocationId: context.invocationId, functionName: context.functionName, ...extra });
}
