/**
 * Where the host's own lines go (and the functions' context.log lines, tagged with the
 * function's name), in the style of the Functions Core Tools console.
 */
import { format } from 'node:util';

export type HostLogLevel = 'debug' | 'info' | 'warn' | 'error';

export type HostLogSink = (level: HostLogLevel, message: string) => void;

export const consoleHostLog: HostLogSink = (level, message) => {
  const line = `[${new Date().toISOString()}] ${message}`;
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
};

/** Turns context.log(...args) arguments into one line as console.log would. */
export function formatLogArguments(args: readonly unknown[]): string {
  return format(...args);
}
