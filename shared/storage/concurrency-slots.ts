/**
 * Concurrency caps shared by every instance: a pool of `capacity` slots, each slot one lease
 * row ("slot-0" .. "slot-<n-1>") in the pool's partition. Taking a slot is taking any free
 * lease; a crashed worker's slot lapses with its lease. Used to stay below Exchange's
 * EWSMaxConcurrency (27 by default) per service account / application and per tenant.
 */
import { isLeaseHeld, LeaseRepository } from './lease-repository';
import type { Lease } from './lease-repository';
import { encodeKeyPart, joinKeyParts } from './table-keys';

export interface ConcurrencyPool {
  /** Caller's name for the pool, e.g. "account:<tenant>:<svc@contoso.com>"; any string. */
  readonly name: string;
  readonly capacity: number;
}

export class ConcurrencySlots {
  constructor(
    private readonly leases: LeaseRepository,
    private readonly random: () => number = Math.random,
  ) {}

  /** One free slot of the pool, or undefined when all `capacity` slots are taken. */
  async tryAcquire(pool: ConcurrencyPool, holder: string, durationInMs: number): Promise<Lease | undefined> {
    const capacity = Math.max(1, Math.floor(pool.capacity));
    const scope = joinKeyParts('slots', encodeKeyPart(pool.name));
    // Start at a random slot so concurrent workers do not all race for slot-0.
    const start = Math.floor(this.random() * capacity);
    for (let offset = 0; offset < capacity; offset++) {
      const index = (start + offset) % capacity;
      const result = await this.leases.tryAcquire(scope, `slot-${index}`, holder, durationInMs);
      if (!isLeaseHeld(result)) return result;
    }
    return undefined;
  }

  /** Takes one slot in every pool, or none (releasing what it took) when any pool is full. */
  async tryAcquireAll(pools: readonly ConcurrencyPool[], holder: string, durationInMs: number): Promise<Lease[] | undefined> {
    const taken: Lease[] = [];
    for (const pool of pools) {
      const slot = await this.tryAcquire(pool, holder, durationInMs);
      if (!slot) {
        await this.releaseAll(taken);
        return undefined;
      }
      taken.push(slot);
    }
    return taken;
  }

  renewAll(slots: readonly Lease[], durationInMs: number): Promise<Lease[]> {
    return Promise.all(slots.map((slot) => this.leases.renew(slot, durationInMs)));
  }

  async releaseAll(slots: readonly Lease[]): Promise<void> {
    await Promise.all(slots.map((slot) => this.leases.release(slot)));
  }
}
