/**
 * Graph change notifications, as Exchange Online sends them for Outlook resources:
 *
 * - POST /subscriptions validates the notificationUrl (and lifecycleNotificationUrl) first: a POST
 *   with ?validationToken=..., answered 200 with the token as text/plain within the validation
 *   timeout (Graph: 10 s); a wrong or late answer fails the creation with 400 ValidationError.
 * - Every change to a subscribed folder, made through EWS, Graph or either control API (they all
 *   change the one store), is POSTed as a changeNotificationCollection to notificationUrl.
 *   Anything but a 2xx within the notification timeout (Graph: 3 s) is retried with exponential
 *   backoff; after the last attempt the notifications are dropped and a `missed` lifecycle event
 *   is sent (when a lifecycleNotificationUrl is set).
 * - PATCH renews (expirationDateTime within the resource's maximum), DELETE removes, POST
 *   /subscriptions/{id}/reauthorize answers a reauthorizationRequired challenge. Expired
 *   subscriptions disappear and send nothing.
 * - Lifecycle events on demand through the control API (/_graph/subscriptions/{id}/lifecycle).
 */
import { randomUUID } from 'node:crypto';
import type { Folder, Mailbox, StoreEvent } from '../ews-simulator/model';
import type { GraphApi, GraphResponse } from './api';
import type { GraphCaller } from './auth';
import { GraphError, graphErrors } from './errors';
import { toRestId } from './ids';
import type { GraphSimulatorState } from './state';

export type SubscribedKind = 'messages' | 'events' | 'contacts' | 'tasks';
export type ChangeType = 'created' | 'updated' | 'deleted';
export type LifecycleEvent = 'reauthorizationRequired' | 'subscriptionRemoved' | 'missed';

/** Graph's maximum subscription lifetimes (learn.microsoft.com/graph/api/resources/subscription, "Subscription lifetime"). */
export const MAX_EXPIRATION_IN_MINUTES: Readonly<Record<SubscribedKind, number>> = { messages: 10_070, events: 10_070, contacts: 10_070, tasks: 4_230 };

export interface GraphSubscriptionOptions {
  /** How long the notification endpoint has to answer the validation request (Graph: 10 s). */
  readonly validationTimeoutInMs?: number;
  /** How long a notification POST may take before it counts as failed (Graph: 3 s). */
  readonly notificationTimeoutInMs?: number;
  /** First retry delay after a failed delivery; doubles per attempt (default 1 s). */
  readonly retryBaseDelayInMs?: number;
  /** Delivery attempts per notification before it is dropped and `missed` is sent (default 6). */
  readonly maxDeliveryAttempts?: number;
  /** Lowers every resource's maximum lifetime (tests of renewal). */
  readonly maxExpirationInMinutes?: number;
}

export interface SimulatedSubscription {
  readonly id: string;
  readonly appId: string;
  readonly organisationId: string;
  readonly tenantId: string;
  readonly mailbox: string;
  readonly userId: string;
  readonly resource: string;
  readonly kind: SubscribedKind;
  readonly folderId: string;
  readonly changeTypes: readonly ChangeType[];
  readonly notificationUrl: string;
  readonly lifecycleNotificationUrl?: string;
  readonly clientState?: string;
  expirationDateTime: Date;
  readonly creatorId: string;
  /** Set by a reauthorizationRequired event until POST .../reauthorize or a renewal. */
  reauthorizationRequired: boolean;
}

export interface DeliveryLogEntry {
  readonly subscriptionId: string;
  readonly kind: 'validation' | 'change' | 'lifecycle';
  readonly attempt: number;
  /** HTTP status, or 0 when the endpoint did not answer in time or refused the connection. */
  readonly status: number;
  readonly at: string;
  readonly durationInMs: number;
  readonly detail?: string;
}

interface PendingNotification {
  readonly subscription: SimulatedSubscription;
  readonly body: unknown;
  readonly kind: 'change' | 'lifecycle';
  readonly url: string;
  attempt: number;
}

