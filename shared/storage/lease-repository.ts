/**
 * Leases in Table Storage: a named lock with a holder and an expiry, guarded by the entity's
 * ETag. Whoever writes the entity first (create, or replace of an expired lease with the ETag
 * they read) holds it; a crashed holder's lease simply lapses. Used for "one worker per
 * mailbox" and, one row per slot, for concurrency caps (concurrency-slots.ts).
 */
import { EntityTable } from './entity-table';
import type { EntityCodec, EntityKey } from './entity-table';
import { EntityConflictError, EntityNotFoundError, PreconditionFailedError } from './errors';
import { numberColumn, stringColumn } from './table-storage';
import type { TableStorage } from './table-storage';

export const LEASES_TABLE = 'leases';

interface LeaseRow {
  readonly scope: string;
  readonly name: string;
  readonly holder: string;
  /** Epoch milliseconds. */
  readonly expiresAtInMs: number;
}

/** A lease this process holds; pass it back to renew or release. */
export interface Lease {
  readonly scope: string;
  readonly name: string;
  readonly holder: string;
  readonly expiresAt: Date;
  readonly etag: string;
}

/** Why a lease could not be taken: someone else holds it until `heldUntil`. */
export interface LeaseHeld {
  readonly held: true;
  readonly holder: string;
  readonly heldUntil: Date;
}

/** The lease was taken over or deleted since we last wrote it: stop the guarded work. */
export class LeaseLostError extends Error {
  readonly code = 'LeaseLost';
  constructor(readonly scope: string, readonly leaseName: string) {
    super(`The lease '${leaseName}' in '${scope}' is no longer held by this worker`);
    this.name = 'LeaseLostError';
  }
}

const leaseCodec: EntityCodec<LeaseRow> = {
  kind: 'Lease',
  // Scopes and names are built by our own code from already-encoded key parts.
  keyOf: (row) => ({ partitionKey: row.scope, rowKey: row.name }),
  toColumns: (row) => ({ holder: row.holder, expiresAtInMs: row.expiresAtInMs }),
  fromEntity: (entity) => ({
    scope: entity.partitionKey ?? '',
    name: entity.rowKey ?? '',
    holder: stringColumn(entity, 'holder') ?? '',
    expiresAtInMs: numberColumn(entity, 'expiresAtInMs') ?? 0,
  }),
};

export interface LeaseRepositoryOptions {
  /** Injectable clock for tests. */
  readonly now?: () => Date;
}

export class LeaseRepository {
  readonly #table: EntityTable<LeaseRow>;
  readonly #now: () => Date;

  constructor(storage: TableStorage, options: LeaseRepositoryOptions = {}) {
    this.#table = new EntityTable(storage, LEASES_TABLE, leaseCodec);
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Takes the lease for `durationInMs` if it is free, expired, or already ours.
   * Key parts must be key-safe (encodeKeyPart / joinKeyParts).
   */
  async tryAcquire(scope: string, name: string, holder: string, durationInMs: number): Promise<Lease | LeaseHeld> {
    const key: EntityKey = { partitionKey: scope, rowKey: name };
    const now = this.#now().getTime();
    const row: LeaseRow = { scope, name, holder, expiresAtInMs: now + durationInMs };
    // A released lease is deleted, so the usual case is a free row: one insert takes it (one Table
    // operation instead of read + write). Only when the row exists is it read and, if lapsed, replaced.
    try {
      const created = await this.#table.create(row);
      return toLease(row, created.etag);
    } catch (error) {
      if (!(error instanceof EntityConflictError)) throw error;
    }
    const existing = await this.#table.find(key);
    try {
      if (!existing) {
        const created = await this.#table.create(row);
        return toLease(row, created.etag);
      }
      if (existing.holder !== holder && existing.expiresAtInMs > now) {
        return { held: true, holder: existing.holder, heldUntil: new Date(existing.expiresAtInMs) };
      }
      const replaced = await this.#table.replace(row, existing.etag);
      return toLease(row, replaced.etag);
    } catch (error) {
      // Another worker wrote between our read and our write: it holds the lease now.
      if (error instanceof EntityConflictError || error instanceof PreconditionFailedError) {
        const winner = await this.#table.find(key);
        return { held: true, holder: winner?.holder ?? 'unknown', heldUntil: new Date(winner?.expiresAtInMs ?? now + durationInMs) };
      }
      throw error;
    }
  }

  /** Takes the lease only if no row exists (one insert); undefined when one does, whoever holds it. */
  async tryCreate(scope: string, name: string, holder: string, durationInMs: number): Promise<Lease | undefined> {
    const row: LeaseRow = { scope, name, holder, expiresAtInMs: this.#now().getTime() + durationInMs };
    try {
      const created = await this.#table.create(row);
      return toLease(row, created.etag);
    } catch (error) {
      if (error instanceof EntityConflictError) return undefined;
      throw error;
    }
  }

  /** Extends a held lease; LeaseLostError when someone else took it meanwhile. */
  async renew(lease: Lease, durationInMs: number): Promise<Lease> {
    const row: LeaseRow = { scope: lease.scope, name: lease.name, holder: lease.holder, expiresAtInMs: this.#now().getTime() + durationInMs };
    try {
      const replaced = await this.#table.replace(row, lease.etag);
      return toLease(row, replaced.etag);
    } catch (error) {
      if (error instanceof PreconditionFailedError || error instanceof EntityNotFoundError) throw new LeaseLostError(lease.scope, lease.name);
      throw error;
    }
  }

  /** Gives the lease up; quietly does nothing when it was lost already. */
  async release(lease: Lease): Promise<void> {
    try {
      await this.#table.delete({ partitionKey: lease.scope, rowKey: lease.name }, `${lease.scope}/${lease.name}`, lease.etag);
    } catch (error) {
      if (error instanceof PreconditionFailedError || error instanceof EntityNotFoundError) return;
      throw error;
    }
  }
}

function toLease(row: LeaseRow, etag: string): Lease {
  return { scope: row.scope, name: row.name, holder: row.holder, expiresAt: new Date(row.expiresAtInMs), etag };
}

export function isLeaseHeld(value: Lease | LeaseHeld): value is LeaseHeld {
  return 'held' in value;
}
