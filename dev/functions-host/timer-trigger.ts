/**
 * Timer triggers as the Functions host runs them: a 6-field NCRONTAB schedule (seconds
 * first, parsed by cron-parser) or a TimeSpan interval, evaluated in UTC unless the
 * WEBSITE_TIME_ZONE / TZ setting names an IANA zone; `runOnStartup`; never two runs of the
 * same timer at once: the next occurrence is scheduled after the current run completes.
 * `useMonitor` is ignored (no schedule status is persisted), so `isPastDue` is true when the
 * host fired late enough to miss at least one occurrence.
 * https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer
 */
import { CronExpressionParser } from 'cron-parser';
import { trigger } from '@azure/functions';
import type { Timer, TimerFunctionOptions } from '@azure/functions';
import { parseTimeSpan } from './host-config';
import type { HostLogSink } from './host-log';
import type { InvocationTracker } from './invocations';

export class TimerScheduleError extends Error {
  readonly code = 'TimerScheduleError';
}

/** .NET's DateTime.MinValue, which the host reports as `last` before a timer has ever fired. */
const NEVER = '0001-01-01T00:00:00.000Z';
/** setTimeout's largest delay; longer waits are chained. */
const MAX_TIMEOUT_IN_MS = 2_147_483_647;

export interface Schedule {
  readonly description: string;
  /** The first occurrence strictly after `after`. */
  next(after: Date): Date;
}

export function parseSchedule(expression: string, timeZone: string | undefined): Schedule {
  const text = expression.trim();
  if (/^(\d+\.)?\d{1,2}:\d{1,2}:\d{1,2}$/.test(text)) {
    const intervalInMs = parseTimeSpan(text, 'schedule');
    if (intervalInMs <= 0) throw new TimerScheduleError(`Timer schedule '${expression}' must be a positive interval`);
    return { description: `every ${intervalInMs} ms`, next: (after) => new Date(after.getTime() + intervalInMs) };
  }
  const fields = text.split(/\s+/);
  if (fields.length !== 6) {
    throw new TimerScheduleError(`Timer schedule '${expression}' must be an NCRONTAB expression with 6 fields ({second} {minute} {hour} {day} {month} {day-of-week})`);
  }
  const tz = timeZone ?? 'UTC';
  try {
    CronExpressionParser.parse(text, { tz });
  } catch (error) {
    throw new TimerScheduleError(`Timer schedule '${expression}' is not valid: ${(error as Error).message}`);
  }
  return {
    description: `'${text}' (${tz})`,
    next: (after) => CronExpressionParser.parse(text, { tz, currentDate: after }).next().toDate(),
  };
}

export interface TimerTriggerOptions {
  readonly functionName: string;
  readonly options: TimerFunctionOptions;
  readonly schedule: Schedule;
  readonly tracker: InvocationTracker;
  readonly log: HostLogSink;
}

export class TimerTrigger {
  private timeout: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastScheduled: Date | undefined;
  private current: Promise<void> | undefined;

  constructor(private readonly settings: TimerTriggerOptions) {}

  start(): void {
    const { functionName, schedule, log } = this.settings;
    log('debug', `Timer '${functionName}': schedule ${schedule.description}, next run at ${schedule.next(new Date()).toISOString()}`);
    if (this.settings.options.runOnStartup) {
      this.current = this.invoke(new Date(), false, 'Timer fired at startup (runOnStartup)').then(() => this.arm());
    } else this.arm();
  }

  /** Stops scheduling; a run already in progress is left to the host's shutdown to await. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timeout);
    this.timeout = undefined;
  }

  private arm(): void {
    if (this.stopped) return;
    const occurrence = this.settings.schedule.next(new Date());
    this.waitUntil(occurrence);
  }

  private waitUntil(occurrence: Date): void {
    if (this.stopped) return;
    const delayInMs = occurrence.getTime() - Date.now();
    if (delayInMs > 0) {
      // Timers may fire a millisecond early or need chaining past 24.8 days: re-check on wake.
      this.timeout = setTimeout(() => this.waitUntil(occurrence), Math.min(delayInMs, MAX_TIMEOUT_IN_MS));
      return;
    }
    const firedAt = new Date();
    const isPastDue = this.settings.schedule.next(occurrence).getTime() <= firedAt.getTime();
    this.current = this.invoke(occurrence, isPastDue, `Timer fired at ${firedAt.toISOString()}`).then(() => this.arm());
  }

  private async invoke(occurrence: Date, isPastDue: boolean, reason: string): Promise<void> {
    if (this.stopped) return;
    const { functionName, options, tracker, schedule } = this.settings;
    const now = new Date();
    const timer: Timer = {
      isPastDue,
      schedule: { adjustForDST: true },
      scheduleStatus: {
        last: this.lastScheduled?.toISOString() ?? NEVER,
        next: schedule.next(occurrence > now ? occurrence : now).toISOString(),
        lastUpdated: now.toISOString(),
      },
    };
    this.lastScheduled = occurrence;
    const triggerBinding = trigger.timer({ schedule: options.schedule, ...(options.runOnStartup !== undefined ? { runOnStartup: options.runOnStartup } : {}), ...(options.useMonitor !== undefined ? { useMonitor: options.useMonitor } : {}) });
    try {
      await tracker.run({ functionName, trigger: 'timer', triggerBinding, reason, triggerMetadata: { timer } }, async (context) => {
        await options.handler(timer, context);
      });
    } catch {
      // Logged by the tracker; a failed run does not stop the schedule.
    }
  }

  /** Runs the function now, as the admin API's "invoke" does (outside the schedule). */
  invokeManually(): Promise<void> {
    return this.invoke(new Date(), false, 'This function was programmatically called via the host APIs.');
  }

  /** Exposed for shutdown diagnostics: the run in progress, if any. */
  get inProgress(): Promise<void> | undefined {
    return this.current;
  }
}
