/**
 * The connector's side of Exchange's push notification service (notification-service.wsdl):
 * read a `SendNotification` request, and write the `SendNotificationResult` answer. The request
 * comes from the internet (the callback endpoint is anonymous), so it goes through the same
 * hardened reader as EWS answers (no DTD, bounded size, depth and element count) with tighter
 * bounds: a notification is small.
 */
import { MESSAGES_NS, SOAP_NS } from './request-builder';
import { childText, path, readXml, type XmlElement } from './xml-reader';

/** Exchange sends at most 50 events per notification; 1 MiB is generous for that. */
export const MAX_NOTIFICATION_CHARS = 1024 * 1024;

export type SubscriptionStatus = 'OK' | 'Unsubscribe';

export interface PushNotification {
  readonly subscriptionId: string;
  readonly previousWatermark?: string;
  /** Event element names in order (NewMailEvent, CreatedEvent, StatusEvent, ...). */
  readonly events: readonly string[];
  /** True when only StatusEvents came (a keep-alive). */
  readonly statusOnly: boolean;
  /** The last watermark the notification carries: where a new subscription should resume. */
  readonly lastWatermark?: string;
}

export class PushNotificationFormatError extends Error {
  readonly code = 'InvalidNotification';
}

/** Reads a SendNotification envelope; PushNotificationFormatError for anything else. */
export function readSendNotification(xml: string): PushNotification {
  let envelope: XmlElement;
  try {
    envelope = readXml(xml, { maxChars: MAX_NOTIFICATION_CHARS, maxDepth: 16, maxElements: 5_000 });
  } catch (error) {
    throw new PushNotificationFormatError(`The notification could not be read: ${error instanceof Error ? error.message : String(error)}`);
  }
  const notification = path(envelope, 'Body', 'SendNotification', 'ResponseMessages', 'SendNotificationResponseMessage', 'Notification');
  if (envelope.name !== 'Envelope' || !notification) throw new PushNotificationFormatError('Not a SendNotification request.');
  const subscriptionId = childText(notification, 'SubscriptionId')?.trim();
  if (!subscriptionId) throw new PushNotificationFormatError('The notification has no SubscriptionId.');
  const events: string[] = [];
  let lastWatermark: string | undefined;
  for (const element of notification.children) {
    if (!element.name.endsWith('Event')) continue;
    events.push(element.name);
    const watermark = childText(element, 'Watermark')?.trim();
    if (watermark) lastWatermark = watermark;
  }
  const previousWatermark = childText(notification, 'PreviousWatermark')?.trim();
  return {
    subscriptionId,
    events,
    statusOnly: events.length > 0 && events.every((name) => name === 'StatusEvent'),
    ...(previousWatermark ? { previousWatermark } : {}),
    ...(lastWatermark ? { lastWatermark } : {}),
  };
}

/** The SendNotificationResult envelope: OK keeps the subscription, Unsubscribe ends it. */
export function sendNotificationResult(status: SubscriptionStatus): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<soap:Envelope xmlns:soap="${SOAP_NS}"><soap:Body>` +
    `<SendNotificationResult xmlns="${MESSAGES_NS}"><SubscriptionStatus>${status}</SubscriptionStatus></SendNotificationResult>` +
    '</soap:Body></soap:Envelope>'
  );
}
