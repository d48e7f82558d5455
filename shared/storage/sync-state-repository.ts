/**
 * Sync state per (tenant, group, mailbox, folder), plus per-mailbox sync progress.
 *
 * An EWS SyncState is opaque and can grow large. Table Storage caps a string property at 32K
 * UTF-16 characters (64 KiB) and an entity at 1 MiB, so the state is cut into 32,000-character
 * chunks: up to 12 chunks on the folder's head row, more on overflow rows ("<head>~x1", ...).
 * Head and overflow rows are written in one entity-group transaction with the head guarded by
 * its ETag, so a reader never sees a half-written state and two writers cannot both advance it.
 */
import type { TransactionAction } from '@azure/data-tables';
import { EntityTable } from './entity-table';
import type { EntityCodec, EntityKey, Stored } from './entity-table';
import { booleanColumn, numberColumn, stringColumn } from './table-storage';
import type { StoredEntity, TableStorage } from './table-storage';
import { encodeKeyPart, joinKeyParts } from './table-keys';

export const SYNC_STATE_TABLE = 'syncstate';

/** Characters per property: below the 32K UTF-16 character limit. */
export const SYNC_STATE_CHUNK_CHARS = 32_000;
/** Chunk properties per entity: 12 x 64 KiB keeps an entity well under 1 MiB. */
export const SYNC_STATE_CHUNKS_PER_ENTITY = 12;
/** Entities per state: one transaction carries at most 4 MiB, so 4 entities of ~768 KiB each. */
export const SYNC_STATE_MAX_ENTITIES = 4;
export const SYNC_STATE_MAX_CHARS = SYNC_STATE_CHUNK_CHARS * SYNC_STATE_CHUNKS_PER_ENTITY * SYNC_STATE_MAX_ENTITIES;

export type SyncPhase = 'initial' | 'incremental';

export interface FolderSyncKey {
  readonly tenantId: string;
  readonly groupId: string;
  readonly mailbox: string;
  /** e.g. 'inbox', 'calendar'. */
  readonly folder: string;
}

/** What the engine keeps for one folder between runs. */
export interface FolderSyncState {
  /** Absent: start from the beginning. */
  readonly syncState: string | undefined;
  /** 'initial' until the first pass reached the end of the folder (initial-sync policy applies). */
  readonly phase: SyncPhase;
  /** True while a full re-sync (after a lost or invalid state) is running. */
  readonly fullResync: boolean;
  readonly updatedAt: string | undefined;
  /** When the read of the page that produced `syncState` started (changes after it may not be in that state). */
  readonly readStartedAt?: string | undefined;
  /**
   * Set while a folder moves to another protocol (EWS → Graph or back): the new protocol's first pass
   * delivers only what changed at or after this instant, the old protocol delivered the rest.
   */
  readonly migratedSince?: string | undefined;
}

/** A state as read: pass `version` back to save the next one (ETag concurrency). */
export interface VersionedFolderSyncState extends FolderSyncState {
  /** Undefined when nothing is stored yet. */
  readonly version: SyncStateVersion | undefined;
}

export interface SyncStateVersion {
  readonly etag: string;
  readonly overflowRows: number;
}

/** Someone else saved the folder's state since we read it: our view is stale, stop. */
export class SyncStateConflictError extends Error {
  readonly code = 'SyncStateConflict';
  constructor(readonly key: FolderSyncKey) {
    super(`The sync state of ${key.mailbox}/${key.folder} was changed by another worker`);
    this.name = 'SyncStateConflictError';
  }
}

/** The state is larger than this store can keep in one transaction. */
export class SyncStateTooLargeError extends Error {
  readonly code = 'SyncStateTooLarge';
  constructor(readonly sizeInChars: number) {
    super(`The sync state is ${sizeInChars} characters; at most ${SYNC_STATE_MAX_CHARS} can be stored`);
    this.name = 'SyncStateTooLargeError';
  }
}

/** Per-mailbox progress of long work, for status displays. */
export interface MailboxSyncProgress {
  readonly tenantId: string;
  readonly groupId: string;
  readonly mailbox: string;
  /** Changes delivered by the current pass (reset when a pass reaches the end of every folder). */
  readonly itemsSyncedInPass: number;
  /** True when the last run stopped early (time budget, throttling, no slot) and a follow-up job is queued. */
  readonly continuationPending: boolean;
  /** Why a continuation is pending, e.g. 'timeBudget', 'throttled', 'noConcurrencySlot'. */
  readonly continuationReason?: string;
  readonly lastRunAt: string;
}

/** What readMailbox returns: each asked folder's state (empty when none is stored) and the progress row. */
export interface MailboxSyncSnapshot {
  readonly states: ReadonlyMap<string, VersionedFolderSyncState>;
  readonly progress: Stored<MailboxSyncProgress> | undefined;
}

function partitionOf(tenantId: string, groupId: string, mailbox: string): string {
  return joinKeyParts(encodeKeyPart(tenantId), encodeKeyPart(groupId), encodeKeyPart(mailbox.toLowerCase()));
}

