/**
 * Push subscriptions (Subscribe with PushSubscriptionRequest) as Exchange runs them: the server
 * POSTs `SendNotification` SOAP requests to the subscriber's URL when events happen and, when
 * nothing happened, a StatusEvent every StatusFrequency minutes. The subscriber answers
 * `SendNotificationResult` with SubscriptionStatus OK (keep going) or Unsubscribe (end it).
 *
 * Retries follow Microsoft's description of StatusFrequency: a failed send (no answer, an HTTP
 * error, an unreadable answer) is retried 30 s later, each further retry waits twice as long as the
 * one before, and once the next retry would fall after StatusFrequency minutes from the first
 * failure the server stops and the subscription is gone (docs/ews-simulator.md, "Push
 * subscriptions"). `minuteInMs` scales "a minute" (and the 30 s) down for tests.
 *
 * Watermarks are positions in a per-mailbox event journal (not per subscription), so a new
 * subscription given the last watermark of an old one receives the events it missed, as Exchange
 * resumes from a watermark in the Subscribe request.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { StoreEvent } from './model';
import { responseMessage } from './soap';
import { NS, child, parseXml, path, text } from './xml';

export type PushEventType = 'NewMailEvent' | 'CreatedEvent' | 'DeletedEvent' | 'ModifiedEvent' | 'MovedEvent' | 'CopiedEvent' | 'FreeBusyChangedEvent';

/** Store events as EWS event types (pull subscriptions use the same map). */
export const STORE_TO_EWS: Record<StoreEvent['type'], PushEventType> = {
  NewMail: 'NewMailEvent',
  Created: 'CreatedEvent',
  Deleted: 'DeletedEvent',
  Modified: 'ModifiedEvent',
  Moved: 'MovedEvent',
  Copied: 'CopiedEvent',
};

/** Exchange's first retry delay; later ones double (StatusFrequency element reference). */
const FIRST_RETRY_IN_SECONDS = 30;
/** Events per SendNotification at most; MoreEvents says when there are more. */
const MAX_EVENTS_PER_NOTIFICATION = 50;
const JOURNAL_LIMIT = 10_000;

interface JournalEntry {
  readonly sequence: number;
  readonly type: PushEventType;
  readonly event: StoreEvent;
}

export interface PushSubscriptionInput {
  readonly mailbox: string;
  readonly owner: string;
  readonly folderIds: ReadonlySet<string> | 'all';
  readonly eventTypes: ReadonlySet<PushEventType>;
  readonly statusFrequencyInMinutes: number;
  readonly url: string;
  /** Resume after this watermark (from an earlier subscription of the same mailbox). */
  readonly watermark?: string;
}

export interface PushSubscriptionView {
  readonly id: string;
  readonly mailbox: string;
  readonly url: string;
  readonly statusFrequencyInMinutes: number;
  readonly state: 'active' | 'retrying' | 'dropped';
  /** Why it ended: the subscriber answered Unsubscribe, the callback kept failing, or the control API dropped it. */
  readonly endReason?: 'unsubscribed' | 'callbackFailed' | 'droppedByControl';
  readonly notificationsSent: number;
  readonly failedAttempts: number;
  readonly lastSentAt?: string;
}

interface PushSubscription {
  readonly id: string;
  readonly input: PushSubscriptionInput;
  acknowledged: number;
  sending: boolean;
  /** When the current run of failures began (undefined while healthy). */
  failingSince?: number;
  nextRetryInMs: number;
  timer?: NodeJS.Timeout;
  lastSuccessAt: number;
  notificationsSent: number;
  failedAttempts: number;
  lastSentAt?: Date;
  ended?: PushSubscriptionView['endReason'];
}

/** Renders one event (shared with GetEvents' shape). */
export type EventXml = (type: PushEventType, event: StoreEvent, watermark: string) => string;

