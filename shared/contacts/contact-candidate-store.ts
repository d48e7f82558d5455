/**
 * Contact-candidate aggregates in Table Storage, one partition per group: a row per candidate
 * (`c_<address>`: counts, first/last seen, display name) and a marker row per counted message
 * (`m_<message key>`). A page's observations are applied in chunks of at most 100 rows, each chunk
 * one entity-group transaction that creates the chunk's message markers and writes its candidates
 * (ETag-guarded) together: a message is counted exactly when its marker is created, so a replayed
 * page, a redelivery, the same message in two mailboxes of the group, or two workers at once never
 * count it twice, and a crash never leaves a marker without its counts.
 *
 * Cost per page: the candidates' current rows are read by queries of 14 keys (the Table service
 * allows 15 comparisons per filter), then one transaction per chunk; markers are read (14 per
 * query) for updated messages, and otherwise only when a transaction found one already there (a
 * replay) or lost a race.
 */
import type { TableClient, TableEntity, TransactionAction } from '@azure/data-tables';
import { odata } from '../storage/table-sdk';
import { restStatusOf } from '../storage/errors';
import { encodeKeyPart, joinKeyParts } from '../storage/table-keys';
import type { TableStorage } from '../storage/table-storage';
import type { ContactCandidateRecord } from '../delivery/change-batch';
import type { ContactObservation } from './contact-observations';

import { CONTACT_CANDIDATES_TABLE } from '../storage/group-data-store';

export { CONTACT_CANDIDATES_TABLE };

/** The service's limit per entity-group transaction. */
const MAX_TRANSACTION_ACTIONS = 100;
/** Row-key comparisons per query (15 comparisons allowed, one is the partition). */
const KEYS_PER_QUERY = 14;
/** Transactions retried after a conflict (a concurrent writer, or markers of a replay) before giving up. */
const MAX_ATTEMPTS = 6;

/** What a candidate row keeps: the record's aggregate fields. */
export type ContactCandidateState = Pick<ContactCandidateRecord, 'address' | 'displayName' | 'firstSeen' | 'lastSeen' | 'receivedFromCount' | 'sentToCount'>;

export interface AppliedCandidate {
  readonly state: ContactCandidateState;
  /** True when this call created the candidate. */
  readonly created: boolean;
}

export class ContactCandidateConflictError extends Error {
  readonly code = 'ContactCandidateConflict';
}

interface StoredCandidate {
  readonly state: ContactCandidateState;
  readonly etag: string;
}

export function contactPartitionKey(tenantId: string, groupId: string): string {
  return joinKeyParts(encodeKeyPart(tenantId), encodeKeyPart(groupId));
}

const candidateRowKey = (address: string): string => `c_${encodeKeyPart(address)}`;
const markerRowKey = (messageKey: string): string => `m_${messageKey}`;

function stateOf(entity: Record<string, unknown>): ContactCandidateState {
  const text = (name: string) => (typeof entity[name] === 'string' ? (entity[name] as string) : undefined);
  const count = (name: string) => (typeof entity[name] === 'number' ? (entity[name] as number) : 0);
  const displayName = text('displayName');
  return {
    address: text('address') ?? '',
    ...(displayName ? { displayName } : {}),
    firstSeen: text('firstSeen') ?? '',
    lastSeen: text('lastSeen') ?? '',
    receivedFromCount: count('receivedFromCount'),
    sentToCount: count('sentToCount'),
  };
}

function entityOf(partitionKey: string, state: ContactCandidateState): TableEntity {
  return { partitionKey, rowKey: candidateRowKey(state.address), ...state };
}

/** Messages in order of first appearance, each with its observations. */
function byMessage(observations: readonly ContactObservation[]): ContactObservation[][] {
  const groups = new Map<string, ContactObservation[]>();
  for (const observation of observations) {
    const list = groups.get(observation.messageKey) ?? [];
    if (!list.some((o) => o.address === observation.address && o.direction === observation.direction)) list.push(observation);
    groups.set(observation.messageKey, list);
  }
  return [...groups.values()];
}

