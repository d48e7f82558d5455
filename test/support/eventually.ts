import assert from 'node:assert/strict';

/**
 * Polls `probe` until it returns a value (not undefined), for outcomes that arrive asynchronously
 * (queue triggers, background saves). Fails naming `what` after `timeoutInMs`; the deadline is a
 * safety net, not a speed claim.
 */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, options: { timeoutInMs?: number; intervalInMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutInMs ?? 30_000);
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalInMs ?? 250));
  }
}

/** The stable result code the consent HTML result pages carry. */
export function resultCode(html: string): string | undefined {
  return /data-result-code="([^"]+)"/.exec(html)?.[1];
}