export interface PushNotifierOptions {
  /** Milliseconds that count as one minute of StatusFrequency and of the retry schedule (default 60,000). */
  minuteInMs?: number;
  /** Per-request deadline of a SendNotification POST (default 30 s, scaled with minuteInMs, at least 1 s). */
  readonly timeoutInMs?: number;
  /** Sees every SendNotification body the simulator sends (tests validate them against the schema). */
  readonly onSend?: (xml: string) => void;
}

export class PushNotifier {
  private readonly subscriptions = new Map<string, PushSubscription>();
  private readonly journals = new Map<string, JournalEntry[]>();
  private readonly key = randomBytes(16);
  private nextSequence = 1;
  private eventXml: EventXml | undefined;
  private closed = false;

  constructor(private readonly options: PushNotifierOptions = {}) {}

  get minuteInMs(): number {
    return this.options.minuteInMs ?? 60_000;
  }

  set minuteInMs(value: number) {
    this.options.minuteInMs = value;
  }

  /** True: every SendNotification fails as if the subscriber's endpoint were unreachable (tests of an outage). */
  callbacksUnreachable = false;

  /** Set by the Subscribe operation (the event XML lives with GetEvents). */
  useEventXml(render: EventXml): void {
    this.eventXml ??= render;
  }

  /** Records a store event in its mailbox's journal and wakes the subscriptions that want it. */
  record(event: StoreEvent): void {
    const type = STORE_TO_EWS[event.type];
    const mailbox = event.mailbox.toLowerCase();
    const journal = this.journals.get(mailbox) ?? [];
    this.journals.set(mailbox, journal);
    journal.push({ sequence: this.nextSequence++, type, event });
    if (journal.length > JOURNAL_LIMIT) journal.splice(0, journal.length - JOURNAL_LIMIT);
    for (const subscription of this.subscriptions.values()) {
      if (!subscription.ended && subscription.input.mailbox === mailbox && this.matches(subscription, journal[journal.length - 1]!)) this.schedule(subscription, 0);
    }
  }

  /** The watermark of the newest journal position of a mailbox (Subscribe's answer). */
  currentWatermark(mailbox: string): string {
    const journal = this.journals.get(mailbox.toLowerCase());
    return this.watermark(mailbox, journal?.length ? journal[journal.length - 1]!.sequence : this.nextSequence - 1);
  }

  /** The journal position a watermark names, or undefined when it is not this mailbox's or has left the journal. */
  parseWatermark(mailbox: string, watermark: string): number | undefined {
    const bytes = Buffer.from(watermark, 'base64');
    if (bytes.length !== 14 || bytes.subarray(0, 2).toString('latin1') !== 'PW') return undefined;
    const sequence = Number(bytes.readBigUInt64BE(2));
    if (this.watermark(mailbox, sequence) !== watermark) return undefined;
    const journal = this.journals.get(mailbox.toLowerCase()) ?? [];
    // Older than the journal keeps: the events in between are lost, so the watermark is no good.
    if (journal.length > 0 && sequence < journal[0]!.sequence - 1) return undefined;
    return sequence;
  }

  create(input: PushSubscriptionInput, resumeAfter: number | undefined): string {
    const mailbox = input.mailbox.toLowerCase();
    const id = Buffer.concat([Buffer.from([0x1c, 0x00]), randomBytes(16), Buffer.from(mailbox, 'utf8')]).toString('base64');
    const journal = this.journals.get(mailbox);
    const subscription: PushSubscription = {
      id,
      input: { ...input, mailbox },
      acknowledged: resumeAfter ?? (journal?.length ? journal[journal.length - 1]!.sequence : this.nextSequence - 1),
      sending: false,
      nextRetryInMs: 0,
      lastSuccessAt: Date.now(),
      notificationsSent: 0,
      failedAttempts: 0,
    };
    this.subscriptions.set(id, subscription);
    // Events after the given watermark are sent at once; otherwise the first status ping is due
    // after StatusFrequency minutes.
    this.schedule(subscription, this.pending(subscription).length > 0 ? 0 : this.statusIntervalInMs(subscription));
    return id;
  }

