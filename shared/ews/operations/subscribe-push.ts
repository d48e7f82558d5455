/**
 * Subscribe (PushSubscriptionRequest): Exchange POSTs SendNotification to the callback URL on
 * every change of the folders and a StatusEvent every `statusFrequencyInMinutes` when nothing
 * happened. Lean SOAP path (request-builder / response-reader) through the client's postSoap, so
 * authentication, impersonation and typed errors are the same as for sync.
 */
import { responseCodeError } from '../error-classifier';
import { EwsConfigurationError, EwsProtocolError } from '../errors';
import type { MailboxClient } from '../mailbox-client';
import { subscribePushRequest } from '../soap/request-builder';
import { responseMessages } from '../soap/response-reader';
import { childText, readXml, XmlReadError } from '../soap/xml-reader';
import type { FolderRef } from '../types';
import type { SecretString } from '../../logging';

/** Every item event: the sync reads what changed, so any of them is a reason to sync. */
export const PUSH_EVENT_TYPES = ['NewMailEvent', 'CreatedEvent', 'DeletedEvent', 'ModifiedEvent', 'MovedEvent', 'CopiedEvent'] as const;

export interface PushSubscriptionOptions {
  readonly folders: readonly FolderRef[];
  /** 1..1440 minutes (Exchange's range). */
  readonly statusFrequencyInMinutes: number;
  /** The callback URL with its token: a secret, written only into the request body. */
  readonly callbackUrl: SecretString;
  /** Continue where an earlier subscription stopped (ErrorInvalidWatermark / ErrorExpiredSubscription if Exchange no longer has it). */
  readonly watermark?: string;
}

export interface PushSubscription {
  readonly subscriptionId: string;
  readonly watermark: string;
}

export async function subscribePush(client: MailboxClient, options: PushSubscriptionOptions): Promise<PushSubscription> {
  const frequency = options.statusFrequencyInMinutes;
  if (!Number.isInteger(frequency) || frequency < 1 || frequency > 1440) throw new EwsConfigurationError('InvalidArgument', 'statusFrequencyInMinutes must be an integer from 1 to 1440.');
  if (options.folders.length === 0) throw new EwsConfigurationError('InvalidArgument', 'A push subscription needs at least one folder.');
  const operation = 'Subscribe';
  const xml = await client.postSoap(operation, (context) =>
    subscribePushRequest(context, { folders: options.folders, eventTypes: PUSH_EVENT_TYPES, watermark: options.watermark, statusFrequencyInMinutes: frequency, url: options.callbackUrl.reveal() }),
  );
  let envelope;
  try {
    envelope = readXml(xml);
  } catch (error) {
    if (error instanceof XmlReadError) throw new EwsProtocolError(`${operation}: the EWS response could not be read: ${error.message}`, { cause: error });
    throw error;
  }
  const [message] = responseMessages(envelope, operation);
  if (!message) throw new EwsProtocolError(`${operation}: the EWS response has no response message`);
  if (message.responseClass === 'Error') throw responseCodeError(message.code, message.message || message.code, message.details, operation, 200);
  const subscriptionId = childText(message.element, 'SubscriptionId')?.trim();
  const watermark = childText(message.element, 'Watermark')?.trim();
  if (!subscriptionId || !watermark) throw new EwsProtocolError(`${operation}: the answer has no SubscriptionId or Watermark`);
  return { subscriptionId, watermark };
}
