import { HttpProblem } from '../http/problem';
import { PreconditionFailedError } from '../storage';
import type { Stored } from '../storage';

const MAX_ATTEMPTS = 3;

/**
 * Read-modify-write with optimistic concurrency. With If-Match, the caller's ETag must still
 * be current (412 otherwise); without it, a lost race is retried on fresh data a few times.
 */
export async function updateOptimistically<T>(
  load: () => Promise<Stored<T>>,
  ifMatch: string | undefined,
  change: (current: Stored<T>) => T | Promise<T>,
  save: (next: T, etag: string) => Promise<Stored<T>>,
): Promise<{ before: Stored<T>; after: Stored<T> }> {
  for (let attempt = 1; ; attempt++) {
    const current = await load();
    if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== current.etag) throw preconditionFailed();
    const next = await change(current);
    try {
      return { before: current, after: await save(next, ifMatch !== undefined && ifMatch !== '*' ? ifMatch : current.etag) };
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      if (ifMatch !== undefined && ifMatch !== '*') throw preconditionFailed();
      if (attempt >= MAX_ATTEMPTS) throw new HttpProblem(409, 'ConcurrentUpdate', 'Changed concurrently', 'The resource kept changing while this request ran; try again.');
    }
  }
}

export function preconditionFailed(): HttpProblem {
  return new HttpProblem(412, 'PreconditionFailed', 'The resource has changed', 'The If-Match ETag no longer matches: fetch the resource again and reapply your change.');
}
