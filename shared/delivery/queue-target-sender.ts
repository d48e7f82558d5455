import { QueueClient } from '@azure/storage-queue';
import type { TokenCredential } from '@azure/identity';
import type { ConnectorEnvironment } from '../config';
import { encodeQueueMessage } from '../storage';
import { resolveTarget, TargetAddressError } from './address-policy';
import type { HostResolver } from './address-policy';
import { failure } from './delivery-outcome';
import type { DeliveryOutcome } from './delivery-outcome';
import { MAX_INLINE_MESSAGE_CHARS } from './outbox';

export interface QueueTarget {
  readonly queueName: string;
  readonly accountUrl?: string;
  /** App setting name holding a connection string (local development: Azurite). */
  readonly connection?: string;
}

export interface QueueTargetSenderOptions {
  readonly environment: ConnectorEnvironment;
  /** The app's identity: used for accountUrl targets (grant it Storage Queue Data Message Sender on the customer's queue). */
  readonly credential?: TokenCredential;
  readonly settings?: NodeJS.ProcessEnv;
  readonly resolver?: HostResolver;
}

function queueClientFor(target: QueueTarget, options: QueueTargetSenderOptions): QueueClient | DeliveryOutcome {
  if (target.connection) {
    const connectionString = (options.settings ?? process.env)[target.connection];
    if (!connectionString) return failure('NoTarget', `The app setting ${target.connection} named by the queue target is not set.`);
    return new QueueClient(connectionString, target.queueName);
  }
  if (!target.accountUrl) return failure('NoTarget', 'The queue target names neither accountUrl nor connection.');
  if (!options.credential) return failure('NoTarget', 'No credential for the queue target.');
  return new QueueClient(`${target.accountUrl.replace(/\/+$/, '')}/${target.queueName}`, options.credential);
}

/**
 * Sends the batch JSON (base64, as Functions queue triggers expect) to the customer's queue.
 * The queue must exist: creating resources in the customer's account is not ours to do.
 */
export async function sendToQueueTarget(target: QueueTarget, batchJson: string, options: QueueTargetSenderOptions): Promise<DeliveryOutcome> {
  if (target.accountUrl && !target.connection) {
    try {
      await resolveTarget(target.accountUrl, options.environment, options.resolver);
    } catch (error) {
      if (error instanceof TargetAddressError) return failure('TargetAddressNotAllowed', error.message);
      throw error;
    }
  }
  const client = queueClientFor(target, options);
  if (!(client instanceof QueueClient)) return client;
  const text = encodeQueueMessage(JSON.parse(batchJson));
  if (text.length > MAX_INLINE_MESSAGE_CHARS) return failure('QueueSendFailed', 'The batch exceeds the 64 KiB queue message limit of the target queue.');
  try {
    await client.sendMessage(text);
    return { ok: true };
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    const code = (error as { code?: string }).code;
    return failure('QueueSendFailed', `The target queue refused the message (${status ?? ''} ${code ?? 'network error'}).`.replace('( ', '('), status);
  }
}