function headKey(key: FolderSyncKey): EntityKey {
  return { partitionKey: partitionOf(key.tenantId, key.groupId, key.mailbox), rowKey: joinKeyParts('f', encodeKeyPart(key.folder)) };
}

function overflowKey(key: FolderSyncKey, index: number): EntityKey {
  const head = headKey(key);
  return { partitionKey: head.partitionKey, rowKey: joinKeyParts(head.rowKey, `x${index}`) };
}

function progressKey(tenantId: string, groupId: string, mailbox: string): EntityKey {
  return { partitionKey: partitionOf(tenantId, groupId, mailbox), rowKey: 'progress' };
}

function chunksOf(text: string): string[] {
  const chunks: string[] = [];
  for (let offset = 0; offset < text.length; offset += SYNC_STATE_CHUNK_CHARS) chunks.push(text.slice(offset, offset + SYNC_STATE_CHUNK_CHARS));
  return chunks;
}

function chunkColumns(chunks: readonly string[]): Record<string, string> {
  return Object.fromEntries(chunks.map((chunk, index) => [`s${index}`, chunk]));
}

function readChunks(entity: StoredEntity, count: number): string {
  let text = '';
  for (let index = 0; index < count; index++) text += stringColumn(entity, `s${index}`) ?? '';
  return text;
}

const progressCodec: EntityCodec<MailboxSyncProgress> = {
  kind: 'SyncProgress',
  keyOf: (p) => progressKey(p.tenantId, p.groupId, p.mailbox),
  toColumns: (p) => ({
    tenantId: p.tenantId,
    groupId: p.groupId,
    mailbox: p.mailbox,
    itemsSyncedInPass: p.itemsSyncedInPass,
    continuationPending: p.continuationPending,
    continuationReason: p.continuationReason,
    lastRunAt: p.lastRunAt,
  }),
  fromEntity: (entity) => ({
    tenantId: stringColumn(entity, 'tenantId') ?? '',
    groupId: stringColumn(entity, 'groupId') ?? '',
    mailbox: stringColumn(entity, 'mailbox') ?? '',
    itemsSyncedInPass: numberColumn(entity, 'itemsSyncedInPass') ?? 0,
    continuationPending: booleanColumn(entity, 'continuationPending') ?? false,
    continuationReason: stringColumn(entity, 'continuationReason'),
    lastRunAt: stringColumn(entity, 'lastRunAt') ?? '',
  }),
};

/** Raw rows of the table: the state rows are assembled by hand (chunking), so the codec only carries keys. */
const rawCodec: EntityCodec<StoredEntity> = {
  kind: 'SyncState',
  keyOf: (entity) => ({ partitionKey: entity.partitionKey ?? '', rowKey: entity.rowKey ?? '' }),
  toColumns: () => ({}),
  fromEntity: (entity) => entity,
};

export class SyncStateRepository {
  readonly #rows: EntityTable<StoredEntity>;
  readonly #progress: EntityTable<MailboxSyncProgress>;
  readonly #now: () => Date;

  constructor(storage: TableStorage, options: { readonly now?: () => Date } = {}) {
    this.#rows = new EntityTable(storage, SYNC_STATE_TABLE, rawCodec);
    this.#progress = new EntityTable(storage, SYNC_STATE_TABLE, progressCodec);
    this.#now = options.now ?? (() => new Date());
  }

  async read(key: FolderSyncKey): Promise<VersionedFolderSyncState> {
    const head = await this.#rows.find(headKey(key));
    return this.#assemble(head, (index) => this.#rows.find(overflowKey(key, index)));
  }

