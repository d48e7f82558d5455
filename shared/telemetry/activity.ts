/**
 * A short periodic summary of what this process did, instead of a log line per job: one info
 * line every LOG_SUMMARY_INTERVAL_SECONDS (default 60; 0 turns it off) when anything happened.
 * Per-job lines are at debug. Per process: scaled out, each instance reports its own share
 * (the metrics give the whole picture).
 */
import { createLogger, type Logger } from '../logging';

interface Counts {
  mailboxesSynced: number;
  mailboxesFailed: number;
  items: number;
  initialItems: number;
  batchesDelivered: number;
  deliveryFailures: number;
  deadLetters: number;
  throttled: number;
}

const zero = (): Counts => ({ mailboxesSynced: 0, mailboxesFailed: 0, items: 0, initialItems: 0, batchesDelivered: 0, deliveryFailures: 0, deadLetters: 0, throttled: 0 });

export function summaryIntervalInMs(env: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(env['LOG_SUMMARY_INTERVAL_SECONDS'] ?? '60');
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0;
}

export function formatSummary(counts: Counts, periodInMs: number): string {
  const seconds = Math.max(1, Math.round(periodInMs / 1000));
  const parts = [
    `${counts.mailboxesSynced} mailbox sync${counts.mailboxesSynced === 1 ? '' : 's'} completed${counts.mailboxesFailed ? `, ${counts.mailboxesFailed} failed` : ''}`,
    `${counts.items.toLocaleString('en-US')} items${counts.initialItems ? ` (${counts.initialItems.toLocaleString('en-US')} in initial syncs)` : ''}`,
    `${counts.batchesDelivered} batches delivered${counts.deliveryFailures ? `, ${counts.deliveryFailures} delivery failures` : ''}${counts.deadLetters ? `, ${counts.deadLetters} dead-lettered` : ''}`,
    ...(counts.throttled ? [`throttled ${counts.throttled}×`] : []),
  ];
  return `Sync summary (last ${seconds} s): ${parts.join('; ')}`;
}

class ActivitySummary {
  private counts = zero();
  private since = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private logger: Logger | undefined;

  /** Where summaries go (tests capture them); default a console logger. */
  useLogger(logger: Logger | undefined): void {
    this.logger = logger;
  }

  itemsSynced(count: number, initial: boolean): void {
    this.touch();
    this.counts.items += count;
    if (initial) this.counts.initialItems += count;
  }
  mailboxSynced(outcome: 'completed' | 'failed'): void {
    this.touch();
    if (outcome === 'completed') this.counts.mailboxesSynced++;
    else this.counts.mailboxesFailed++;
  }
  batchDelivered(): void {
    this.touch();
    this.counts.batchesDelivered++;
  }
  deliveryFailed(deadLettered: boolean): void {
    this.touch();
    this.counts.deliveryFailures++;
    if (deadLettered) this.counts.deadLetters++;
  }
  throttled(): void {
    this.touch();
    this.counts.throttled++;
  }

  /** Writes the summary now (if anything happened) and starts a new period. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const counts = this.counts;
    const period = Date.now() - this.since;
    this.counts = zero();
    if (Object.values(counts).every((value) => value === 0)) return;
    (this.logger ?? createLogger({ component: 'summary' })).info(formatSummary(counts, period));
  }

  /** The first event of an idle period starts its clock; the summary follows one interval later. */
  private touch(): void {
    if (this.timer) return;
    const interval = summaryIntervalInMs();
    if (interval === 0) return;
    this.since = Date.now();
    this.timer = setTimeout(() => this.flush(), interval);
    // A summary never keeps a process (or a test) alive.
    this.timer.unref();
  }
}

export const activity = new ActivitySummary();