/** Chunks of messages whose markers plus distinct candidates fit one transaction. */
function chunksOf(messages: readonly ContactObservation[][]): ContactObservation[][][] {
  const chunks: ContactObservation[][][] = [];
  let current: ContactObservation[][] = [];
  let addresses = new Set<string>();
  for (const message of messages) {
    const added = new Set(message.map((o) => o.address).filter((a) => !addresses.has(a)));
    if (current.length > 0 && current.length + 1 + addresses.size + added.size > MAX_TRANSACTION_ACTIONS) {
      chunks.push(current);
      current = [];
      addresses = new Set();
    }
    current.push(message);
    for (const observation of message) addresses.add(observation.address);
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function later(a: string, b: string): boolean {
  return Date.parse(a) > Date.parse(b);
}

/** Counts one message's observations into the candidates (in place). */
function count(candidates: Map<string, ContactCandidateState>, message: readonly ContactObservation[]): void {
  for (const o of message) {
    const current = candidates.get(o.address);
    const base: ContactCandidateState = current ?? { address: o.address, firstSeen: o.at, lastSeen: o.at, receivedFromCount: 0, sentToCount: 0 };
    // The name seen with the latest message wins; an empty one never replaces a known one.
    const newest = !current || !later(current.lastSeen, o.at);
    const displayName = newest && o.displayName ? o.displayName : base.displayName;
    candidates.set(o.address, {
      address: o.address,
      ...(displayName ? { displayName } : {}),
      firstSeen: later(base.firstSeen, o.at) ? o.at : base.firstSeen,
      lastSeen: later(o.at, base.lastSeen) ? o.at : base.lastSeen,
      receivedFromCount: base.receivedFromCount + (o.direction === 'receivedFrom' ? 1 : 0),
      sentToCount: base.sentToCount + (o.direction === 'sentTo' ? 1 : 0),
    });
  }
}

export class ContactCandidateStore {
  readonly #storage: TableStorage;

  constructor(storage: TableStorage) {
    this.#storage = storage;
  }

  /**
   * Counts each message of `observations` not counted before and returns the current state of every
   * address observed (also those whose messages were counted before: a replay re-sends their state).
   */
  async apply(tenantId: string, groupId: string, observations: readonly ContactObservation[]): Promise<AppliedCandidate[]> {
    if (observations.length === 0) return [];
    const client = await this.#storage.table(CONTACT_CANDIDATES_TABLE);
    const partitionKey = contactPartitionKey(tenantId, groupId);
    const result = new Map<string, AppliedCandidate>();
    for (const chunk of chunksOf(byMessage(observations))) {
      for (const applied of await this.#applyChunk(client, partitionKey, chunk)) {
        const previous = result.get(applied.state.address);
        result.set(applied.state.address, { state: applied.state, created: applied.created || (previous?.created ?? false) });
      }
    }
    return [...result.values()];
  }

  async #applyChunk(client: TableClient, partitionKey: string, messages: readonly ContactObservation[][]): Promise<AppliedCandidate[]> {
    const addresses = [...new Set(messages.flat().map((o) => o.address))];
    // New mail has no marker yet: the first attempt assumes none (a 409 says otherwise). Updates of
    // messages probably counted before have their markers read first instead.
    const maybeCounted = messages.filter((m) => m.some((o) => o.maybeCounted)).map((m) => m[0]!.messageKey);
    let counted = maybeCounted.length > 0 ? await this.#readMarkers(client, partitionKey, maybeCounted) : new Set<string>();
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const stored = await this.#readCandidates(client, partitionKey, addresses);
      const pending = messages.filter((message) => !counted.has(message[0]!.messageKey));
      const next = new Map<string, ContactCandidateState>([...stored].map(([address, row]) => [address, row.state]));
      for (const message of pending) count(next, message);
      const actions: TransactionAction[] = pending.map((message) => ['create', { partitionKey, rowKey: markerRowKey(message[0]!.messageKey) }]);
      const touched = new Set(pending.flat().map((o) => o.address));
      for (const address of touched) {
        const state = next.get(address)!;
        const existing = stored.get(address);
        actions.push(existing ? ['update', entityOf(partitionKey, state), 'Replace', { etag: existing.etag }] : ['create', entityOf(partitionKey, state)]);
      }
      try {
        if (actions.length > 0) await client.submitTransaction(actions);
        return addresses.filter((a) => next.has(a)).map((address) => ({ state: next.get(address)!, created: !stored.has(address) && touched.has(address) }));
      } catch (error) {
        const status = restStatusOf(error);
        if (status !== 409 && status !== 412) throw error;
        counted = await this.#readMarkers(client, partitionKey, messages.map((m) => m[0]!.messageKey));
      }
    }
    throw new ContactCandidateConflictError('Contact candidates kept changing under concurrent writers; the sync retries the page.');
  }

  async #readCandidates(client: TableClient, partitionKey: string, addresses: readonly string[]): Promise<Map<string, StoredCandidate>> {
    const out = new Map<string, StoredCandidate>();
    for (const entity of await this.#readRows(client, partitionKey, addresses.map(candidateRowKey))) {
      const state = stateOf(entity);
      out.set(state.address, { state, etag: String(entity.etag ?? '') });
    }
    return out;
  }

  async #readMarkers(client: TableClient, partitionKey: string, messageKeys: readonly string[]): Promise<Set<string>> {
    const rows = await this.#readRows(client, partitionKey, messageKeys.map(markerRowKey));
    return new Set(rows.map((row) => String(row.rowKey).slice(2)));
  }

  async #readRows(client: TableClient, partitionKey: string, rowKeys: readonly string[]): Promise<(Record<string, unknown> & { rowKey?: string; etag?: string })[]> {
    const out: (Record<string, unknown> & { rowKey?: string; etag?: string })[] = [];
    for (let offset = 0; offset < rowKeys.length; offset += KEYS_PER_QUERY) {
      const keys = rowKeys.slice(offset, offset + KEYS_PER_QUERY);
      const filter = `${odata`PartitionKey eq ${partitionKey}`} and (${keys.map((key) => odata`RowKey eq ${key}`).join(' or ')})`;
      for await (const entity of client.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) out.push(entity);
    }
    return out;
  }

  /** Every candidate of a group (admin reads, tests). */
  async *list(tenantId: string, groupId: string): AsyncIterableIterator<ContactCandidateState> {
    const client = await this.#storage.table(CONTACT_CANDIDATES_TABLE);
    const partitionKey = contactPartitionKey(tenantId, groupId);
    const filter = odata`PartitionKey eq ${partitionKey} and RowKey ge ${'c_'} and RowKey lt ${'c`'}`;
    for await (const entity of client.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) yield stateOf(entity);
  }
}
