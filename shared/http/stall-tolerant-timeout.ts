/**
 * A request deadline that does not count time this thread could not run.
 *
 * Why: Node runs expired timers before it reads the sockets. When the thread is blocked for a while
 * (a synchronous require of a lazily loaded SDK, a long GC pause, a CPU-starved container), a plain
 * AbortSignal.timeout() that expired during the block fires first when the loop resumes, and aborts
 * a request whose answer is already waiting in the socket buffer. Measured here: a 6 s block on the
 * first use of a lazily loaded module made the admin API answer 503 AuthorityUnavailable (jose's
 * 5 s JWKS timeout fired before the identity provider's answer, which had arrived, was read).
 *
 * This deadline advances in ticks of at most `tickInMs`; a tick that comes late (the thread was
 * blocked for longer than a busy loop would be) counts as one tick, so the sockets are read before
 * the deadline can end. A server that does not answer still hits the deadline after
 * `timeoutInMs` of time the thread was free to read its answer; a thread that is blocked for long
 * stretches waits longer than `timeoutInMs` in wall time, by up to the time it was blocked.
 */
export interface StallTolerantTimeout {
  readonly signal: AbortSignal;
  /** Stops the timer (call it once the answer has been read). */
  cancel(): void;
}

const DEFAULT_TICK_IN_MS = 250;
/** A tick up to this late is a busy loop, counted in full; later than that, the thread was blocked. */
const LATE_TICK_ALLOWANCE_IN_MS = 100;

export function stallTolerantTimeout(timeoutInMs: number, tickInMs = DEFAULT_TICK_IN_MS): StallTolerantTimeout {
  const controller = new AbortController();
  let remaining = timeoutInMs;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    const wait = Math.max(1, Math.min(tickInMs, remaining));
    const armedAt = performance.now();
    timer = setTimeout(() => {
      remaining -= Math.min(performance.now() - armedAt, wait + LATE_TICK_ALLOWANCE_IN_MS);
      if (remaining > 0) return schedule();
      timer = undefined;
      controller.abort(new DOMException(`The operation was aborted due to timeout (${timeoutInMs} ms)`, 'TimeoutError'));
    }, wait);
    // Never keeps a process alive by itself.
    timer.unref();
  };
  schedule();
  return {
    signal: controller.signal,
    cancel: () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}

const STALE_CONNECTION_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

/**
 * The other root cause a blocked thread leaves behind: a pooled keep-alive connection that the
 * server closed (its idle timeout ran out while this thread was blocked) but that fetch (undici)
 * still takes as usable, because its own idle timer has not run yet. The request written to it
 * fails with a reset ("fetch failed", cause ECONNRESET / "other side closed"), and undici does not
 * retry. Reproduced here: a 6 s block before the admin API's first OpenID discovery made it fail
 * with ECONNRESET (MSAL reports the same failure as endpoints_resolution_error).
 */
export function isStaleConnectionFailure(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  return error instanceof TypeError && typeof cause?.code === 'string' && STALE_CONNECTION_CODES.has(cause.code);
}

/**
 * fetch with a stall-tolerant deadline covering the status, headers and the whole body; the
 * answer comes back fully read (a small JSON document: OpenID configuration, JWKS). A GET that
 * fails on a stale pooled connection is sent once more (on a new connection: the broken one has
 * left the pool); other methods are not, as the server may have acted on them.
 */
export async function fetchWithinStallTolerantTimeout(url: string | URL, init: RequestInit, timeoutInMs: number): Promise<Response> {
  const deadline = stallTolerantTimeout(timeoutInMs);
  const callerSignal = init.signal;
  const signal = callerSignal ? AbortSignal.any([callerSignal, deadline.signal]) : deadline.signal;
  const idempotent = (init.method ?? 'GET').toUpperCase() === 'GET';
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await fetch(url, { ...init, signal });
        const body = await response.arrayBuffer();
        return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
      } catch (error) {
        if (attempt > 1 || !idempotent || signal.aborted || !isStaleConnectionFailure(error)) throw error;
      }
    }
  } finally {
    deadline.cancel();
  }
}
