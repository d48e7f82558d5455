/** Pull notifications: Subscribe (PullSubscriptionRequest), GetEvents, Unsubscribe. */
import { folderIdXml } from '../item-xml';
import type { StoreEvent } from '../model';
import { folderIdElements, resolveFolder } from '../request-context';
import { EwsError, SoapFault, responseMessage } from '../soap';
import { MAX_EVENTS_PER_CALL, type EventTypeName, type PullSubscription } from '../subscriptions';
import { attr, child, childText, children, parseBoolean, xmlDate, type Element } from '../xml';
import { asEwsError, type Operation } from './common';

const EVENT_TYPES = new Set<EventTypeName>(['NewMailEvent', 'CreatedEvent', 'DeletedEvent', 'ModifiedEvent', 'MovedEvent', 'CopiedEvent', 'FreeBusyChangedEvent']);

export const subscribe: Operation = (ctx, request) => {
  const pull = child(request, 'PullSubscriptionRequest');
  const name = 'SubscribeResponseMessage';
  const push = child(request, 'PushSubscriptionRequest');
  if (push) return subscribePush(ctx, push);
  if (!pull) {
    const kind = children(request)[0]?.localName ?? 'unknown';
    return `<m:ResponseMessages>${responseMessage(name, '', new EwsError('ErrorInvalidSubscriptionRequest', `The simulator supports pull and push subscriptions only (got ${kind}).`))}</m:ResponseMessages>`;
  }
  try {
    const timeout = Number(childText(pull, 'Timeout') ?? '');
    if (!Number.isInteger(timeout) || timeout < 1 || timeout > 1440) {
      throw new SoapFault('ErrorSchemaValidation', "The request failed schema validation: The 'Timeout' element is invalid (1..1440 minutes).");
    }
    const scope = subscriptionScope(ctx, pull);
    const subscription = ctx.subscriptions.create({ ...scope, owner: ctx.caller.principal, timeoutInMinutes: timeout });
    const watermark = ctx.subscriptions.watermark(subscription, 0);
    return `<m:ResponseMessages>${responseMessage(name, `<m:SubscriptionId>${subscription.id}</m:SubscriptionId><m:Watermark>${watermark}</m:Watermark>`)}</m:ResponseMessages>`;
  } catch (error) {
    if (error instanceof SoapFault) throw error;
    return `<m:ResponseMessages>${responseMessage(name, '', asEwsError(error))}</m:ResponseMessages>`;
  }
};

function owned(ctx: Parameters<Operation>[0], id: string): PullSubscription {
  const subscription = ctx.subscriptions.get(id);
  if (!subscription || subscription.owner !== ctx.caller.principal) throw new EwsError('ErrorSubscriptionNotFound');
  return subscription;
}

function eventXml(ctx: Parameters<Operation>[0], type: EventTypeName, event: StoreEvent, watermark: string): string {
  const parent = ctx.store.findFolderById(event.parentFolderId);
  const parentXml = parent ? folderIdXml(parent, 't:ParentFolderId') : `<t:ParentFolderId Id="${event.parentFolderId}"/>`;
  const target = event.itemId ? `<t:ItemId Id="${event.itemId}"/>` : `<t:FolderId Id="${event.folderId ?? ''}"/>`;
  let out = `<t:${type}><t:Watermark>${watermark}</t:Watermark><t:TimeStamp>${xmlDate(event.timeStamp)}</t:TimeStamp>${target}${parentXml}`;
  if (type === 'MovedEvent' || type === 'CopiedEvent') {
    out += event.oldItemId ? `<t:OldItemId Id="${event.oldItemId}"/>` : `<t:OldFolderId Id="${event.oldFolderId ?? ''}"/>`;
    out += `<t:OldParentFolderId Id="${event.oldParentFolderId ?? ''}"/>`;
  }
  return out + `</t:${type}>`;
}

export const getEvents: Operation = (ctx, request) => {
  const name = 'GetEventsResponseMessage';
  try {
    const subscription = owned(ctx, childText(request, 'SubscriptionId') ?? '');
    const watermark = childText(request, 'Watermark') ?? '';
    const from = ctx.subscriptions.parseWatermark(subscription, watermark);
    if (from === undefined) throw new EwsError('ErrorInvalidWatermark');
    subscription.lastAccess = Date.now();
    // Presenting a watermark acknowledges every event up to it.
    while (subscription.queue.length && subscription.queue[0]!.sequence <= from) subscription.queue.shift();
    subscription.acknowledged = Math.max(subscription.acknowledged, from);
    const pending = subscription.queue.slice(0, MAX_EVENTS_PER_CALL);
    const more = subscription.queue.length > pending.length;
    let events = '';
    for (const queued of pending) events += eventXml(ctx, queued.type, queued.event, ctx.subscriptions.watermark(subscription, queued.sequence));
    if (pending.length === 0) events = `<t:StatusEvent><t:Watermark>${watermark}</t:Watermark></t:StatusEvent>`;
    const notification =
      `<m:Notification><t:SubscriptionId>${subscription.id}</t:SubscriptionId><t:PreviousWatermark>${watermark}</t:PreviousWatermark>` +
      `<t:MoreEvents>${more}</t:MoreEvents>${events}</m:Notification>`;
    return `<m:ResponseMessages>${responseMessage(name, notification)}</m:ResponseMessages>`;
  } catch (error) {
    return `<m:ResponseMessages>${responseMessage(name, '', asEwsError(error))}</m:ResponseMessages>`;
  }
};

