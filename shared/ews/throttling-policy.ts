/**
 * Retry and throttling decisions, kept apart from the EWS calls. The policy only decides; the sync
 * engine acts: short delays may be waited in-process (withRetries), long ones become a queue message
 * with a visibility delay, because a function must never sleep through Exchange's back-off.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { EwsError, EwsResponseError, EwsThrottledError, EwsUnavailableError } from './errors';

export type RetryDecision =
  | { readonly action: 'retry'; readonly delayInMs: number; readonly reason: string }
  | {
      readonly action: 'giveUp';
      readonly reason: string;
      /** True when the same call may succeed later (attempts exhausted on a transient failure); false when someone must fix something first. */
      readonly transient: boolean;
    };

export interface ThrottlingPolicyOptions {
  /** Attempts in total, the first included. Default 5. */
  readonly maxAttempts?: number;
  /** First back-off for failures that name no delay. Default 1,000 ms; doubles per attempt. */
  readonly baseDelayInMs?: number;
  /** Upper bound for computed back-offs (a server-named delay is honoured even when longer). Default 5 minutes. */
  readonly maxDelayInMs?: number;
  /** Returns a number in [0, 1) for jitter; injectable for tests. Default Math.random. */
  readonly random?: () => number;
}

export interface ThrottlingPolicy {
  /** What to do after `attempt` attempts (1 = the first call failed) ended with `error`. */
  decide(error: unknown, attempt: number): RetryDecision;
}

/** Exchange response codes that describe a passing condition, worth another try. */
const TRANSIENT_RESPONSE_CODES = new Set([
  'ErrorMailboxStoreUnavailable',
  'ErrorMailboxMoveInProgress',
  'ErrorInternalServerTransientError',
  'ErrorTimeoutExpired',
  'ErrorConnectionFailed',
  'ErrorTooManyObjectsOpened',
  'ErrorBatchProcessingStopped',
  'ErrorInternalServerError',
]);

/**
 * Exponential back-off with "equal jitter" (half fixed, half random, so retries from many mailboxes
 * spread out), shared by the EWS and Graph policies: the delay after `attempt` failed attempts.
 */
export function backOffSchedule(options: Pick<ThrottlingPolicyOptions, 'baseDelayInMs' | 'maxDelayInMs' | 'random'>): (attempt: number) => number {
  const baseDelayInMs = options.baseDelayInMs ?? 1_000;
  const maxDelayInMs = options.maxDelayInMs ?? 300_000;
  const random = options.random ?? Math.random;
  return (attempt) => {
    const ceiling = Math.min(maxDelayInMs, baseDelayInMs * 2 ** Math.max(0, attempt - 1));
    return Math.round(ceiling / 2 + (random() * ceiling) / 2);
  };
}

export function createThrottlingPolicy(options: ThrottlingPolicyOptions = {}): ThrottlingPolicy {
  const maxAttempts = options.maxAttempts ?? 5;
  const backOff = backOffSchedule(options);

  return {
    decide(error: unknown, attempt: number): RetryDecision {
      const exhausted = attempt >= maxAttempts;
      if (error instanceof EwsThrottledError) {
        const delayInMs = error.retryAfterInMs ?? backOff(attempt);
        if (exhausted) return { action: 'giveUp', reason: `throttled (${error.code}) after ${attempt} attempts`, transient: true };
        return { action: 'retry', delayInMs, reason: `throttled (${error.code})${error.retryAfterInMs !== undefined ? ', server asked for a delay' : ''}` };
      }
      if (error instanceof EwsUnavailableError || (error instanceof EwsResponseError && TRANSIENT_RESPONSE_CODES.has(error.code))) {
        if (exhausted) return { action: 'giveUp', reason: `${error.code} after ${attempt} attempts`, transient: true };
        return { action: 'retry', delayInMs: backOff(attempt), reason: `transient failure (${error.code})` };
      }
      if (error instanceof EwsError) return { action: 'giveUp', reason: `${error.kind} failure (${error.code}) will not pass by retrying`, transient: false };
      return { action: 'giveUp', reason: 'not an EWS failure', transient: false };
    },
  };
}

export interface WithRetriesOptions {
  /** Longest delay waited in-process; a longer one ends the loop and the error is thrown for the caller to re-enqueue. Default 2,000 ms. */
  readonly maxInlineDelayInMs?: number;
  /** Called before each in-process retry (for logging). */
  readonly onRetry?: (error: unknown, decision: Extract<RetryDecision, { action: 'retry' }>, attempt: number) => void;
  /** Injectable wait, for tests. */
  readonly sleep?: (delayInMs: number) => Promise<void>;
  readonly signal?: AbortSignal;
}

/** Thrown by withRetries when the policy wants a delay longer than allowed in-process: re-enqueue with `delayInMs`. */
export class RetryLaterError extends Error {
  readonly code = 'RetryLater';
  constructor(
    readonly delayInMs: number,
    readonly attempts: number,
    override readonly cause: unknown,
  ) {
    super(`Retry later: wait ${delayInMs} ms (after ${attempts} attempt${attempts === 1 ? '' : 's'}): ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'RetryLaterError';
  }
}

/**
 * Runs `operation`, retrying in-process only for short delays. Ends with the result; the original error
 * when the policy gives up; or a RetryLaterError carrying the delay when the wait would be too long inline.
 */
export async function withRetries<T>(operation: (attempt: number) => Promise<T>, policy: ThrottlingPolicy, options: WithRetriesOptions = {}): Promise<T> {
  const maxInline = options.maxInlineDelayInMs ?? 2_000;
  const wait = options.sleep ?? ((ms: number) => sleep(ms, undefined, options.signal ? { signal: options.signal } : undefined));
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error: unknown) {
      const decision = policy.decide(error, attempt);
      if (decision.action === 'giveUp') throw error;
      if (decision.delayInMs > maxInline) throw new RetryLaterError(decision.delayInMs, attempt, error);
      options.onRetry?.(error, decision, attempt);
      await wait(decision.delayInMs);
    }
  }
}
