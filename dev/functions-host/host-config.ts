/**
 * The parts of host.json the local host honours, with the Functions host's defaults.
 * https://learn.microsoft.com/azure/azure-functions/functions-host-json
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type MessageEncoding = 'base64' | 'none';

export interface QueueHostOptions {
  readonly batchSize: number;
  readonly newBatchThreshold: number;
  readonly maxPollingIntervalInMs: number;
  /** How long a failed message stays invisible before its next attempt. */
  readonly visibilityTimeoutInMs: number;
  readonly maxDequeueCount: number;
  readonly messageEncoding: MessageEncoding;
  /**
   * How long a received message stays invisible while its function runs; renewed at half-time while
   * it runs, so only a host that died leaves it hidden, and for at most this long. Not a host.json
   * setting (the Functions host uses 10 minutes); the local host lets tests shorten it.
   */
  readonly processingLeaseInMs: number;
}

export interface HostJsonOptions {
  readonly routePrefix: string;
  readonly queues: QueueHostOptions;
  readonly functionTimeoutInMs?: number;
}

/** The Functions host keeps a message it is processing invisible for 10 minutes. */
export const DEFAULT_PROCESSING_LEASE_IN_MS = 600_000;

export class HostConfigurationError extends Error {
  readonly code = 'HostConfigurationError';
}

/**
 * A .NET TimeSpan as host.json writes it: "[d.]hh:mm:ss[.fffffff]". Returns milliseconds.
 */
export function parseTimeSpan(value: string, settingPath: string): number {
  const match = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$/.exec(value.trim());
  if (!match) throw new HostConfigurationError(`host.json ${settingPath}: '${value}' is not a TimeSpan like 00:00:10`);
  const [, days, hours, minutes, seconds, fraction] = match;
  const fractionInMs = fraction ? Number(`0.${fraction}`) * 1000 : 0;
  return ((Number(days ?? 0) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 + Number(seconds) * 1000 + fractionInMs;
}

function objectAt(value: unknown, key: string): Record<string, unknown> {
  if (value && typeof value === 'object' && key in value) {
    const child = (value as Record<string, unknown>)[key];
    if (child && typeof child === 'object') return child as Record<string, unknown>;
  }
  return {};
}

function positiveInteger(section: Record<string, unknown>, key: string, fallback: number, path: string): number {
  const value = section[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new HostConfigurationError(`host.json ${path}.${key} must be a non-negative integer`);
  }
  return value;
}

function timeSpan(section: Record<string, unknown>, key: string, fallbackInMs: number, path: string): number {
  const value = section[key];
  if (value === undefined) return fallbackInMs;
  if (typeof value !== 'string') throw new HostConfigurationError(`host.json ${path}.${key} must be a TimeSpan string`);
  return parseTimeSpan(value, `${path}.${key}`);
}

/** Reads host.json from the project root; a missing file means all defaults. */
export function readHostJson(projectRoot: string): HostJsonOptions {
  const path = join(projectRoot, 'host.json');
  const json: unknown = existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {};
  const extensions = objectAt(json, 'extensions');
  const http = objectAt(extensions, 'http');
  const queues = objectAt(extensions, 'queues');
  const routePrefix = typeof http.routePrefix === 'string' ? http.routePrefix : 'api';
  const batchSize = positiveInteger(queues, 'batchSize', 16, 'extensions.queues');
  if (batchSize < 1 || batchSize > 32) throw new HostConfigurationError('host.json extensions.queues.batchSize must be between 1 and 32');
  const encoding = queues.messageEncoding ?? 'base64';
  if (encoding !== 'base64' && encoding !== 'none') throw new HostConfigurationError("host.json extensions.queues.messageEncoding must be 'base64' or 'none'");
  const functionTimeout = (json as Record<string, unknown>).functionTimeout;
  return {
    routePrefix: routePrefix.replace(/^\/+|\/+$/g, ''),
    queues: {
      batchSize,
      newBatchThreshold: positiveInteger(queues, 'newBatchThreshold', Math.floor(batchSize / 2), 'extensions.queues'),
      maxPollingIntervalInMs: timeSpan(queues, 'maxPollingInterval', 60_000, 'extensions.queues'),
      visibilityTimeoutInMs: timeSpan(queues, 'visibilityTimeout', 0, 'extensions.queues'),
      maxDequeueCount: positiveInteger(queues, 'maxDequeueCount', 5, 'extensions.queues'),
      messageEncoding: encoding,
      processingLeaseInMs: DEFAULT_PROCESSING_LEASE_IN_MS,
    },
    ...(typeof functionTimeout === 'string' ? { functionTimeoutInMs: parseTimeSpan(functionTimeout, 'functionTimeout') } : {}),
  };
}
