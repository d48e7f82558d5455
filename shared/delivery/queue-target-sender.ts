import type { QueueClient } from '@azure/storage-queue';
import { queueClientClass } from '../storage/queue-client-factory';
import type { TokenCredential } from '@azure/identity';
import type { ConnectorEnvironment } from '../config';
import { resolveTarget, TargetAddressError } from './address-policy';
import type { HostResolver } from './address-policy';
import { failure } from './delivery-outcome';
import { isAllowedQueueConnectionSetting } from './queue-connection-setting';
import type { DeliveryOutcome } from './delivery-outcome';
import type { ChangeBatch } from './change-batch';
import { queueMessageParts, QueueMessageTooLargeError } from './queue-message-parts';
import type { QueueMessagePart } from './queue-message-parts';

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
    // Re-checked here: groups stored before the rule existed must not keep their old reach.
    if (!isAllowedQueueConnectionSetting(target.connection)) {
      return failure('NoTarget', `The queue target names the app setting ${target.connection}; only CUSTOMER_QUEUE or CUSTOMER_QUEUE_<name> settings may be used.`);
    }
    const connectionString = (options.settings ?? process.env)[target.connection];
    if (!connectionString) return failure('NoTarget', `The app setting ${target.connection} named by the queue target is not set.`);
    return new (queueClientClass())(connectionString, target.queueName);
  }
  if (!target.accountUrl) return failure('NoTarget', 'The queue target names neither accountUrl nor connection.');
  if (!options.credential) return failure('NoTarget', 'No credential for the queue target.');
  return new (queueClientClass())(`${target.accountUrl.replace(/\/+$/, '')}/${target.queueName}`, options.credential);
}

export interface QueueSendProgress {
  /** Parts the target queue accepted so far (this attempt and earlier ones). */
  readonly partsAccepted: number;
  readonly partCount: number;
}

export type QueueDeliveryOutcome = DeliveryOutcome & QueueSendProgress;

/**
 * Sends the batch (base64 JSON, as Functions queue triggers expect) to the customer's queue, as
 * one message or, over 64 KiB, as several part messages in record order (queue-message-parts.ts).
 * Parts before `partsAlreadyAccepted` were accepted by an earlier attempt and are not sent again.
 * The queue must exist: creating resources in the customer's account is not ours to do.
 */
export async function sendToQueueTarget(
  target: QueueTarget,
  batch: ChangeBatch,
  options: QueueTargetSenderOptions & { readonly partsAlreadyAccepted?: number },
): Promise<QueueDeliveryOutcome> {
  let parts: QueueMessagePart[];
  try {
    parts = queueMessageParts(batch);
  } catch (error) {
    if (error instanceof QueueMessageTooLargeError) return { ...failure('QueueSendFailed', error.message), partsAccepted: 0, partCount: 0 };
    throw error;
  }
  const alreadyAccepted = Math.min(options.partsAlreadyAccepted ?? 0, parts.length);
  const progress = (partsAccepted: number): QueueSendProgress => ({ partsAccepted, partCount: parts.length });
  if (target.accountUrl && !target.connection) {
    try {
      await resolveTarget(target.accountUrl, options.environment, options.resolver);
    } catch (error) {
      if (error instanceof TargetAddressError) return { ...failure('TargetAddressNotAllowed', error.message), ...progress(alreadyAccepted) };
      throw error;
    }
  }
  const client = queueClientFor(target, options);
  if (!(client instanceof queueClientClass())) return { ...client, ...progress(alreadyAccepted) };
  for (let index = alreadyAccepted; index < parts.length; index++) {
    try {
      await client.sendMessage(parts[index]!.text);
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      const code = (error as { code?: string }).code;
      const which = parts.length > 1 ? ` part ${index + 1} of ${parts.length}` : ' the message';
      return {
        ...failure('QueueSendFailed', `The target queue refused${which} (${status ?? ''} ${code ?? 'network error'}).`.replace('( ', '('), status),
        ...progress(index),
      };
    }
  }
  return { ok: true, ...progress(parts.length) };
}

/**
 * Sends one small JSON event (credentialExpiring, mailboxFailing) to the customer's queue, with
 * the same address policy and credentials as change batches.
 */
export async function sendEventToQueueTarget(target: QueueTarget, event: object, options: QueueTargetSenderOptions): Promise<DeliveryOutcome> {
  if (target.accountUrl && !target.connection) {
    try {
      await resolveTarget(target.accountUrl, options.environment, options.resolver);
    } catch (error) {
      if (error instanceof TargetAddressError) return failure('TargetAddressNotAllowed', error.message);
      throw error;
    }
  }
  const client = queueClientFor(target, options);
  if (!(client instanceof queueClientClass())) return client;
  try {
    await client.sendMessage(Buffer.from(JSON.stringify(event), 'utf8').toString('base64'));
    return { ok: true };
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    return failure('QueueSendFailed', `The target queue refused the event (${status ?? 'network error'}).`, status);
  }
}
