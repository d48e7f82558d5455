/**
 * Exponential backoff with full jitter for delivery attempts. Retries go through the queue
 * (a new message with a visibility delay), so no worker sits waiting and the schedule
 * survives restarts; the host's own poison handling stays a last-resort safety net.
 */
export interface RetrySchedule {
  /** Attempts in total, the first included. */
  readonly maxAttempts: number;
  readonly baseDelayInSeconds: number;
  readonly maxDelayInSeconds: number;
}

export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = { maxAttempts: 8, baseDelayInSeconds: 30, maxDelayInSeconds: 3600 };

/** Delay before attempt `nextAttempt` (2..maxAttempts): base * 2^(n-2), capped, jittered to [50%, 100%]. */
export function retryDelayInSeconds(schedule: RetrySchedule, nextAttempt: number, random: () => number = Math.random): number {
  const exponential = schedule.baseDelayInSeconds * 2 ** Math.max(0, nextAttempt - 2);
  const capped = Math.min(schedule.maxDelayInSeconds, exponential);
  return capped / 2 + random() * (capped / 2);
}
