import type { HttpResponseInit } from '@azure/functions';
import { sendNotificationResult, MAX_NOTIFICATION_CHARS } from '../shared/ews/soap/push-notification';
import { boundedText } from '../shared/http/bounded-body';
import { invocationLogger } from '../shared/logging';
import { EWS_CALLBACK_ROUTE, handleEwsNotification } from '../shared/notifications/ews-push';
import { ewsPushCallbackDependencies, registerEwsPushAdapter } from '../shared/notifications/ews-push-composition';
import { notificationsRuntime } from '../shared/notifications/notifications-composition';
import { defineHttpFunction } from '../shared/runtime/function-registry';

registerEwsPushAdapter();

// Exchange's push callback (SendNotification). Anonymous by necessity: Exchange cannot authenticate
// to us; the per-subscription token in the URL and the subscription id in the body are the proof.
defineHttpFunction('notifications-ews', {
  route: EWS_CALLBACK_ROUTE,
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: async (request, context): Promise<HttpResponseInit> => {
    const log = invocationLogger(context);
    const body = await boundedText(request, MAX_NOTIFICATION_CHARS);
    if (body === undefined) return { status: 413 };
    if (!notificationsRuntime().enabled) {
      // Notifications switched off: Exchange ends the subscription on this answer.
      return { status: 200, headers: { 'content-type': 'text/xml; charset=utf-8' }, body: sendNotificationResult('Unsubscribe') };
    }
    const answer = await handleEwsNotification({ ...ewsPushCallbackDependencies(), log }, request.params['token'], body);
    // Never the token (it is the route parameter); the reason says which check refused.
    if (answer.outcome === 'refused' || answer.outcome === 'malformed') log.warn('Refused an EWS push notification', { outcome: answer.outcome, reason: answer.reason ?? '' });
    else log.debug('EWS push notification accepted', { outcome: answer.outcome });
    return { status: answer.httpStatus, headers: { 'content-type': answer.contentType }, body: answer.body };
  },
});
