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

/** Slot indexes this process holds, per pool scope: a hint so its own jobs probe free slots first. */
const slotsHeldInProcess = new Map<string, Set<number>>();

export class ConcurrencySlots {
  constructor(
    private readonly leases: LeaseRepository,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * One free slot of the pool, or undefined when all `capacity` slots are taken. First pass: an insert
   * per slot (a released slot is deleted, so a free one is one operation, a busy one one failed insert),
   * skipping slots this process holds or is taking, so the jobs of one instance do not collide. Only
   * when every insert failed does a second pass read the rows, to take over one whose holder lapsed.
   */
  async tryAcquire(pool: ConcurrencyPool, holder: string, durationInMs: number): Promise<Lease | undefined> {
    const capacity = Math.max(1, Math.floor(pool.capacity));
    const scope = joinKeyParts('slots', encodeKeyPart(pool.name));
    let heldHere = slotsHeldInProcess.get(scope);
    if (!heldHere) slotsHeldInProcess.set(scope, (heldHere = new Set()));
    // Start at a random slot so concurrent workers do not all race for slot-0.
    const start = Math.floor(this.random() * capacity);
    const order = Array.from({ length: capacity }, (_, offset) => (start + offset) % capacity);
    for (const index of order) {
      // Held (or being taken) by another job of this process: known busy, no need to ask the table.
      if (heldHere.has(index)) continue;
      heldHere.add(index);
      const lease = await this.leases.tryCreate(scope, `slot-${index}`, holder, durationInMs).catch((error: unknown) => {
        heldHere.delete(index);
        throw error;
      });
      if (lease) return lease;
      heldHere.delete(index);
    }
    for (const index of order) {
      const result = await this.leases.tryAcquire(scope, `slot-${index}`, holder, durationInMs);
      if (!isLeaseHeld(result)) {
        heldHere.add(index);
        return result;
      }
    }
    return undefined;
  }

  #forget(lease: Lease): void {
    const index = Number(lease.name.slice('slot-'.length));
    slotsHeldInProcess.get(lease.scope)?.delete(index);
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
    await Promise.all(slots.map((slot) => this.leases.release(slot).finally(() => this.#forget(slot))));
  }
}