const LOG_SIZE = 2000;

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127\./.test(hostname);
}

export class GraphSubscriptions {
  private readonly subscriptions = new Map<string, SimulatedSubscription>();
  readonly deliveries: DeliveryLogEntry[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(
    private readonly state: GraphSimulatorState,
    private readonly api: GraphApi,
    private readonly options: GraphSubscriptionOptions = {},
  ) {
    this.unsubscribe = state.store.onChange((event) => this.observe(event));
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** Live subscriptions (expired ones are removed first). */
  list(): SimulatedSubscription[] {
    this.sweep();
    return [...this.subscriptions.values()];
  }

  /** /v1.0/subscriptions[/{id}[/reauthorize]]. */
  async handle(method: string, segments: readonly string[], body: unknown, caller: GraphCaller): Promise<{ operation: string; mailbox?: string; response: GraphResponse }> {
    this.sweep();
    const [, id, action] = segments;
    if (segments.length === 1 && method === 'POST') {
      const created = await this.create(body, caller);
      return { operation: 'createSubscription', mailbox: created.mailbox, response: { status: 201, headers: { 'content-type': 'application/json; charset=utf-8' }, body: this.json(created, true), kind: 'subscription' } };
    }
    if (segments.length === 1 && method === 'GET') {
      const own = [...this.subscriptions.values()].filter((s) => s.appId === caller.appId && s.organisationId === caller.organisationId);
      return { operation: 'listSubscriptions', response: { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: { '@odata.context': `${this.contextBase()}$metadata#subscriptions`, value: own.map((s) => this.json(s, false)) }, kind: 'subscriptionCollection' } };
    }
    const subscription = id ? this.subscriptions.get(id) : undefined;
    // Another app's subscription does not exist for this caller.
    if (!subscription || subscription.appId !== caller.appId || subscription.organisationId !== caller.organisationId) throw new GraphError(404, 'ResourceNotFound', `The object was not found. Subscription '${id ?? ''}' does not exist.`);
    if (segments.length === 2 && method === 'GET') return { operation: 'getSubscription', mailbox: subscription.mailbox, response: { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: this.json(subscription, true), kind: 'subscription' } };
    if (segments.length === 2 && method === 'PATCH') {
      const expiration = this.expirationFrom(body, subscription.kind, ['expirationDateTime', 'notificationUrl']);
      subscription.expirationDateTime = expiration;
      subscription.reauthorizationRequired = false;
      return { operation: 'updateSubscription', mailbox: subscription.mailbox, response: { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: this.json(subscription, true), kind: 'subscription' } };
    }
    if (segments.length === 2 && method === 'DELETE') {
      this.subscriptions.delete(subscription.id);
      return { operation: 'deleteSubscription', mailbox: subscription.mailbox, response: { status: 204, headers: {}, kind: 'noContent' } };
    }
    if (segments.length === 3 && action?.toLowerCase() === 'reauthorize' && method === 'POST') {
      subscription.reauthorizationRequired = false;
      return { operation: 'reauthorizeSubscription', mailbox: subscription.mailbox, response: { status: 204, headers: {}, kind: 'noContent' } };
    }
    throw graphErrors.noRoute(method, `/${segments.join('/')}`);
  }

  /** Control API: sends a lifecycle event now (subscriptionRemoved also removes the subscription). */
  async lifecycle(id: string, event: LifecycleEvent): Promise<SimulatedSubscription> {
    const subscription = this.subscriptions.get(id);
    if (!subscription) throw new GraphError(404, 'ResourceNotFound', `No subscription ${id}`);
    if (event === 'reauthorizationRequired') subscription.reauthorizationRequired = true;
    if (event === 'subscriptionRemoved') this.subscriptions.delete(id);
    this.sendLifecycle(subscription, event);
    return subscription;
  }

  /** Control API: moves a subscription's expiry (renewal tests). */
  expireIn(id: string, inMs: number): SimulatedSubscription {
    const subscription = this.subscriptions.get(id);
    if (!subscription) throw new GraphError(404, 'ResourceNotFound', `No subscription ${id}`);
    subscription.expirationDateTime = new Date(Date.now() + inMs);
    return subscription;
  }

  json(s: SimulatedSubscription, withContext: boolean): Record<string, unknown> {
    return {
      ...(withContext ? { '@odata.context': `${this.contextBase()}$metadata#subscriptions/$entity` } : {}),
      id: s.id,
      resource: s.resource,
      applicationId: s.appId,
      changeType: s.changeTypes.join(','),
      // Graph never returns the clientState it was given.
      clientState: null,
      notificationUrl: s.notificationUrl,
      ...(s.lifecycleNotificationUrl ? { lifecycleNotificationUrl: s.lifecycleNotificationUrl } : {}),
      expirationDateTime: s.expirationDateTime.toISOString(),
      creatorId: s.creatorId,
      latestSupportedTlsVersion: 'v1_2',
      includeResourceData: false,
      encryptionCertificate: null,
      encryptionCertificateId: null,
      notificationQueryOptions: null,
      notificationUrlAppId: null,
    };
  }

  private contextBase(): string {
    return 'https://graph.microsoft.com/v1.0/';
  }

  private async create(body: unknown, caller: GraphCaller): Promise<SimulatedSubscription> {
    const input = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const problems: string[] = [];
    const text = (name: string, required: boolean): string | undefined => {
      const value = input[name];
      if (value === undefined || value === null) {
        if (required) problems.push(`${name} is required`);
        return undefined;
      }
      if (typeof value !== 'string' || value.length === 0) problems.push(`${name} must be a non-empty string`);
      return typeof value === 'string' ? value : undefined;
    };
    const changeType = text('changeType', true);
    const notificationUrl = text('notificationUrl', true);
    const lifecycleNotificationUrl = text('lifecycleNotificationUrl', false);
    const resource = text('resource', true);
    const clientState = text('clientState', false);
    text('expirationDateTime', true);
    const changeTypes = (changeType ?? '').split(',').map((t) => t.trim()).filter(Boolean);
    if (changeType !== undefined && (changeTypes.length === 0 || changeTypes.some((t) => t !== 'created' && t !== 'updated' && t !== 'deleted'))) problems.push(`changeType '${changeType}' is not valid: use created, updated and/or deleted`);
    if (clientState !== undefined && clientState.length > 128) problems.push('clientState must be at most 128 characters');
    for (const [name, url] of [['notificationUrl', notificationUrl], ['lifecycleNotificationUrl', lifecycleNotificationUrl]] as const) {
      if (url === undefined) continue;
      let parsed: URL | undefined;
      try {
        parsed = new URL(url);
      } catch {
        problems.push(`${name} is not a URL`);
      }
      // Graph requires https; the simulator also accepts http on loopback (the local functions host).
      if (parsed && parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && isLoopback(parsed.hostname))) problems.push(`${name} must be an https URL`);
    }
    const known = new Set(['changeType', 'notificationUrl', 'lifecycleNotificationUrl', 'resource', 'expirationDateTime', 'clientState', 'latestSupportedTlsVersion', 'includeResourceData']);
    for (const name of Object.keys(input)) if (!known.has(name) && !name.startsWith('@')) problems.push(`property '${name}' is not supported`);
    if (problems.length > 0) throw graphErrors.badRequest(problems.join('; '), 'InvalidRequest');
    const target = this.resolveResource(resource!, caller);
    const expirationDateTime = this.expirationFrom(input, target.kind, Object.keys(input));
    const organisation = this.state.store.getOrganisation(caller.organisationId);
    const subscription: SimulatedSubscription = {
      id: randomUUID(),
      appId: caller.appId,
      organisationId: caller.organisationId,
      tenantId: organisation?.entraTenantId ?? '00000000-0000-0000-0000-000000000000',
      mailbox: target.mailbox.smtpAddress,
      userId: target.mailbox.entraObjectId ?? toRestId(target.mailbox.smtpAddress),
      resource: resource!,
      kind: target.kind,
      folderId: target.folder.id,
      changeTypes: changeTypes as ChangeType[],
      notificationUrl: notificationUrl!,
      ...(lifecycleNotificationUrl ? { lifecycleNotificationUrl } : {}),
      ...(clientState !== undefined ? { clientState } : {}),
      expirationDateTime,
      creatorId: caller.kind === 'user' ? (caller.mailbox.entraObjectId ?? caller.appId) : caller.appId,
      reauthorizationRequired: false,
    };
    await this.validateEndpoint(subscription, notificationUrl!);
    if (lifecycleNotificationUrl) await this.validateEndpoint(subscription, lifecycleNotificationUrl);
    this.subscriptions.set(subscription.id, subscription);
    return subscription;
  }

  /** Resource paths as Graph accepts them for Outlook resources; permission checked like a read of it. */
  private resolveResource(resource: string, caller: GraphCaller): { mailbox: Mailbox; kind: SubscribedKind; folder: Folder } {
    const path = resource.replace(/^\/+/, '');
    const patterns: readonly [RegExp, SubscribedKind][] = [
      [/^(users\/[^/]+|me)\/mailFolders(?:\('([^']+)'\)|\/([^/]+))\/messages$/i, 'messages'],
      [/^(users\/[^/]+|me)\/messages$/i, 'messages'],
      [/^(users\/[^/]+|me)\/events$/i, 'events'],
      [/^(users\/[^/]+|me)\/contacts$/i, 'contacts'],
      [/^(users\/[^/]+|me)\/todo\/lists\/([^/]+)\/tasks$/i, 'tasks'],
    ];
    for (const [pattern, kind] of patterns) {
      const match = pattern.exec(path);
      if (!match) continue;
      const user = match[1]!;
      // Routes through the API's own checks: the user in the caller's tenant, REST enabled, the permission.
      const probe = kind === 'messages' ? 'mailFolders/inbox' : kind === 'events' ? 'events/probe' : kind === 'contacts' ? 'contacts/delta' : `todo/lists/${match[2]!}/tasks/delta`;
      const prepared = this.api.prepare({ method: 'GET', path: `/${user}/${probe}`, query: new URLSearchParams(), headers: {}, body: undefined }, caller);
      const mailbox = prepared.mailbox!;
      const store = this.state.store;
      const folder =
        kind === 'messages'
          ? match[2] || match[3] ? this.api.folderOf(mailbox, match[2] ?? match[3]!) : store.getFolder(mailbox.smtpAddress, { distinguished: 'msgfolderroot' })
          : kind === 'events'
            ? store.getFolder(mailbox.smtpAddress, { distinguished: 'calendar' })
            : kind === 'contacts'
              ? store.getFolder(mailbox.smtpAddress, { distinguished: 'contacts' })
              : this.api.folderOf(mailbox, match[2]!);
      if (kind === 'tasks' && !folder.folderClass.startsWith('IPF.Task')) throw graphErrors.folderNotFound();
      return { mailbox, kind, folder };
    }
    throw graphErrors.badRequest(`Resource '${resource}' is not supported for change notifications here: use users/{id}/mailFolders('{id}')/messages, users/{id}/messages, users/{id}/events, users/{id}/contacts or users/{id}/todo/lists/{id}/tasks.`, 'InvalidRequest');
  }

  private expirationFrom(input: unknown, kind: SubscribedKind, allowed: readonly string[]): Date {
    const body = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
    for (const name of Object.keys(body)) if (!allowed.includes(name) && !name.startsWith('@')) throw graphErrors.badRequest(`property '${name}' cannot be updated`, 'InvalidRequest');
    const raw = body.expirationDateTime;
    const at = typeof raw === 'string' ? new Date(raw) : new Date(NaN);
    if (Number.isNaN(at.getTime())) throw graphErrors.badRequest('expirationDateTime must be an ISO 8601 date-time', 'InvalidRequest');
    const maxMinutes = Math.min(MAX_EXPIRATION_IN_MINUTES[kind], this.options.maxExpirationInMinutes ?? Infinity);
    const now = Date.now();
    if (at.getTime() <= now) throw graphErrors.badRequest('Subscription expiration can only be in the future.', 'ExtensionError');
    // Graph answers a 400 for a lifetime beyond the resource's maximum (a minute of clock skew tolerated).
    if (at.getTime() > now + maxMinutes * 60_000 + 60_000) throw graphErrors.badRequest(`Subscription expiration can only be ${maxMinutes} minutes in the future.`, 'ExtensionError');
    return at;
  }

  private async validateEndpoint(subscription: SimulatedSubscription, url: string): Promise<void> {
    const token = `Validation: Testing client application reachability for subscription Request-Id: ${randomUUID()}`;
    const started = Date.now();
    const timeoutInMs = this.options.validationTimeoutInMs ?? 10_000;
    let status = 0;
    let detail: string | undefined;
    try {
      const target = new URL(url);
      target.searchParams.set('validationToken', token);
      const response = await fetch(target, { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' }, body: '', signal: AbortSignal.timeout(timeoutInMs) });
      status = response.status;
      const answer = await response.text();
      const type = response.headers.get('content-type') ?? '';
      if (status !== 200) detail = `answered ${status}`;
      else if (answer !== token) detail = 'answered 200 without the validation token as its body';
      else if (!type.toLowerCase().startsWith('text/plain')) detail = `answered with content-type '${type}', not text/plain`;
    } catch (error) {
      detail = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError') ? `did not answer within ${timeoutInMs} ms` : `could not be reached (${error instanceof Error ? error.message : String(error)})`;
    }
    this.log({ subscriptionId: subscription.id, kind: 'validation', attempt: 1, status, at: new Date(started).toISOString(), durationInMs: Date.now() - started, ...(detail ? { detail } : {}) });
    if (detail) throw new GraphError(400, 'ValidationError', `Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request. The endpoint ${detail}.`);
  }

  private observe(event: StoreEvent): void {
    if (this.closed || this.subscriptions.size === 0 || !event.itemId) return;
    this.sweep();
    // A delivery is NewMail + Created (one change); a move within the mailbox is one Moved event: gone from one folder, new in the other.
    const changes: { folderId: string; itemId: string; changeType: ChangeType }[] = [];
    if (event.type === 'Created' || event.type === 'Copied') changes.push({ folderId: event.parentFolderId, itemId: event.itemId, changeType: 'created' });
    else if (event.type === 'Modified') changes.push({ folderId: event.parentFolderId, itemId: event.itemId, changeType: 'updated' });
    else if (event.type === 'Deleted') changes.push({ folderId: event.parentFolderId, itemId: event.itemId, changeType: 'deleted' });
    else if (event.type === 'Moved') {
      if (event.oldParentFolderId && event.oldItemId) changes.push({ folderId: event.oldParentFolderId, itemId: event.oldItemId, changeType: 'deleted' });
      changes.push({ folderId: event.parentFolderId, itemId: event.itemId, changeType: 'created' });
    }
    const mailbox = event.mailbox.toLowerCase();
    for (const subscription of this.subscriptions.values()) {
      if (subscription.mailbox !== mailbox || subscription.reauthorizationRequired) continue;
      for (const change of changes) {
        if (!subscription.changeTypes.includes(change.changeType) || !this.watches(subscription, change.folderId)) continue;
        this.deliver({ subscription, kind: 'change', url: subscription.notificationUrl, attempt: 0, body: { value: [this.changeNotification(subscription, change.itemId, change.changeType)] } });
      }
    }
  }

  /** A mailFolder subscription watches that folder; users/{id}/messages every mail folder (the root's subtree). */
  private watches(subscription: SimulatedSubscription, folderId: string): boolean {
    if (subscription.folderId === folderId) return true;
    const root = this.state.store.findFolderById(subscription.folderId);
    if (subscription.kind !== 'messages' || root?.distinguishedName !== 'msgfolderroot') return false;
    const folder = this.state.store.findFolderById(folderId);
    return folder !== undefined && folder.folderClass.startsWith('IPF.Note');
  }

  private changeNotification(s: SimulatedSubscription, itemId: string, changeType: ChangeType): Record<string, unknown> {
    const entity = { messages: 'Messages', events: 'Events', contacts: 'Contacts', tasks: 'Tasks' }[s.kind];
    const type = { messages: '#Microsoft.Graph.Message', events: '#Microsoft.Graph.Event', contacts: '#Microsoft.Graph.Contact', tasks: '#Microsoft.Graph.TodoTask' }[s.kind];
    const id = toRestId(itemId);
    const resource = `Users/${s.userId}/${entity}/${id}`;
    return {
      subscriptionId: s.id,
      subscriptionExpirationDateTime: s.expirationDateTime.toISOString(),
      changeType,
      resource,
      resourceData: { '@odata.type': type, '@odata.id': resource, id },
      ...(s.clientState !== undefined ? { clientState: s.clientState } : {}),
      tenantId: s.tenantId,
    };
  }

  private sendLifecycle(s: SimulatedSubscription, event: LifecycleEvent): void {
    if (!s.lifecycleNotificationUrl) return;
    this.deliver({
      subscription: s,
      kind: 'lifecycle',
      url: s.lifecycleNotificationUrl,
      attempt: 0,
      body: { value: [{ subscriptionId: s.id, subscriptionExpirationDateTime: s.expirationDateTime.toISOString(), tenantId: s.tenantId, ...(s.clientState !== undefined ? { clientState: s.clientState } : {}), lifecycleEvent: event, changeType: 'updated', resource: s.resource }] },
    });
  }

  private deliver(pending: PendingNotification): void {
    if (this.closed) return;
    pending.attempt++;
    void this.post(pending).then((ok) => {
      if (ok || this.closed) return;
      const max = this.options.maxDeliveryAttempts ?? 6;
      if (pending.attempt >= max) {
        // Dropped: Graph tells the app through a `missed` lifecycle event, so it can sync.
        if (pending.kind === 'change' && this.subscriptions.has(pending.subscription.id)) this.sendLifecycle(pending.subscription, 'missed');
        return;
      }
      const delay = (this.options.retryBaseDelayInMs ?? 1_000) * 2 ** (pending.attempt - 1);
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        // A subscription removed meanwhile sends nothing more.
        if (pending.kind === 'lifecycle' || this.subscriptions.has(pending.subscription.id)) this.deliver(pending);
      }, delay);
      timer.unref();
      this.timers.add(timer);
    });
  }

  private async post(pending: PendingNotification): Promise<boolean> {
    const started = Date.now();
    const timeoutInMs = this.options.notificationTimeoutInMs ?? 3_000;
    let status = 0;
    let detail: string | undefined;
    try {
      const response = await fetch(pending.url, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(pending.body), signal: AbortSignal.timeout(timeoutInMs) });
      status = response.status;
      await response.arrayBuffer();
    } catch (error) {
      detail = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError') ? `no answer within ${timeoutInMs} ms` : error instanceof Error ? error.message : String(error);
    }
    this.log({ subscriptionId: pending.subscription.id, kind: pending.kind, attempt: pending.attempt, status, at: new Date(started).toISOString(), durationInMs: Date.now() - started, ...(detail ? { detail } : {}) });
    return status >= 200 && status < 300;
  }

  private log(entry: DeliveryLogEntry): void {
    this.deliveries.push(entry);
    if (this.deliveries.length > LOG_SIZE) this.deliveries.splice(0, this.deliveries.length - LOG_SIZE);
  }

  /** Expired subscriptions are gone, as in Graph (nothing is sent). */
  private sweep(): void {
    const now = Date.now();
    for (const [id, s] of this.subscriptions) if (s.expirationDateTime.getTime() <= now) this.subscriptions.delete(id);
  }
}
