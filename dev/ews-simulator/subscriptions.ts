/**
 * Pull subscriptions (Subscribe / GetEvents / Unsubscribe). Each subscription queues the store
 * events of its mailbox that match its folders and event types; watermarks are opaque positions
 * in that queue.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { EwsStore, StoreEvent } from './model';
import { PushNotifier, STORE_TO_EWS, type PushEventType, type PushNotifierOptions } from './push-subscriptions';

export type EventTypeName = PushEventType;

export interface QueuedEvent {
  readonly sequence: number;
  readonly type: EventTypeName;
  readonly event: StoreEvent;
}

export interface PullSubscription {
  readonly id: string;
  readonly mailbox: string;
  /** Principal that created it; only it may read or remove it. */
  readonly owner: string;
  readonly folderIds: ReadonlySet<string> | 'all';
  readonly eventTypes: ReadonlySet<EventTypeName>;
  readonly timeoutInMs: number;
  lastAccess: number;
  /** Events not yet acknowledged, ascending by sequence. */
  readonly queue: QueuedEvent[];
  nextSequence: number;
  /** Sequence of the last event the client acknowledged by presenting its watermark. */
  acknowledged: number;
}

/** Events returned per GetEvents call at most; MoreEvents says when there are more. */
export const MAX_EVENTS_PER_CALL = 50;

export class SubscriptionRegistry {
  private readonly subscriptions = new Map<string, PullSubscription>();
  private readonly unsubscribeStore: () => void;
  private readonly key = randomBytes(16);
  /** Push subscriptions (SendNotification to the subscriber's URL); see push-subscriptions.ts. */
  readonly push: PushNotifier;

  constructor(store: EwsStore, pushOptions: PushNotifierOptions = {}) {
    this.push = new PushNotifier(pushOptions);
    this.unsubscribeStore = store.onChange((event) => {
      this.dispatch(event);
      this.push.record(event);
    });
  }

  create(input: { mailbox: string; owner: string; folderIds: ReadonlySet<string> | 'all'; eventTypes: ReadonlySet<EventTypeName>; timeoutInMinutes: number }): PullSubscription {
    const id = Buffer.concat([Buffer.from([0x1b, 0x00]), randomBytes(16), Buffer.from(input.mailbox, 'utf8')]).toString('base64');
    const subscription: PullSubscription = {
      id,
      mailbox: input.mailbox,
      owner: input.owner,
      folderIds: input.folderIds,
      eventTypes: input.eventTypes,
      timeoutInMs: input.timeoutInMinutes * 60_000,
      lastAccess: Date.now(),
      queue: [],
      nextSequence: 1,
      acknowledged: 0,
    };
    this.subscriptions.set(id, subscription);
    return subscription;
  }

  /** The subscription if it exists and has not timed out (expired ones are removed). */
  get(id: string): PullSubscription | undefined {
    const subscription = this.subscriptions.get(id);
    if (!subscription) return undefined;
    if (Date.now() - subscription.lastAccess > subscription.timeoutInMs) {
      this.subscriptions.delete(id);
      return undefined;
    }
    return subscription;
  }

  remove(id: string): boolean {
    return this.subscriptions.delete(id);
  }

  count(): number {
    return this.subscriptions.size;
  }

  watermark(subscription: PullSubscription, sequence: number): string {
    const body = Buffer.alloc(8);
    body.writeUInt32BE(sequence >>> 0, 0);
    body.write(createHash('sha256').update(this.key).update(subscription.id).update(String(sequence)).digest('hex').slice(0, 8), 4, 'hex');
    return Buffer.concat([Buffer.from('AQAAA', 'utf8'), body]).toString('base64');
  }

  /** The sequence a watermark names, or undefined if it is not one of this subscription's. */
  parseWatermark(subscription: PullSubscription, watermark: string): number | undefined {
    const bytes = Buffer.from(watermark, 'base64');
    if (bytes.length !== 13 || bytes.subarray(0, 5).toString('utf8') !== 'AQAAA') return undefined;
    const sequence = bytes.readUInt32BE(5);
    return this.watermark(subscription, sequence) === watermark ? sequence : undefined;
  }

  close(): void {
    this.unsubscribeStore();
    this.subscriptions.clear();
    this.push.close();
  }

  private dispatch(event: StoreEvent): void {
    const type = STORE_TO_EWS[event.type];
    for (const subscription of this.subscriptions.values()) {
      if (subscription.mailbox !== event.mailbox || !subscription.eventTypes.has(type)) continue;
      if (subscription.folderIds !== 'all' && !subscription.folderIds.has(event.parentFolderId) && !(event.oldParentFolderId && subscription.folderIds.has(event.oldParentFolderId))) continue;
      subscription.queue.push({ sequence: subscription.nextSequence++, type, event });
      // Bound memory for abandoned subscriptions: Exchange also drops old events.
      if (subscription.queue.length > 10_000) subscription.queue.splice(0, subscription.queue.length - 10_000);
    }
  }
}
