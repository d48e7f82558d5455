import { currentTraceCarrier } from '../telemetry/tracing';
import type { QueueClient } from '@azure/storage-queue';

/** @azure/storage-queue (~70 modules with storage-common) is required when the first client is made, not at start-up (cold start). */
export function queueClientClass(): typeof QueueClient {
  return (require('@azure/storage-queue') as typeof import('@azure/storage-queue')).QueueClient;
}
import type { TokenCredential } from '@azure/identity';
import type { StorageConfig } from '../config';

/**
 * A QueueClient from configuration: connection string locally (Azurite), the account's
 * queue endpoint plus the app's managed identity in Azure. Queue names: 3-63 chars of
 * lower-case letters, digits and single hyphens.
 */
export function createQueueClient(storage: StorageConfig, queueName: string, credential?: TokenCredential): QueueClient {
  if (!/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(queueName)) throw new RangeError(`'${queueName}' is not a valid queue name`);
  if (storage.kind === 'connectionString') {
    return new (queueClientClass())(storage.connectionString.reveal(), queueName);
  }
  if (!credential) throw new Error('A TokenCredential is required for identity-based queue storage');
  return new (queueClientClass())(`${storage.queueEndpoint.replace(/\/+$/, '')}/${queueName}`, credential);
}

/**
 * Functions queue triggers expect base64 message text by default (host.json messageEncoding
 * "base64"); the trigger then parses JSON into an object for the handler.
 */
export function encodeQueueMessage(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64');
}

export function decodeQueueMessage(text: string): unknown {
  return JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
}

export interface SendQueueMessageOptions {
  /** Delay before the message becomes visible (0..7 days). */
  readonly visibilityTimeoutInSeconds?: number;
  readonly timeToLiveInSeconds?: number;
}

const MAX_QUEUE_MESSAGE_CHARS = 64 * 1024;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sends `value` as a base64 JSON message, creating the queue on first use. */
/**
 * The message text for `value`. Our own queues' messages are JSON objects whose readers ignore
 * unknown fields: the W3C trace context rides along so the function taking the message continues
 * the sender's trace. A message that fits only without its trace context goes without it: the
 * trace breaks, nothing is lost.
 */
export function encodeTracedQueueMessage(value: unknown): string {
  const traced = isPlainObject(value) ? encodeQueueMessage({ ...value, ...currentTraceCarrier() }) : undefined;
  return traced !== undefined && traced.length <= MAX_QUEUE_MESSAGE_CHARS ? traced : encodeQueueMessage(value);
}

export function sendQueueMessage(client: QueueClient, value: unknown, options: SendQueueMessageOptions = {}): Promise<string> {
  return sendEncodedQueueMessage(client, encodeTracedQueueMessage(value), options);
}

/** Sends text already made by encodeTracedQueueMessage (a caller that measured it need not serialise twice). */
export async function sendEncodedQueueMessage(client: QueueClient, text: string, options: SendQueueMessageOptions = {}): Promise<string> {
  // Queue messages are capped at 64 KiB of (base64) text.
  if (text.length > MAX_QUEUE_MESSAGE_CHARS) throw new RangeError('queue message exceeds 64 KiB once encoded');
  const send = () =>
    client.sendMessage(text, {
      ...(options.visibilityTimeoutInSeconds !== undefined ? { visibilityTimeout: options.visibilityTimeoutInSeconds } : {}),
      ...(options.timeToLiveInSeconds !== undefined ? { messageTimeToLive: options.timeToLiveInSeconds } : {}),
    });
  try {
    return (await send()).messageId;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    await client.createIfNotExists();
    return (await send()).messageId;
  }
}
