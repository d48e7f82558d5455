/**
 * Where the host's own lines go (and the functions' context.log lines, tagged with the
 * function's name), in the style of the Functions Core Tools console.
 */
import { format } from 'node:util';
import { isLevelEnabled } from '../../shared/logging/logger';

export type HostLogLevel = 'debug' | 'info' | 'warn' | 'error';

export type HostLogSink = (level: HostLogLevel, message: string) => void;

/** Honours LOG_LEVEL like the app's logger: per-invocation lines are debug, so a healthy host is calm. */
export const consoleHostLog: HostLogSink = (level, message) => {
  if (!isLevelEnabled(level)) return;
  const line = `[${new Date().toISOString()}] ${message}`;
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
};

/** Turns context.log(...args) arguments into one line as console.log would. */
export function formatLogArguments(args: readonly unknown[]): string {
  return format(...args);
}

/**
 * Outside the real Functions worker @azure/functions prints one "test mode" warning, then one
 * "Skipping call to register function" per function: expected here, where this host serves the
 * recorded registrations instead. Only those exact lines are dropped while `load` runs; every
 * other warning passes.
 */
export function withoutTestModeWarnings<T>(load: () => T): { result: T; suppressed: number } {
  const original = console.warn;
  let suppressed = 0;
  console.warn = (...args: unknown[]) => {
    const text = typeof args[0] === 'string' ? args[0] : '';
    if (args.length === 1 && isTestModeWarning(text)) {
      suppressed++;
      return;
    }
    original.apply(console, args);
  };
  try {
    return { result: load(), suppressed };
  } finally {
    console.warn = original;
  }
}

function isTestModeWarning(text: string): boolean {
  return (
    text.startsWith('WARNING: Failed to detect the Azure Functions runtime. Switching "@azure/functions" package to test mode') ||
    /^WARNING: Skipping call to (register|dispose) .* because the "@azure\/functions" package is in test mode\.$/.test(text)
  );
}
