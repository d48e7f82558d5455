import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createThrottlingPolicy,
  EwsAuthenticationError,
  EwsResponseError,
  EwsThrottledError,
  EwsUnavailableError,
  RetryLaterError,
  withRetries,
} from '../../shared/ews';

const policy = createThrottlingPolicy({ maxAttempts: 4, baseDelayInMs: 1000, maxDelayInMs: 8000, random: () => 0.5 });

test('ErrorServerBusy is retried after exactly the server-named back-off, even beyond the computed cap', () => {
  const decision = policy.decide(new EwsThrottledError('ErrorServerBusy', 'busy', 45_000), 1);
  assert.deepEqual(decision.action, 'retry');
  assert.equal(decision.action === 'retry' && decision.delayInMs, 45_000);
});

test('throttling without a named delay backs off exponentially with jitter, capped', () => {
  const delays = [1, 2, 3].map((attempt) => policy.decide(new EwsThrottledError('ServiceUnavailable', '503', undefined), attempt));
  assert.deepEqual(delays.map((d) => (d.action === 'retry' ? d.delayInMs : -1)), [750, 1500, 3000]);
  const capped = createThrottlingPolicy({ maxAttempts: 20, baseDelayInMs: 1000, maxDelayInMs: 8000, random: () => 0.999 }).decide(new EwsUnavailableError('Timeout', 't'), 10);
  assert.ok(capped.action === 'retry' && capped.delayInMs <= 8000 && capped.delayInMs >= 4000);
});

test('transient failures give up after maxAttempts, marked transient', () => {
  const decision = policy.decide(new EwsUnavailableError('ConnectionReset', 'reset'), 4);
  assert.equal(decision.action, 'giveUp');
  assert.equal(decision.action === 'giveUp' && decision.transient, true);
});

test('transient Exchange codes retry; permanent ones give up at once', () => {
  assert.equal(policy.decide(new EwsResponseError('ErrorMailboxStoreUnavailable', 'x'), 1).action, 'retry');
  for (const code of ['ErrorImpersonateUserDenied', 'ErrorNonExistentMailbox', 'ErrorInvalidSyncStateData', 'ErrorAccessDenied']) {
    const decision = policy.decide(new EwsResponseError(code, 'x'), 1);
    assert.equal(decision.action, 'giveUp', code);
    assert.equal(decision.action === 'giveUp' && decision.transient, false, code);
  }
  assert.equal(policy.decide(new EwsAuthenticationError('401', ['Basic']), 1).action, 'giveUp');
  assert.equal(policy.decide(new Error('bug'), 1).action, 'giveUp');
});

test('withRetries waits short delays in-process and returns the result', async () => {
  const waits: number[] = [];
  let calls = 0;
  const result = await withRetries(
    async () => {
      if (++calls < 3) throw new EwsThrottledError('ErrorServerBusy', 'busy', 200);
      return 'done';
    },
    policy,
    { maxInlineDelayInMs: 1000, sleep: async (ms) => void waits.push(ms) },
  );
  assert.equal(result, 'done');
  assert.deepEqual(waits, [200, 200]);
});

test('withRetries hands long delays back as RetryLaterError instead of sleeping', async () => {
  const waits: number[] = [];
  const busy = new EwsThrottledError('ErrorServerBusy', 'busy', 60_000);
  const error = await withRetries(async () => Promise.reject(busy), policy, { maxInlineDelayInMs: 2000, sleep: async (ms) => void waits.push(ms) }).catch((e: unknown) => e);
  assert.ok(error instanceof RetryLaterError);
  assert.equal(error.delayInMs, 60_000);
  assert.equal(error.cause, busy);
  assert.deepEqual(waits, []);
});

test('withRetries rethrows permanent failures unchanged after one attempt', async () => {
  let calls = 0;
  const denied = new EwsResponseError('ErrorImpersonateUserDenied', 'denied');
  const error = await withRetries(async () => {
    calls++;
    throw denied;
  }, policy).catch((e: unknown) => e);
  assert.equal(error, denied);
  assert.equal(calls, 1);
});
