import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { invocationLogger } from '../shared/logging';
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

async function bodyOf(request: HttpRequest): Promise<string> {
  const text = await request.text();
  return text.length > MAX_BODY_CHARS ? '' : text;
}

// Anonymous by necessity (Graph signs nothing): protected by the per-subscription clientState.
defineHttpFunction('graph-notifications', {
  route: GRAPH_NOTIFICATION_ROUTE,
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: async (request, context) => {
    const token = request.query.get('validationToken');
    if (token !== null) return toHttp(validationAnswer(token));
    return toHttp(await receiveGraphNotifications(notificationsRuntime().intake, await bodyOf(request), invocationLogger(context)));
  },
});

defineHttpFunction('graph-lifecycle', {
  route: GRAPH_LIFECYCLE_ROUTE,
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: async (request, context) => {
    const token = request.query.get('validationToken');
    if (token !== null) return toHttp(validationAnswer(token));
    const runtime = notificationsRuntime();
    return toHttp(await receiveGraphLifecycle({ subscriptions: runtime.subscriptions, queue: runtime.lifecycleQueue }, await bodyOf(request), invocationLogger(context)));
  },
});
