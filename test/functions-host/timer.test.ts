import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { startFunctionsHost } from '../../dev/functions-host/host';
import { parseSchedule, TimerScheduleError } from '../../dev/functions-host/timer-trigger';
import { projectRoot } from '../../dev/project-paths';
import { maxConcurrentRuns, timerControl, timerRuns } from './fixtures/timer-functions';

const fixture = join(__dirname, 'fixtures', 'timer-functions.js');

/** Blocks this thread (the host's event loop) without spinning the CPU. */
function blockEventLoop(durationInMs: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, durationInMs);
}

test('NCRONTAB schedules need six fields; TimeSpan intervals are accepted', () => {
  assert.throws(() => parseSchedule('*/5 * * * *', undefined), TimerScheduleError);
  assert.throws(() => parseSchedule('0 0 25 * * *', undefined), TimerScheduleError);
  const everyFiveMinutes = parseSchedule('0 */5 * * * *', undefined);
  assert.equal(everyFiveMinutes.next(new Date('2024-05-01T10:02:03Z')).toISOString(), '2024-05-01T10:05:00.000Z');
  const daily = parseSchedule('0 30 9 * * 1-5', 'UTC');
  assert.equal(daily.next(new Date('2024-05-03T10:00:00Z')).toISOString(), '2024-05-06T09:30:00.000Z', 'Friday after 09:30 -> Monday');
  const interval = parseSchedule('00:00:30', undefined);
  assert.equal(interval.next(new Date('2024-05-01T10:00:00Z')).toISOString(), '2024-05-01T10:00:30.000Z');
});

test('a 1-second timer runs on startup, then on schedule, never overlapping; a late host marks isPastDue', async () => {
  const host = await startFunctionsHost({ projectRoot: projectRoot(), port: 0, settings: {}, appEntryPoints: [fixture], log: () => {} });
  try {
    // runOnStartup: the first run starts during start-up, before any scheduled second.
    assert.equal(timerRuns.length, 1);
    assert.equal(timerRuns[0]!.functionName, 'every-second');
    assert.equal(timerRuns[0]!.timer.isPastDue, false);
    assert.equal(timerRuns[0]!.timer.scheduleStatus.last, '0001-01-01T00:00:00.000Z');

    // Each run takes 1.3 s: the next one is scheduled only after it ends.
    await host.waitForInvocation(() => timerRuns.length >= 3, { timeoutInMs: 10_000 });
    assert.equal(maxConcurrentRuns, 1);
    const scheduled = timerRuns[1]!;
    assert.equal(scheduled.timer.isPastDue, false);
    // `next` names the occurrence after the one that fired; the following run reports that fired one as `last`.
    assert.equal(new Date(scheduled.timer.scheduleStatus.next).getTime() - new Date(timerRuns[2]!.timer.scheduleStatus.last).getTime(), 1000);
    assert.equal(new Date(scheduled.timer.scheduleStatus.next).getMilliseconds(), 0, 'occurrences fall on whole seconds');

    // Hold the event loop past the next occurrences: the timer fires late and says so. Runs are
    // made instant first so that, between macrotasks, the timer is always armed.
    timerControl.runDurationInMs = 0;
    const instantFrom = timerRuns.length + 1;
    await host.waitForInvocation(() => timerRuns.length > instantFrom, { timeoutInMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const runsBefore = timerRuns.length;
    blockEventLoop(2500);
    await host.waitForInvocation(() => timerRuns.length > runsBefore, { timeoutInMs: 10_000 });
    assert.equal(timerRuns.at(-1)!.timer.isPastDue, true);
  } finally {
    await host.close();
  }
  const runsAfterClose = timerRuns.length;
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal(timerRuns.length, runsAfterClose, 'no runs after close');
});
