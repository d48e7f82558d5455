/**
 * Control API for change notifications (JSON under /_graph/): the live subscriptions, the delivery
 * log, lifecycle events on demand and expiry moves. Errors are problem+json naming every field at fault.
 *
 *   GET  /_graph/subscriptions                          live subscriptions (every app)
 *   POST /_graph/subscriptions/{id}/lifecycle {event}   reauthorizationRequired | subscriptionRemoved | missed
 *   POST /_graph/subscriptions/{id}/expire {inSeconds}  the subscription now expires then
 *   GET  /_graph/notifications?subscriptionId=&kind=    delivery log (validation, change, lifecycle; attempts, status)
 *   DELETE /_graph/notifications                        clears it
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpProblem, validationProblem } from '../../shared/http/problem';
import { readJson } from '../ews-simulator/control';
import { GraphError } from './errors';
import type { GraphSubscriptions, LifecycleEvent } from './subscriptions';

const LIFECYCLE_EVENTS: readonly LifecycleEvent[] = ['reauthorizationRequired', 'subscriptionRemoved', 'missed'];

export function isSubscriptionControlPath(path: string): boolean {
  return /^\/_graph\/(subscriptions|notifications)(\/|$)/.test(path);
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json; charset=utf-8'): void {
  res.writeHead(status, status === 204 ? {} : { 'content-type': type });
  res.end(status === 204 ? undefined : JSON.stringify(body));
}

export async function handleSubscriptionControl(req: IncomingMessage, res: ServerResponse, subscriptions: GraphSubscriptions): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://simulator');
  const method = req.method ?? 'GET';
  const [, resource, id, action] = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  try {
    if (resource === 'subscriptions' && id === undefined && method === 'GET') {
      return send(res, 200, subscriptions.list().map((s) => ({ ...subscriptions.json(s, false), mailbox: s.mailbox, kind: s.kind, reauthorizationRequired: s.reauthorizationRequired })));
    }
    if (resource === 'subscriptions' && id && action === 'lifecycle' && method === 'POST') {
      const body = (await readJson(req)) as Record<string, unknown>;
      if (!LIFECYCLE_EVENTS.includes(body.event as LifecycleEvent)) throw validationProblem([{ pointer: '/event', detail: `required, one of ${LIFECYCLE_EVENTS.join(', ')}` }]);
      const s = await subscriptions.lifecycle(id, body.event as LifecycleEvent);
      return send(res, 202, { id: s.id, event: body.event });
    }
    if (resource === 'subscriptions' && id && action === 'expire' && method === 'POST') {
      const body = (await readJson(req)) as Record<string, unknown>;
      if (typeof body.inSeconds !== 'number' || !Number.isFinite(body.inSeconds) || body.inSeconds < 0) throw validationProblem([{ pointer: '/inSeconds', detail: 'required, a non-negative number of seconds' }]);
      const s = subscriptions.expireIn(id, body.inSeconds * 1000);
      return send(res, 200, { id: s.id, expirationDateTime: s.expirationDateTime.toISOString() });
    }
    if (resource === 'notifications' && id === undefined && method === 'GET') {
      const subscriptionId = url.searchParams.get('subscriptionId');
      const kind = url.searchParams.get('kind');
      return send(res, 200, subscriptions.deliveries.filter((d) => (!subscriptionId || d.subscriptionId === subscriptionId) && (!kind || d.kind === kind)));
    }
    if (resource === 'notifications' && id === undefined && method === 'DELETE') {
      subscriptions.deliveries.length = 0;
      return send(res, 204, null);
    }
    throw new HttpProblem(404, 'NotFound', 'Not found', `No control route ${method} ${url.pathname}`);
  } catch (error) {
    const problem = error instanceof HttpProblem ? error : error instanceof GraphError ? new HttpProblem(error.status, error.code, error.code, error.message) : new HttpProblem(500, 'SimulatorDefect', 'The simulator failed', error instanceof Error ? error.message : String(error));
    send(res, problem.status, problem.toDetails(url.pathname), 'application/problem+json; charset=utf-8');
  }
}