export const unsubscribe: Operation = (ctx, request) => {
  const name = 'UnsubscribeResponseMessage';
  try {
    const subscription = owned(ctx, childText(request, 'SubscriptionId') ?? '');
    ctx.subscriptions.remove(subscription.id);
    return `<m:ResponseMessages>${responseMessage(name, '')}</m:ResponseMessages>`;
  } catch (error) {
    return `<m:ResponseMessages>${responseMessage(name, '', asEwsError(error))}</m:ResponseMessages>`;
  }
};

/** Folders and event types of a subscription request (pull or push), with Exchange's checks. */
function subscriptionScope(ctx: Parameters<Operation>[0], request: Element): { mailbox: string; folderIds: ReadonlySet<string> | 'all'; eventTypes: Set<EventTypeName> } {
  const types = children(child(request, 'EventTypes') ?? request, 'EventType').map((e) => (e.textContent ?? '').trim() as EventTypeName);
  if (types.length === 0 || types.some((t) => !EVENT_TYPES.has(t))) throw new EwsError('ErrorInvalidSubscriptionRequest', 'EventTypes are invalid.');
  const all = parseBoolean(attr(request, 'SubscribeToAllFolders')) ?? false;
  const folders = folderIdElements(child(request, 'FolderIds')).map((e) => resolveFolder(ctx, e));
  const mailbox = folders[0]?.mailbox ?? ctx.actingAs?.smtpAddress;
  if (!mailbox) throw new EwsError('ErrorMissingEmailAddress');
  if (folders.some((f) => f.mailbox !== mailbox)) throw new EwsError('ErrorInvalidSubscriptionRequest', 'All folders of a subscription must be in the same mailbox.');
  if (!all && folders.length === 0) throw new EwsError('ErrorInvalidSubscriptionRequest', 'Specify folders or SubscribeToAllFolders.');
  return { mailbox, folderIds: all ? 'all' : new Set(folders.map((f) => f.id)), eventTypes: new Set(types) };
}

/** Subscribe with PushSubscriptionRequest: Exchange then POSTs SendNotification to URL (push-subscriptions.ts). */
function subscribePush(ctx: Parameters<Operation>[0], push: Element): string {
  const name = 'SubscribeResponseMessage';
  try {
    const frequency = Number(childText(push, 'StatusFrequency') ?? '');
    if (!Number.isInteger(frequency) || frequency < 1 || frequency > 1440) {
      throw new SoapFault('ErrorSchemaValidation', "The request failed schema validation: The 'StatusFrequency' element is invalid (1..1440 minutes).");
    }
    const url = childText(push, 'URL') ?? '';
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) throw new EwsError('ErrorInvalidPushSubscriptionUrl', 'The push subscription URL is invalid.');
    const scope = subscriptionScope(ctx, push);
    const notifier = ctx.subscriptions.push;
    notifier.useEventXml((type, event, watermark) => eventXml(ctx, type, event, watermark));
    const watermark = childText(push, 'Watermark');
    let resumeAfter: number | undefined;
    if (watermark !== undefined) {
      resumeAfter = notifier.parseWatermark(scope.mailbox, watermark);
      if (resumeAfter === undefined) throw new EwsError('ErrorInvalidWatermark');
    }
    const id = notifier.create({ mailbox: scope.mailbox, owner: ctx.caller.principal, folderIds: scope.folderIds, eventTypes: scope.eventTypes, statusFrequencyInMinutes: frequency, url }, resumeAfter);
    const current = watermark ?? notifier.currentWatermark(scope.mailbox);
    return `<m:ResponseMessages>${responseMessage(name, `<m:SubscriptionId>${id}</m:SubscriptionId><m:Watermark>${current}</m:Watermark>`)}</m:ResponseMessages>`;
  } catch (error) {
    if (error instanceof SoapFault) throw error;
    return `<m:ResponseMessages>${responseMessage(name, '', asEwsError(error))}</m:ResponseMessages>`;
  }
}
