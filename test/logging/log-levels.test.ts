import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withoutTestModeWarnings } from '../../dev/functions-host/host-log';
import { createLogger, type LogLevel } from '../../shared/logging';
import { formatSummary } from '../../shared/telemetry';

function withLogLevel<T>(value: string | undefined, body: () => T): T {
  const previous = process.env['LOG_LEVEL'];
  if (value === undefined) delete process.env['LOG_LEVEL'];
  else process.env['LOG_LEVEL'] = value;
  try {
    return body();
  } finally {
    if (previous === undefined) delete process.env['LOG_LEVEL'];
    else process.env['LOG_LEVEL'] = previous;
  }
}

function linesAt(level: string | undefined): LogLevel[] {
  const seen: LogLevel[] = [];
  withLogLevel(level, () => {
    const log = createLogger({}, (lineLevel) => void seen.push(lineLevel));
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
  });
  return seen;
}

test('LOG_LEVEL is respected: info by default, debug shows everything, error only errors; nonsense means info', () => {
  assert.deepEqual(linesAt(undefined), ['info', 'warn', 'error']);
  assert.deepEqual(linesAt('debug'), ['debug', 'info', 'warn', 'error']);
  assert.deepEqual(linesAt('ERROR'), ['error']);
  assert.deepEqual(linesAt('verbose; rm -rf /'), ['info', 'warn', 'error']);
});

test('the local host hides exactly the @azure/functions test-mode warnings, never other warnings', () => {
  const original = console.warn;
  const shown: string[] = [];
  console.warn = (...args: unknown[]) => void shown.push(args.join(' '));
  try {
    const { suppressed } = withoutTestModeWarnings(() => {
      console.warn('WARNING: Failed to detect the Azure Functions runtime. Switching "@azure/functions" package to test mode - not all features are supported.');
      console.warn('WARNING: Skipping call to register function "health" because the "@azure/functions" package is in test mode.');
      console.warn('WARNING: the certificate expires tomorrow');
      console.warn('WARNING: Skipping call to register function "x" because the "@azure/functions" package is in test mode.', 'and more');
    });
    assert.equal(suppressed, 2);
  } finally {
    console.warn = original;
  }
  assert.equal(shown.length, 2);
  assert.match(shown[0]!, /certificate expires/);
  assert.equal(console.warn, original, 'console.warn is restored');
});

test('the periodic summary is one short line', () => {
  const line = formatSummary({ mailboxesSynced: 3, mailboxesFailed: 1, items: 1234, initialItems: 1000, batchesDelivered: 12, deliveryFailures: 2, deadLetters: 1, throttled: 4 }, 60_000);
  assert.equal(line, 'Sync summary (last 60 s): 3 mailbox syncs completed, 1 failed; 1,234 items (1,000 in initial syncs); 12 batches delivered, 2 delivery failures, 1 dead-lettered; throttled 4×');
});
