/**
 * Retry decisions for Graph calls, kept apart from the calls (the same ThrottlingPolicy contract
 * and withRetries loop the EWS layer uses). Short delays may be waited in-process; anything longer
 * leaves as RetryLaterError and the sync worker re-queues the job with a visibility delay.
 */
import type { RetryDecision, ThrottlingPolicy } from '../ews/throttling-policy';
import { GraphServiceError } from './errors';

export interface GraphRetryPolicyOptions {
  /** Attempts in total, the first included. Default 4. */
  readonly maxAttempts?: number;
  /** First back-off when the server named no delay. Default 1,000 ms; doubles per attempt. */
  readonly baseDelayInMs?: number;
  /** Cap for computed back-offs (a server-named Retry-After is honoured even when longer). Default 5 minutes. */
  readonly maxDelayInMs?: number;
  readonly random?: () => number;
}

export function createGraphRetryPolicy(options: GraphRetryPolicyOptions = {}): ThrottlingPolicy {
  const maxAttempts = options.maxAttempts ?? 4;
  const baseDelayInMs = options.baseDelayInMs ?? 1_000;
  const maxDelayInMs = options.maxDelayInMs ?? 300_000;
  const random = options.random ?? Math.random;
  const backOff = (attempt: number): number => {
    const ceiling = Math.min(maxDelayInMs, baseDelayInMs * 2 ** Math.max(0, attempt - 1));
    return Math.round(ceiling / 2 + (random() * ceiling) / 2);
  };
  return {
    decide(error: unknown, attempt: number): RetryDecision {
      if (!(error instanceof GraphServiceError)) return { action: 'giveUp', reason: 'not a Graph failure', transient: false };
      const exhausted = attempt >= maxAttempts;
      if (error.kind === 'throttled' || error.kind === 'unavailable') {
        if (exhausted) return { action: 'giveUp', reason: `${error.code} after ${attempt} attempts`, transient: true };
        // Graph documents Retry-After as the minimum wait: never retry sooner.
        return { action: 'retry', delayInMs: error.retryAfterInMs ?? backOff(attempt), reason: `${error.kind} (${error.code})` };
      }
      return { action: 'giveUp', reason: `${error.kind} failure (${error.code}) will not pass by retrying`, transient: false };
    },
  };
}
