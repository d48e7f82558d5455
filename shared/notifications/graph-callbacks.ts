/**
 * The two anonymous endpoints Graph calls. Both answer the validation handshake (POST with
 * ?validationToken=...: 200, the token as text/plain, at once). Change notifications are verified
 * (subscription id, then clientState in constant time) and turned into debounced sync triggers;
 * lifecycle notifications are verified and queued for the lifecycle worker. Neither calls Exchange
 * or syncs inline, so both answer within Graph's 3 s.
 *
 * Answers: 202 when at least one notification was genuine; 403 (problem+json, no detail on
 * which part failed) when none was, so a forger learns nothing; 400 for a body that is not a
 * notification collection.
 */
import type { SyncedFolder } from '../delivery/change-batch';
import type { Logger } from '../logging';
import type { LifecycleEventName, LifecycleQueue } from './lifecycle';
import { LIFECYCLE_EVENTS } from './lifecycle';
import { acceptChangeNotification, verifyNotification } from './notification-intake';
import type { NotificationIntakeDependencies } from './notification-intake';

export interface CallbackResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

/** Graph's handshake: the token back, URL-decoded, as plain text (nosniff: it is echoed input). */
export function validationAnswer(token: string): CallbackResponse {
  return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' }, body: token };
}

const MAX_NOTIFICATIONS_PER_POST = 1000;

interface PostedNotification {
  readonly subscriptionId: string;
  readonly clientState?: string;
  readonly lifecycleEvent?: string;
}

function problem(status: number, title: string, detail: string): CallbackResponse {
  return { status, headers: { 'content-type': 'application/problem+json; charset=utf-8' }, body: JSON.stringify({ type: 'about:blank', title, status, detail }) };
}

function parseCollection(text: string): PostedNotification[] | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  const value = (body as { value?: unknown } | null)?.value;
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_NOTIFICATIONS_PER_POST) return undefined;
  const out: PostedNotification[] = [];
  for (const entry of value) {
    if (typeof entry !== 'object' || entry === null) return undefined;
    const e = entry as Record<string, unknown>;
    if (typeof e.subscriptionId !== 'string') return undefined;
    out.push({ subscriptionId: e.subscriptionId, ...(typeof e.clientState === 'string' ? { clientState: e.clientState } : {}), ...(typeof e.lifecycleEvent === 'string' ? { lifecycleEvent: e.lifecycleEvent } : {}) });
  }
  return out;
}

const BAD_BODY = problem(400, 'Not a change notification collection', 'Expected {"value": [{"subscriptionId", "clientState", ...}]} with 1 to 1000 notifications.');
const REFUSED = problem(403, 'Notification refused', 'No notification in the request belongs to a known subscription with a matching clientState.');
const ACCEPTED: CallbackResponse = { status: 202, headers: {} };

export async function receiveGraphNotifications(deps: NotificationIntakeDependencies, text: string, log?: Logger): Promise<CallbackResponse> {
  const posted = parseCollection(text);
  if (!posted) return BAD_BODY;
  // A burst repeats the same subscription many times: verify each distinct (id, clientState) once,
  // then trigger once per mailbox (the trigger debounces anyway; this saves the reads and inserts).
  const distinct = new Map(posted.map((n) => [JSON.stringify([n.subscriptionId, n.clientState ?? null]), n] as const));
  const results = await Promise.all([...distinct.values()].map((n) => acceptChangeNotification({ ...deps, ...(log ? { log } : {}) }, { protocol: 'graph', subscriptionId: n.subscriptionId, secret: n.clientState }, { triggerSync: false })));
  const mailboxes = new Map<string, { tenantId: string; groupId: string; mailbox: string }>();
  for (const result of results) if (result.kind === 'accepted') mailboxes.set(JSON.stringify([result.record.tenantId, result.record.groupId, result.record.mailbox]), { tenantId: result.record.tenantId, groupId: result.record.groupId, mailbox: result.record.mailbox });
  if (mailboxes.size === 0) return REFUSED;
  await Promise.all([...mailboxes.values()].map((ref) => deps.trigger.trigger(ref)));
  return ACCEPTED;
}

export async function receiveGraphLifecycle(deps: Pick<NotificationIntakeDependencies, 'subscriptions'> & { readonly queue: LifecycleQueue; readonly now?: () => Date }, text: string, log?: Logger): Promise<CallbackResponse> {
  const posted = parseCollection(text);
  if (!posted) return BAD_BODY;
  let accepted = 0;
  for (const n of posted) {
    if (!LIFECYCLE_EVENTS.includes(n.lifecycleEvent as LifecycleEventName)) continue;
    const verified = await verifyNotification(deps, { protocol: 'graph', subscriptionId: n.subscriptionId, secret: n.clientState });
    if (verified.kind === 'refused') {
      log?.warn('Refused a lifecycle notification', { reason: verified.reason, subscriptionId: n.subscriptionId.slice(0, 80) });
      continue;
    }
    const record = verified.record;
    await deps.queue.enqueue({
      version: 1,
      protocol: 'graph',
      subscriptionId: n.subscriptionId,
      tenantId: record.tenantId,
      groupId: record.groupId,
      mailbox: record.mailbox,
      folder: record.folder as SyncedFolder,
      event: n.lifecycleEvent as LifecycleEventName,
      receivedAt: (deps.now ?? (() => new Date()))().toISOString(),
    });
    accepted++;
  }
  return accepted > 0 ? ACCEPTED : REFUSED;
}
