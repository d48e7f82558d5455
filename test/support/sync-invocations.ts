import assert from 'node:assert/strict';
import type { FunctionsHost } from '../../dev/functions-host/host';

/**
 * Waits until `count` sync-mailbox invocations that started at or after `since` have ended, and
 * asserts they all succeeded (their errors in the message otherwise; the host's last log lines
 * when too few ran).
 */
export async function waitForSyncs(stack: { readonly host: FunctionsHost; readonly logs: readonly string[] }, count: number, since: number, timeoutInMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutInMs;
  while (Date.now() < deadline) {
    const done = stack.host.invocations().filter((r) => r.functionName === 'sync-mailbox' && r.startedAt.getTime() >= since && r.status !== 'running');
    if (done.length >= count) {
      assert.deepEqual(done.map((r) => r.status), done.map(() => 'succeeded'), done.map((r) => r.error ?? '').join('; '));
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`expected ${count} sync-mailbox invocations; logs:\n${stack.logs.slice(-30).join('\n')}`);
}