  list(): PushSubscriptionView[] {
    return [...this.subscriptions.values()].map((s) => ({
      id: s.id,
      mailbox: s.input.mailbox,
      url: s.input.url,
      statusFrequencyInMinutes: s.input.statusFrequencyInMinutes,
      state: s.ended ? 'dropped' : s.failingSince !== undefined ? 'retrying' : 'active',
      ...(s.ended ? { endReason: s.ended } : {}),
      notificationsSent: s.notificationsSent,
      failedAttempts: s.failedAttempts,
      ...(s.lastSentAt ? { lastSentAt: s.lastSentAt.toISOString() } : {}),
    }));
  }

  /** Ends a subscription without telling the subscriber (as a restarted or failed-over server loses it). */
  drop(id: string): boolean {
    const subscription = this.subscriptions.get(id);
    if (!subscription || subscription.ended) return false;
    this.end(subscription, 'droppedByControl');
    return true;
  }

  close(): void {
    this.closed = true;
    for (const subscription of this.subscriptions.values()) clearTimeout(subscription.timer);
    this.subscriptions.clear();
  }

  private matches(subscription: PushSubscription, entry: JournalEntry): boolean {
    const { folderIds, eventTypes } = subscription.input;
    if (!eventTypes.has(entry.type)) return false;
    if (folderIds === 'all') return true;
    return folderIds.has(entry.event.parentFolderId) || (entry.event.oldParentFolderId !== undefined && folderIds.has(entry.event.oldParentFolderId));
  }

  private pending(subscription: PushSubscription): JournalEntry[] {
    const journal = this.journals.get(subscription.input.mailbox) ?? [];
    return journal.filter((entry) => entry.sequence > subscription.acknowledged && this.matches(subscription, entry));
  }

  private statusIntervalInMs(subscription: PushSubscription): number {
    return subscription.input.statusFrequencyInMinutes * this.minuteInMs;
  }

  private schedule(subscription: PushSubscription, delayInMs: number): void {
    if (this.closed || subscription.ended) return;
    // While retrying after a failure, new events wait for the retry (they go with it).
    if (subscription.failingSince !== undefined && delayInMs === 0) return;
    if (subscription.sending) return;
    clearTimeout(subscription.timer);
    subscription.timer = setTimeout(() => void this.send(subscription), delayInMs);
    subscription.timer.unref();
  }

  private watermark(mailbox: string, sequence: number): string {
    const body = Buffer.alloc(12);
    body.writeBigUInt64BE(BigInt(sequence), 0);
    createHmac('sha256', this.key).update(`${mailbox.toLowerCase()}\n${sequence}`).digest().copy(body, 8, 0, 4);
    return Buffer.concat([Buffer.from('PW', 'latin1'), body]).toString('base64');
  }

  /** The SendNotification request body (the element inside soap:Body) for what is pending now. */
  private notificationXml(subscription: PushSubscription, pending: readonly JournalEntry[]): { xml: string; upTo: number } {
    const mailbox = subscription.input.mailbox;
    const previous = this.watermark(mailbox, subscription.acknowledged);
    const batch = pending.slice(0, MAX_EVENTS_PER_NOTIFICATION);
    const render = this.eventXml;
    let events = '';
    if (batch.length === 0 || !render) events = `<t:StatusEvent><t:Watermark>${previous}</t:Watermark></t:StatusEvent>`;
    else for (const entry of batch) events += render(entry.type, entry.event, this.watermark(mailbox, entry.sequence));
    const notification =
      `<m:Notification><t:SubscriptionId>${subscription.id}</t:SubscriptionId><t:PreviousWatermark>${previous}</t:PreviousWatermark>` +
      `<t:MoreEvents>${pending.length > batch.length}</t:MoreEvents>${events}</m:Notification>`;
    const xml =
      `<m:SendNotification xmlns:m="${NS.messages}" xmlns:t="${NS.types}"><m:ResponseMessages>` +
      responseMessage('SendNotificationResponseMessage', notification) +
      '</m:ResponseMessages></m:SendNotification>';
    return { xml, upTo: batch.length > 0 && render ? batch[batch.length - 1]!.sequence : subscription.acknowledged };
  }

