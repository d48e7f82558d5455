/**
 * Retry decisions for Graph calls, kept apart from the calls (the same ThrottlingPolicy contract
 * and withRetries loop the EWS layer uses). Short delays may be waited in-process; anything longer
 * leaves as RetryLaterError and the sync worker re-queues the job with a visibility delay.
 */
import { backOffSchedule } from '../ews/throttling-policy';
import type { RetryDecision, ThrottlingPolicy, ThrottlingPolicyOptions } from '../ews/throttling-policy';
import { GraphServiceError } from './errors';

/** The EWS policy's options; maxAttempts defaults to 4 here. */
export type GraphRetryPolicyOptions = ThrottlingPolicyOptions;

export function createGraphRetryPolicy(options: GraphRetryPolicyOptions = {}): ThrottlingPolicy {
  const maxAttempts = options.maxAttempts ?? 4;
  const backOff = backOffSchedule(options);
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
