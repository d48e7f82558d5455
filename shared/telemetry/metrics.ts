/**
 * The connector's metrics, through the OpenTelemetry API only (no SDK here: cheap to load). The
 * SDK that exports them is started by ./setup (Azure Monitor, console or OTLP) or by a test's
 * in-memory reader. The API has no proxy meter provider, so instruments are (re)created for
 * whichever provider is current: one registered after the first use still gets every later value.
 */
import { metrics, type Counter, type Histogram, type Meter, type MeterProvider, type ObservableGauge } from '@opentelemetry/api';
import { ATTR, groupAttributes, type GroupDimensions } from './attributes';
import { activity } from './activity';

export const METER_NAME = 'exchange-connector';

interface Instruments {
  readonly itemsSynced: Counter;
  readonly syncLag: Histogram;
  readonly pages: Counter;
  readonly throttled: Counter;
  readonly backOff: Counter;
  readonly deliveryAttempts: Counter;
  readonly deliveryFailures: Counter;
  readonly deadLetters: Counter;
  readonly queueAge: Histogram;
  readonly connectionTestFailures: Counter;
  readonly credentialDaysToExpiry: ObservableGauge;
}

let cached: { provider: MeterProvider; instruments: Instruments } | undefined;
/** Latest days-to-expiry per credential, observed at each collection (a gauge, not a sum). */
const credentialExpiry = new Map<string, { readonly value: number; readonly attributes: Record<string, string> }>();

function create(meter: Meter): Instruments {
  const gauge = meter.createObservableGauge('connector.credential.days_to_expiry', { unit: 'd', description: 'Days until a credential expires (negative: expired).' });
  gauge.addCallback((result) => {
    for (const { value, attributes } of credentialExpiry.values()) result.observe(value, attributes);
  });
  return {
    itemsSynced: meter.createCounter('connector.sync.items', { unit: '{item}', description: 'Changes read from mailboxes and handed to delivery.' }),
    syncLag: meter.createHistogram('connector.sync.lag', { unit: 's', description: 'From the change in the mailbox to the delivery target acknowledging it.' }),
    pages: meter.createCounter('connector.sync.pages', { unit: '{page}', description: 'Pages of changes read (SyncFolderItems / delta pages).' }),
    throttled: meter.createCounter('connector.sync.throttled', { unit: '{event}', description: 'Times Exchange throttled a sync job.' }),
    backOff: meter.createCounter('connector.sync.backoff', { unit: 's', description: 'Seconds jobs were put back on the queue because of throttling.' }),
    deliveryAttempts: meter.createCounter('connector.delivery.attempts', { unit: '{attempt}', description: 'Delivery attempts of change batches.' }),
    deliveryFailures: meter.createCounter('connector.delivery.failures', { unit: '{attempt}', description: 'Failed delivery attempts, by error code.' }),
    deadLetters: meter.createCounter('connector.delivery.dead_letters', { unit: '{batch}', description: 'Change batches dead-lettered after the last attempt.' }),
    queueAge: meter.createHistogram('connector.queue.message_age', { unit: 's', description: 'How long a message waited in its queue before a function took it.' }),
    connectionTestFailures: meter.createCounter('connector.connection_test.failures', { unit: '{test}', description: 'Failed connection tests, by the failing step\'s code.' }),
    credentialDaysToExpiry: gauge,
  };
}

function instruments(): Instruments {
  const provider = metrics.getMeterProvider();
  if (cached?.provider !== provider) cached = { provider, instruments: create(provider.getMeter(METER_NAME)) };
  return cached.instruments;
}

export function recordItemsSynced(count: number, dimensions: GroupDimensions, initial: boolean): void {
  if (count <= 0) return;
  instruments().itemsSynced.add(count, groupAttributes(dimensions));
  activity.itemsSynced(count, initial);
}

export function recordPages(count: number, dimensions: GroupDimensions): void {
  if (count > 0) instruments().pages.add(count, groupAttributes(dimensions));
}

export function recordThrottled(backOffSeconds: number, dimensions: GroupDimensions): void {
  const attributes = groupAttributes(dimensions);
  instruments().throttled.add(1, attributes);
  instruments().backOff.add(Math.max(0, backOffSeconds), attributes);
  activity.throttled();
}

export function recordMailboxSynced(outcome: 'completed' | 'failed'): void {
  activity.mailboxSynced(outcome);
}

export function recordSyncLag(lagSeconds: readonly number[], dimensions: GroupDimensions): void {
  const attributes = groupAttributes(dimensions);
  for (const lag of lagSeconds) if (Number.isFinite(lag) && lag >= 0) instruments().syncLag.record(lag, attributes);
}

export function recordDeliveryAttempt(dimensions: GroupDimensions, target: string, outcome: { readonly ok: true } | { readonly ok: false; readonly code: string; readonly deadLettered: boolean }): void {
  const attributes = { ...groupAttributes(dimensions), [ATTR.target]: target };
  instruments().deliveryAttempts.add(1, attributes);
  if (outcome.ok) {
    activity.batchDelivered();
    return;
  }
  instruments().deliveryFailures.add(1, { ...attributes, [ATTR.errorCode]: outcome.code });
  if (outcome.deadLettered) instruments().deadLetters.add(1, attributes);
  activity.deliveryFailed(outcome.deadLettered);
}

export function recordQueueAge(queue: string, ageSeconds: number): void {
  if (Number.isFinite(ageSeconds) && ageSeconds >= 0) instruments().queueAge.record(ageSeconds, { [ATTR.queue]: queue });
}

export function recordConnectionTestFailure(code: string, step: string, dimensions: GroupDimensions): void {
  instruments().connectionTestFailures.add(1, { ...groupAttributes(dimensions), [ATTR.errorCode]: code, [ATTR.testStep]: step });
}

/** Replaces the observed days-to-expiry of one credential (key: its secret reference). */
export function recordCredentialDaysToExpiry(key: string, days: number | undefined, dimensions: GroupDimensions & { readonly kind: string }): void {
  instruments();
  if (days === undefined) credentialExpiry.delete(key);
  else credentialExpiry.set(key, { value: days, attributes: { ...groupAttributes(dimensions), [ATTR.credentialKind]: dimensions.kind } });
}