  private async send(subscription: PushSubscription): Promise<void> {
    if (this.closed || subscription.ended || subscription.sending) return;
    subscription.sending = true;
    const { xml, upTo } = this.notificationXml(subscription, this.pending(subscription));
    this.options.onSend?.(xml);
    let answer: 'OK' | 'Unsubscribe' | 'failed';
    try {
      if (this.callbacksUnreachable) throw new Error('callback endpoint unreachable (control setting)');
      answer = await this.post(subscription.input.url, xml);
    } catch {
      answer = 'failed';
    }
    subscription.sending = false;
    subscription.notificationsSent++;
    subscription.lastSentAt = new Date();
    if (this.closed || subscription.ended) return;
    if (answer === 'Unsubscribe') return this.end(subscription, 'unsubscribed');
    if (answer === 'failed') return this.retry(subscription);
    subscription.acknowledged = Math.max(subscription.acknowledged, upTo);
    subscription.failingSince = undefined;
    subscription.nextRetryInMs = 0;
    subscription.lastSuccessAt = Date.now();
    this.schedule(subscription, this.pending(subscription).length > 0 ? 0 : this.statusIntervalInMs(subscription));
  }

  private retry(subscription: PushSubscription): void {
    subscription.failedAttempts++;
    const now = Date.now();
    subscription.failingSince ??= now;
    // Retry n comes 30 s × 2^(n-1) after the first failure (30 s, 1, 2, 4, 8, 16 min: Microsoft's
    // table for the default 30 minutes), and none is sent past StatusFrequency minutes.
    subscription.nextRetryInMs = subscription.nextRetryInMs === 0 ? (FIRST_RETRY_IN_SECONDS * this.minuteInMs) / 60 : subscription.nextRetryInMs * 2;
    if (subscription.nextRetryInMs > this.statusIntervalInMs(subscription)) return this.end(subscription, 'callbackFailed');
    clearTimeout(subscription.timer);
    subscription.timer = setTimeout(() => void this.send(subscription), Math.max(0, subscription.failingSince + subscription.nextRetryInMs - now));
    subscription.timer.unref();
  }

  private end(subscription: PushSubscription, reason: NonNullable<PushSubscription['ended']>): void {
    clearTimeout(subscription.timer);
    subscription.ended = reason;
  }

  private async post(url: string, body: string): Promise<'OK' | 'Unsubscribe' | 'failed'> {
    const timeoutInMs = this.options.timeoutInMs ?? Math.max(1000, this.minuteInMs / 2);
    const envelope =
      '<?xml version="1.0" encoding="utf-8"?>' +
      `<soap:Envelope xmlns:soap="${NS.soap}"><soap:Header><t:RequestServerVersion xmlns:t="${NS.types}" Version="Exchange2013_SP1"/></soap:Header>` +
      `<soap:Body>${body}</soap:Body></soap:Envelope>`;
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '"http://schemas.microsoft.com/exchange/services/2006/messages/SendNotification"', 'user-agent': 'ExchangeServicesClient/15.20.7452.010' },
      body: envelope,
      signal: AbortSignal.timeout(timeoutInMs),
      redirect: 'manual',
    });
    const answer = await response.text();
    if (response.status !== 200) return 'failed';
    const document = parseXml(answer);
    const root = document.documentElement;
    if (!root) return 'failed';
    const soapBody = child(root, 'Body', NS.soap);
    const result = soapBody && path(soapBody, 'SendNotificationResult', 'SubscriptionStatus');
    const status = text(result)?.trim();
    if (status === 'OK' || status === 'Unsubscribe') return status;
    return 'failed';
  }
}
