import type { HttpResponseInit } from '@azure/functions';
import { boundedText } from '../shared/http/bounded-body';
import { invocationLogger } from '../shared/logging';
import type { Logger } from '../shared/logging';
import { receiveGraphLifecycle, receiveGraphNotifications, validationAnswer } from '../shared/notifications/graph-callbacks';
import type { CallbackResponse } from '../shared/notifications/graph-callbacks';
import { GRAPH_LIFECYCLE_ROUTE, GRAPH_NOTIFICATION_ROUTE } from '../shared/notifications/graph-adapter';
import { registerGraphNotifications } from '../shared/notifications/graph-registration';
import { notificationsRuntime } from '../shared/notifications/notifications-composition';
import { defineHttpFunction } from '../shared/runtime/function-registry';

registerGraphNotifications();

/** Request bodies beyond this are not notification collections (Graph sends at most a few hundred KB). */
const MAX_BODY_CHARS = 4 * 1024 * 1024;

function toHttp(response: CallbackResponse): HttpResponseInit {
  return { status: response.status, headers: response.headers, ...(response.body !== undefined ? { body: response.body } : {}) };
}

/** Both endpoints answer Graph's validation handshake first; anonymous by necessity (Graph signs nothing), protected by the per-subscription clientState. */
function defineGraphCallback(name: string, route: string, receive: (text: string, log: Logger) => Promise<CallbackResponse>): void {
  defineHttpFunction(name, {
    route,
    methods: ['POST'],
    authLevel: 'anonymous',
    handler: async (request, context) => {
      const token = request.query.get('validationToken');
      if (token !== null) return toHttp(validationAnswer(token));
      const body = await boundedText(request, MAX_BODY_CHARS);
      if (body === undefined) return { status: 413 };
      return toHttp(await receive(body, invocationLogger(context)));
    },
  });
}

defineGraphCallback('graph-notifications', GRAPH_NOTIFICATION_ROUTE, (text, log) => receiveGraphNotifications(notificationsRuntime().intake, text, log));

defineGraphCallback('graph-lifecycle', GRAPH_LIFECYCLE_ROUTE, (text, log) => {
  const runtime = notificationsRuntime();
  return receiveGraphLifecycle({ subscriptions: runtime.subscriptions, queue: runtime.lifecycleQueue }, text, log);
});