  /**
   * Every folder's state and the progress of one mailbox in one partition query: what a job needs
   * before it starts, in one Table operation however many folders are synced.
   */
  async readMailbox(tenantId: string, groupId: string, mailbox: string, folders: readonly string[]): Promise<MailboxSyncSnapshot> {
    const partition = partitionOf(tenantId, groupId, mailbox);
    const rows = new Map<string, StoredEntity & { etag: string }>();
    for await (const row of this.#rows.iterate(EntityTable.prefixFilter(partition, ''))) rows.set(row.rowKey ?? '', row);
    const states = new Map<string, VersionedFolderSyncState>();
    for (const folder of folders) {
      const key: FolderSyncKey = { tenantId, groupId, mailbox, folder };
      const head = rows.get(headKey(key).rowKey);
      states.set(folder, await this.#assemble(head, async (index) => rows.get(overflowKey(key, index).rowKey)));
    }
    const progressRow = rows.get('progress');
    return { states, progress: progressRow ? { ...progressCodec.fromEntity(progressRow), etag: progressRow.etag } : undefined };
  }

  async #assemble(head: (StoredEntity & { etag: string }) | undefined, overflowRow: (index: number) => Promise<StoredEntity | undefined>): Promise<VersionedFolderSyncState> {
    if (!head) return { syncState: undefined, phase: 'initial', fullResync: false, updatedAt: undefined, version: undefined };
    const headChunks = numberColumn(head, 'headChunks') ?? 0;
    const overflowRows = numberColumn(head, 'overflowRows') ?? 0;
    let text = readChunks(head, headChunks);
    for (let index = 1; index <= overflowRows; index++) {
      const row = await overflowRow(index);
      // The transaction writes head and overflow together; a missing row means a damaged state.
      if (!row) return { syncState: undefined, phase: 'initial', fullResync: true, updatedAt: undefined, version: { etag: head.etag, overflowRows } };
      text += readChunks(row, numberColumn(row, 'chunks') ?? 0);
    }
    const hasState = booleanColumn(head, 'hasState') ?? text.length > 0;
    return {
      syncState: hasState ? text : undefined,
      phase: (stringColumn(head, 'phase') as SyncPhase | undefined) ?? 'initial',
      fullResync: booleanColumn(head, 'fullResync') ?? false,
      updatedAt: stringColumn(head, 'updatedAt'),
      ...(stringColumn(head, 'readStartedAt') ? { readStartedAt: stringColumn(head, 'readStartedAt') } : {}),
      ...(stringColumn(head, 'migratedSince') ? { migratedSince: stringColumn(head, 'migratedSince') } : {}),
      version: { etag: head.etag, overflowRows },
    };
  }

  /**
   * Saves the next state if nobody saved one since `previous` was read.
   * SyncStateConflictError otherwise; SyncStateTooLargeError beyond SYNC_STATE_MAX_CHARS.
   */
  async save(key: FolderSyncKey, next: FolderSyncState, previous: SyncStateVersion | undefined): Promise<SyncStateVersion> {
    const text = next.syncState ?? '';
    if (text.length > SYNC_STATE_MAX_CHARS) throw new SyncStateTooLargeError(text.length);
    const chunks = chunksOf(text);
    const headChunks = chunks.slice(0, SYNC_STATE_CHUNKS_PER_ENTITY);
    const overflow: string[][] = [];
    for (let offset = SYNC_STATE_CHUNKS_PER_ENTITY; offset < chunks.length; offset += SYNC_STATE_CHUNKS_PER_ENTITY) overflow.push(chunks.slice(offset, offset + SYNC_STATE_CHUNKS_PER_ENTITY));
    const head = {
      ...headKey(key),
      tenantId: key.tenantId,
      groupId: key.groupId,
      mailbox: key.mailbox,
      folder: key.folder,
      hasState: next.syncState !== undefined,
      headChunks: headChunks.length,
      overflowRows: overflow.length,
      phase: next.phase,
      fullResync: next.fullResync,
      updatedAt: (next.updatedAt ? new Date(next.updatedAt) : this.#now()).toISOString(),
      ...(next.readStartedAt ? { readStartedAt: next.readStartedAt } : {}),
      ...(next.migratedSince ? { migratedSince: next.migratedSince } : {}),
      ...chunkColumns(headChunks),
    };
    const actions: TransactionAction[] = [previous ? ['update', head, 'Replace', { etag: previous.etag }] : ['create', head]];
    overflow.forEach((rowChunks, index) => actions.push(['upsert', { ...overflowKey(key, index + 1), chunks: rowChunks.length, ...chunkColumns(rowChunks) }, 'Replace']));
    for (let index = overflow.length + 1; index <= (previous?.overflowRows ?? 0); index++) actions.push(['delete', { ...overflowKey(key, index) }]);
    try {
      const [etag] = await this.#rows.transaction(actions, `${key.mailbox}/${key.folder}`);
      return { etag: etag ?? '', overflowRows: overflow.length };
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'PreconditionFailed' || code === 'Conflict' || code === 'NotFound') throw new SyncStateConflictError(key);
      throw error;
    }
  }

  /** Forgets every folder's state and the progress of a mailbox (mailbox removed, or an admin asked for a full re-sync). */
  async deleteMailbox(tenantId: string, groupId: string, mailbox: string): Promise<void> {
    const partition = partitionOf(tenantId, groupId, mailbox);
    const batch: TransactionAction[] = [];
    for await (const row of this.#rows.iterate(EntityTable.prefixFilter(partition, ''))) batch.push(['delete', { partitionKey: row.partitionKey ?? '', rowKey: row.rowKey ?? '' }]);
    for (let offset = 0; offset < batch.length; offset += 100) await this.#rows.transaction(batch.slice(offset, offset + 100), `${tenantId}/${groupId}/${mailbox}`);
  }

  readProgress(tenantId: string, groupId: string, mailbox: string): Promise<Stored<MailboxSyncProgress> | undefined> {
    return this.#progress.find(progressKey(tenantId, groupId, mailbox));
  }

  /** One writer at a time (the mailbox lease holder), so no ETag check. */
  async saveProgress(progress: MailboxSyncProgress): Promise<void> {
    await this.#progress.upsert(progress);
  }
}
